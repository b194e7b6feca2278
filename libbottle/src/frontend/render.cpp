#include "bottle/frontend/render.hpp"

#include "bottle/ops/resume.hpp"

namespace bottle {

std::string render_env(const std::map<std::string, std::string>& env) {
  std::string text;
  // std::map iterates in key order, which is the documented sort.
  for (const auto& [key, value] : env) {
    text += key;
    text += '=';
    text += shell_quote(value);
    text += '\n';
  }
  return text;
}

}  // namespace bottle
