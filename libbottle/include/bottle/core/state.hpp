#pragma once
// Where bottle keeps its files, and how it writes them.
//
// Config (specs) lives in $XDG_CONFIG_HOME/bottle, generated state (egress routes,
// pipelock config, CA, dummy credentials) in $XDG_STATE_HOME/bottle. BOTTLE_HOME,
// when set, replaces both with $BOTTLE_HOME/config and $BOTTLE_HOME/state (tests).
// Every directory bottle creates is 0700; every file is written atomically
// (temp file + fsync + rename) with an explicit mode.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/core/host.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

struct StateDirs {
  std::filesystem::path config;
  std::filesystem::path state;

  /// From BOTTLE_HOME, else XDG_CONFIG_HOME / XDG_STATE_HOME, else ~/.config and
  /// ~/.local/state. Throws Error(invalid_input) when a variable is set but not an
  /// absolute path, or when no home can be found.
  static StateDirs from_environment(const Host& host);
  /// Generated files of one bottle: <state>/bottles/NAME (name must be valid).
  std::filesystem::path bottle_state_dir(std::string_view name) const;
  std::filesystem::path spec_path(std::string_view name) const;
};

/// Temporary files of write_file_atomic at least this old belong to a writer that
/// was killed; the next write of the same file removes them.
inline constexpr std::chrono::minutes stale_temp_age{10};

/// Write `content` to `path` atomically with `mode`: temp file
/// (".NAME.tmp-XXXXXX") in the same directory, fsync, rename, fsync of the
/// directory. Creates missing parent directories with 0700. On failure the old
/// file is untouched and no temp file is left behind; a temp file left by a killed
/// writer is never read, and is removed by a later write once stale_temp_age old.
/// Throws Error(io).
void write_file_atomic(const std::filesystem::path& path, std::string_view content, unsigned mode = 0600);
/// Create `dir` and missing parents with mode 0700. Throws Error(io).
void make_private_dirs(const std::filesystem::path& dir);
/// The most read_file() reads unless told otherwise: far above any file bottle
/// reads, far below what would hurt (a device such as /dev/zero never ends).
inline constexpr std::size_t default_max_read_bytes = std::size_t{16} << 20;

/// Read a whole file of at most `max_bytes`. Throws Error(not_found) if missing,
/// Error(invalid_input) if it holds more, Error(io) otherwise (including for a
/// directory).
std::string read_file(const std::filesystem::path& path, std::size_t max_bytes = default_max_read_bytes);

/// Stored specs: one <config>/bottles/NAME.json each.
class SpecStore {
 public:
  explicit SpecStore(StateDirs dirs) : dirs_(std::move(dirs)) {}
  /// Whether a spec is stored under `name`. Something at the spec's path that is
  /// not a loadable spec throws like load() does (never "free", never "taken").
  bool exists(std::string_view name) const;
  /// Throws Error(not_found) naming the bottle, or Error(invalid_input) when the
  /// stored file is corrupt (never silently replaced).
  BottleSpec load(std::string_view name) const;
  void save(const BottleSpec& spec) const;
  void remove(std::string_view name) const;
  /// Every stored spec, sorted by name. A corrupt file is an error, not skipped.
  std::vector<BottleSpec> load_all() const;
  const StateDirs& dirs() const { return dirs_; }

 private:
  StateDirs dirs_;
};

}  // namespace bottle
