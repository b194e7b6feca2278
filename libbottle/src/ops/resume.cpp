#include "bottle/ops/resume.hpp"

namespace bottle {

std::string shell_quote(std::string_view word) {
  const bool safe = !word.empty() && word.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") ==
                                         std::string_view::npos;
  if (safe) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  quoted += "'";
  return quoted;
}

std::string shell_join(const Argv& words) {
  std::string joined;
  for (const auto& w : words) {
    if (!joined.empty()) joined += ' ';
    joined += shell_quote(w);
  }
  return joined;
}

Argv resume_argv(const AgentArgv& plain, const Argv& continue_tail) {
  Argv argv = plain.prefix;
  argv.insert(argv.end(), {"sh", "-c", shell_join(continue_tail) + " || " + shell_join(plain.tail)});
  return argv;
}

}  // namespace bottle
