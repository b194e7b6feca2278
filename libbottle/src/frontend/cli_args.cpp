#include "frontend/cli_args.hpp"

#include <fmt/format.h>

#include "bottle/core/error.hpp"
#include "bottle/spec/spec.hpp"
#include "core/json_reader.hpp"

namespace bottle::detail {

std::string single_bottle_name(const std::vector<std::string>& args, std::string_view command,
                               std::initializer_list<std::pair<std::string_view, bool*>> flags) {
  const auto usage = [](const std::string& message) { throw Error(ErrorKind::usage, message); };
  std::string name;
  for (const auto& arg : args) {
    bool matched = false;
    for (const auto& [flag, target] : flags) {
      if (arg == flag) {
        *target = true;
        matched = true;
      }
    }
    if (matched) continue;
    if (!arg.empty() && arg.front() == '-') usage(fmt::format("{}: unknown option '{}'", command, printable(arg)));
    if (!name.empty()) usage(fmt::format("{}: takes one bottle name, got '{}' too", command, printable(arg)));
    name = arg;
  }
  if (name.empty()) usage(fmt::format("{}: missing bottle NAME", command));
  validate_bottle_name(name, "NAME");
  return name;
}

}  // namespace bottle::detail
