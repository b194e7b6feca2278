#pragma once
// Finding bottle's installed helpers by absolute path, so that nothing depends on
// the caller's cwd (a tmux pane opened in $HOME must work as well as the repo).

#include <filesystem>
#include <string>
#include <string_view>

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

/// `name` looked up on the host's $PATH (absolute entries only), as an absolute
/// path; empty when it is not there.
std::filesystem::path find_on_path(const Host& host, std::string_view name);

std::string bottle_version();

}  // namespace bottle
