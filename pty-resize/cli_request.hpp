#pragma once
// Command-line parsing for pty-resize.
//
//   pty-resize [OPTIONS] MACHINE -- SMOLVM-ARGV...
//
// Options (anywhere before `--`): `--smolvm PATH` / `--smolvm=PATH`, `-h`/`--help`,
// `--version`. Exactly one MACHINE; `--` is required; SMOLVM-ARGV must not be empty.
// Everything after the first `--` belongs to the child verbatim.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pty_resize {

enum class CliAction {
  run,           ///< Run SMOLVM-ARGV with resize forwarding.
  show_help,     ///< Print usage to stdout, exit 0.
  show_version,  ///< Print the version to stdout, exit 0.
};

/// A well-formed command line. For show_help/show_version the other fields are empty.
struct CliRequest {
  CliAction action = CliAction::run;
  std::string machine;                  ///< Machine name given to the side-channel.
  std::optional<std::string> smolvm;    ///< --smolvm override for the side-channel program.
  std::vector<std::string> child_argv;  ///< SMOLVM-ARGV, run on the user's terminal.

  bool operator==(const CliRequest&) const = default;
};

/// A malformed command line; `message` is one line without the `pty-resize: error: ` prefix.
struct UsageError {
  std::string message;

  bool operator==(const UsageError&) const = default;
};

using CliParseResult = std::variant<CliRequest, UsageError>;

/// Parses the arguments after argv[0]. Pure: no I/O, never exits. `--help` and
/// `--version` before `--` win over any other problem on the line.
[[nodiscard]] CliParseResult parse_cli(std::span<const std::string_view> args);

/// The program the side-channel runs: the --smolvm override, else child_argv[0], so the
/// side-channel talks to the same smolvm (same version, same PATH lookup) as the session.
[[nodiscard]] const std::string& side_channel_program(const CliRequest& request);

/// The usage text printed by --help and after usage errors (ends with a newline).
[[nodiscard]] std::string_view usage_text();

}  // namespace pty_resize
