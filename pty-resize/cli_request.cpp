#include "cli_request.hpp"

namespace pty_resize {

namespace {

constexpr std::string_view k_smolvm_flag = "--smolvm";

UsageError usage_error(std::string message) { return UsageError{std::move(message)}; }

CliRequest request_for(CliAction action) {
  CliRequest request;
  request.action = action;
  return request;
}

}  // namespace

CliParseResult parse_cli(std::span<const std::string_view> args) {
  CliRequest request;
  std::optional<std::string> machine;
  std::optional<std::size_t> separator;
  std::optional<UsageError> first_error;
  auto note_error = [&first_error](UsageError error) {
    // Keep scanning after an error so a later --help still wins (as ninja and git do).
    if (!first_error) { first_error = std::move(error); }
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--") {
      separator = i;
      break;
    }
    if (arg == "-h" || arg == "--help") { return request_for(CliAction::show_help); }
    if (arg == "--version") { return request_for(CliAction::show_version); }
    if (arg == k_smolvm_flag || arg.starts_with("--smolvm=")) {
      std::string_view value;
      if (arg == k_smolvm_flag) {
        if (i + 1 >= args.size() || args[i + 1] == "--") {
          note_error(usage_error("--smolvm needs a PATH"));
          continue;
        }
        value = args[++i];
      } else {
        value = arg.substr(k_smolvm_flag.size() + 1);
      }
      if (value.empty()) {
        note_error(usage_error("--smolvm needs a non-empty PATH"));
      } else {
        request.smolvm = std::string(value);
      }
      continue;
    }
    if (arg.size() > 1 && arg.front() == '-') {
      note_error(usage_error("unknown option '" + std::string(arg) + "'"));
      continue;
    }
    if (machine) {
      note_error(usage_error("unexpected argument '" + std::string(arg) +
                             "' (only one MACHINE; is the `--` before SMOLVM-ARGV missing?)"));
      continue;
    }
    if (arg.empty()) {
      note_error(usage_error("MACHINE must not be empty"));
      continue;
    }
    machine = std::string(arg);
  }

  if (first_error) { return *first_error; }
  if (!machine) { return usage_error("missing MACHINE"); }
  if (!separator) { return usage_error("missing `--` before SMOLVM-ARGV"); }
  if (*separator + 1 >= args.size()) { return usage_error("no SMOLVM-ARGV after `--`"); }
  if (args[*separator + 1].empty()) { return usage_error("SMOLVM-ARGV[0] must not be empty"); }

  request.machine = std::move(*machine);
  for (std::size_t i = *separator + 1; i < args.size(); ++i) { request.child_argv.emplace_back(args[i]); }
  return request;
}

const std::string& side_channel_program(const CliRequest& request) {
  return request.smolvm ? *request.smolvm : request.child_argv.front();
}

std::string_view usage_text() {
  return "Usage: pty-resize [OPTIONS] MACHINE -- SMOLVM-ARGV...\n"
         "\n"
         "Runs SMOLVM-ARGV (normally `smolvm machine exec -t --name MACHINE -- CMD...`) on\n"
         "this terminal and keeps the guest's PTY size in step with it. At start-up and after\n"
         "every resize it runs, with the host terminal's size as X and Y:\n"
         "  SMOLVM machine exec --name MACHINE -- \\\n"
         "    sh -c 'for f in /dev/pts/*; do stty -F $f cols X rows Y; done'\n"
         "\n"
         "Options:\n"
         "  --smolvm PATH  program for the resize side-channel (default: SMOLVM-ARGV[0])\n"
         "  -h, --help     show this help and exit\n"
         "  --version      show the version and exit\n"
         "\n"
         "Exit status: SMOLVM-ARGV's; 128+N if it was killed by signal N; 127 or 126 if it\n"
         "could not be started; 2 for usage errors.\n";
}

}  // namespace pty_resize
