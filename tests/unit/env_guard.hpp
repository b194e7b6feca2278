#pragma once
// The environment one test gives libbottle: a bottle::Host built from the
// variables set here. Nothing touches the process environment, so tests cannot
// leak variables into each other.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bottle/core/host.hpp"

class TestEnv {
 public:
  /// Set `key` to `value`, or unset it for nullopt.
  void set(const std::string& key, const std::optional<std::string>& value) {
    if (value) vars_[key] = *value;
    else vars_.erase(key);
  }

  /// A Host with these variables (and, when given, this clock and these ports).
  bottle::Host host(std::shared_ptr<bottle::Clock> clock = nullptr,
                    std::shared_ptr<bottle::PortProber> ports = nullptr) const {
    return bottle::Host(vars_, std::move(clock), std::move(ports));
  }

 private:
  bottle::Host::Environment vars_;
};
