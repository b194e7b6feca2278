#pragma once
// Sets environment variables for one test and restores the old values.

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

class EnvGuard {
 public:
  EnvGuard() = default;
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;
  ~EnvGuard() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else ::unsetenv(it->first.c_str());
    }
  }

  /// Set `key` to `value`, or unset it for nullopt.
  void set(const std::string& key, const std::optional<std::string>& value) {
    const char* old = std::getenv(key.c_str());
    saved_.push_back({key, old ? std::optional<std::string>(old) : std::nullopt});
    if (value) ::setenv(key.c_str(), value->c_str(), 1);
    else ::unsetenv(key.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};
