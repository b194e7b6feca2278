#include "fake_smolvm_guest.hpp"

extern char** environ;

namespace fake_smolvm {

namespace {

std::string key_of(const std::string& entry) { return entry.substr(0, entry.find('=')); }

void overlay(std::vector<std::string>& env, const std::string& entry) {
  const auto equals = entry.find('=');
  if (equals == std::string::npos || equals == 0) { return; }
  set_env(env, entry.substr(0, equals), entry.substr(equals + 1));
}

}  // namespace

void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  for (auto& entry : env) {
    if (key_of(entry) == key) {
      entry = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

bool has_env(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& entry : env) {
    if (key_of(entry) == key) { return true; }
  }
  return false;
}

std::vector<std::string> guest_environment(const MachineRecord& record, const std::vector<std::string>& cli_env) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) { env.emplace_back(*entry); }
  for (const auto& entry : record.env) { overlay(env, entry); }
  for (const auto& entry : cli_env) { overlay(env, entry); }
  return env;
}

std::string guest_workdir(const MachineRecord& record, const std::optional<std::string>& cli_workdir) {
  return cli_workdir.value_or(record.workdir.value_or(""));
}

}  // namespace fake_smolvm
