#pragma once
// Finding bottle's installed helpers by absolute path, so that nothing depends on
// the caller's cwd (a tmux pane opened in $HOME must work as well as the repo).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/core/host.hpp"

namespace bottle {

/// The running executable (/proc/self/exe). Throws Error(internal) if unreadable.
std::filesystem::path current_executable();

/// The pty-resize wrapper: $BOTTLE_PTY_RESIZE if set (must be absolute), else
/// <exe dir>/../libexec/bottle/pty-resize (relocatable install), else the
/// compiled-in install prefix. Throws Error(not_found) naming every place looked at
/// when none is an executable file.
std::filesystem::path locate_pty_resize(const Host& host);

/// bottle-egress: $BOTTLE_EGRESS if set (must be absolute), else bottle-egress beside
/// the running executable (an install's bin/, or a build tree), else the compiled-in
/// install prefix's bin/. Throws Error(not_found) naming every place looked at.
std::filesystem::path locate_bottle_egress(const Host& host);

/// bottle's data directory (egress addon, image files): $BOTTLE_DATA_DIR, else the
/// first of data_dir_candidates() that is a directory.
std::filesystem::path locate_data_dir(const Host& host);
/// Where an executable in `exe_dir` looks for its data directory, in order:
/// <exe dir>/../share/bottle (an install), the source tree it was built from (a build
/// tree, so an older installed copy never shadows its own addons), the install prefix's.
std::vector<std::filesystem::path> data_dir_candidates(const std::filesystem::path& exe_dir);

/// `name` looked up on the host's $PATH (absolute entries only), as an absolute
/// path; empty when it is not there.
std::filesystem::path find_on_path(const Host& host, std::string_view name);

std::string bottle_version();

}  // namespace bottle
