#pragma once
// Text renderings of what a bottle will get, for `bottle-cli render` and logs.

#include <map>
#include <string>

namespace bottle {

/// One `KEY=VALUE` line per variable, sorted by key, each value quoted with
/// shell_quote() (resume.hpp) so the text can be pasted into or sourced by sh.
/// Every line ends in '\n'; an empty map renders as "". Keys are written as they
/// are (callers pass validated names). Never pass an environment that holds a
/// secret: guest_environment() never does.
std::string render_env(const std::map<std::string, std::string>& env);

}  // namespace bottle
