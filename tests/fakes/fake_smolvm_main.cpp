// Fake `smolvm` CLI for tests (reference/smolvm-cli.md §10). Tests put a symlink named
// `smolvm` to this binary first on PATH; nothing here depends on argv[0].
#include "fake_smolvm.hpp"
#include "fake_smolvm_log.hpp"

#include <csignal>
#include <iostream>
#include <set>

namespace fake_smolvm {

namespace {

constexpr const char* top_level_help =
    "Fake smolvm for tests (see reference/smolvm-cli.md section 10).\n\n"
    "Usage: smolvm <COMMAND>\n\n"
    "Commands:\n  machine  Manage machines (alias: vm)\n  pack     (unsupported)\n"
    "  serve    (unsupported)\n  config   (unsupported)\n\n"
    "Options:\n  -h, --help     Print help\n  -V, --version  Print version\n";

int unsupported() {
  std::cerr << "fake-smolvm: unsupported\n";
  return 1;
}

int unrecognized_subcommand(const std::string& word, const std::string& usage) {
  std::cerr << "error: unrecognized subcommand '" << word << "'\n\nUsage: " << usage
            << "\n\nFor more information, try '--help'.\n";
  return 2;
}

int dispatch_machine(const Context& context, const std::vector<std::string>& words) {
  const std::string usage = "smolvm machine <COMMAND>";
  if (words.empty()) {
    std::cerr << "Manage machines\n\nUsage: " << usage << "\n\nFor more information, try '--help'.\n";
    return 2;
  }
  const std::string& sub = words.front();
  const std::vector<std::string> rest(words.begin() + 1, words.end());
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << "Manage machines\n\nUsage: " << usage
              << "\n\nCommands: create start stop delete status ls exec cp shell\n";
    return 0;
  }
  if (sub == "create") return command_create(context, rest);
  if (sub == "start") return command_start(context, rest);
  if (sub == "stop") return command_stop(context, rest);
  if (sub == "delete" || sub == "rm") return command_delete(context, rest);
  if (sub == "status") return command_status(context, rest);
  if (sub == "ls" || sub == "list") return command_list(context, rest);
  if (sub == "exec") return command_exec(context, rest);
  if (sub == "shell" || sub == "sh") return command_shell(context, rest);
  if (sub == "cp") return command_cp(context, rest);
  // Real subcommands this fake does not model: tests should notice the call.
  static const std::set<std::string> known_elsewhere = {"run",          "update",   "images",        "prune",
                                                        "monitor",      "data-dir", "egress-events", "fork",
                                                        "fork-release", "resize",   "network-test"};
  if (known_elsewhere.contains(sub)) { return unsupported(); }
  return unrecognized_subcommand(sub, usage);
}

}  // namespace

}  // namespace fake_smolvm

int main(int argc, char** argv) {
  using namespace fake_smolvm;
  // A vanished reader must surface as a failed write, not kill the fake mid-cleanup.
  std::signal(SIGPIPE, SIG_IGN);
  const Context context = load_context(argc, argv);
  log_invocation(context.argv);

  const std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    std::cerr << top_level_help;
    return 2;
  }
  const std::string& first = words.front();
  if (first == "--version" || first == "-V") {
    std::cout << "smolvm " << context.version.text << "\n";
    return 0;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    std::cout << top_level_help;
    return 0;
  }
  if (first == "machine" || first == "vm") {
    return dispatch_machine(context, std::vector<std::string>(words.begin() + 1, words.end()));
  }
  if (first == "pack" || first == "serve" || first == "config") { return unsupported(); }
  if (first.starts_with('-')) {
    std::cerr << "error: unexpected argument '" << first
              << "' found\n\nUsage: smolvm <COMMAND>\n\nFor more information, try '--help'.\n";
    return 2;
  }
  return unrecognized_subcommand(first, "smolvm <COMMAND>");
}
