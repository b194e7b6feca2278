// pty-resize: runs `smolvm machine exec -t ...` on the user's terminal and forwards the
// host terminal size into the guest PTY, which smolvm 0.8.0 does not do itself.
// Thin shell: parse argv, run the session, map the result to an exit code.

#include <exception>
#include <iostream>
#include <string_view>
#include <variant>
#include <vector>

#include "cli_request.hpp"
#include "session.hpp"

#ifndef PTY_RESIZE_VERSION
#define PTY_RESIZE_VERSION "unknown"
#endif

namespace {

constexpr int k_usage_exit_code = 2;

int run(int argc, char** argv) {
  using namespace pty_resize;

  const std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  const CliParseResult parsed = parse_cli(args);
  if (const auto* error = std::get_if<UsageError>(&parsed)) {
    std::cerr << "pty-resize: error: " << error->message << "\n\n" << usage_text();
    return k_usage_exit_code;
  }

  const auto& request = std::get<CliRequest>(parsed);
  switch (request.action) {
    case CliAction::show_help: std::cout << usage_text(); return 0;
    case CliAction::show_version: std::cout << "pty-resize " << PTY_RESIZE_VERSION << '\n'; return 0;
    case CliAction::run: break;
  }

  SessionConfig config;
  config.child_argv = request.child_argv;
  config.smolvm = side_channel_program(request);
  config.machine = request.machine;
  return run_session(config);
}

}  // namespace

// Argument parsing allocates too, so everything runs inside the one handler.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "pty-resize: error: " << e.what() << '\n';
    return 1;
  }
}
