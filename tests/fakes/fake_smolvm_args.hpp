// A strict, clap-like argument parser: tests rely on the fake rejecting exactly what the
// real clap 4 CLI rejects (unknown flags, missing values, repeats), with exit status 2.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fake_smolvm {

struct OptionSpec {
  char short_name = '\0';  // '\0' when the option has no short form
  std::string long_name;
  std::string value_name;  // empty for a flag without value
  bool repeatable = false;
};

struct CommandSpec {
  std::string usage;  // the text after "Usage: "
  std::vector<OptionSpec> options;
  std::vector<std::string> positionals;  // value names, in order, e.g. "NAME"
  std::size_t required_positionals = 0;
  // exec: the first positional word starts the guest command (trailing_var_arg).
  bool first_positional_starts_trailing = false;
  // `--` starts the trailing command (exec, create >= 1.0.2); otherwise the words after
  // `--` are plain positionals, as clap treats them.
  bool dashdash_starts_trailing = false;
  std::string trailing_name;  // e.g. "COMMAND"; empty when no trailing command exists
  bool trailing_required = false;
};

// A usage error; `what()` is the first line without the "error: " prefix.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown for -h/--help so the caller can print help and exit 0.
struct HelpRequested {};

class ParsedArgs {
 public:
  [[nodiscard]] bool has(const std::string& long_name) const;
  [[nodiscard]] std::optional<std::string> value(const std::string& long_name) const;
  [[nodiscard]] std::vector<std::string> values(const std::string& long_name) const;

  std::map<std::string, std::vector<std::string>> options;
  std::vector<std::string> positionals;
  std::vector<std::string> trailing;
};

ParsedArgs parse_command(const CommandSpec& spec, const std::vector<std::string>& args);

// Parses, or prints help (exit 0) / a usage error (exit 2) and stores that status.
std::optional<ParsedArgs> parse_or_report(const CommandSpec& spec, const std::vector<std::string>& args,
                                          int& exit_status);

// Prints clap's three-part usage error to stderr and returns 2.
int report_usage_error(const CommandSpec& spec, const std::string& message);

// Clap's display form of an option, e.g. "--name <NAME>" or "--net".
std::string display_option(const OptionSpec& option);

}  // namespace fake_smolvm
