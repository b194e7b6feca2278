#pragma once
// The dummies bottle-egress's token broker minted, per route, kept in
// <confdir>/bottle_broker_state.json so a restarted egress still swaps (and guards) the
// dummies the agent holds: the C++ counterpart of tests/oracle/egress-addon/bottle_broker.py's
// DummyStore, same file and format:
//   {"version": 1, "routes": {"ROUTE": [dummy, ...]}, "guarded": {"ROUTE": [dummy, ...]}}
// At most 64 per route and list (the oldest dropped); written atomically, 0600, at
// every add. An unreadable or malformed file is read as empty, as the addon does.
// Not thread-safe: bottle-egress uses it from its one loop thread.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

inline constexpr std::string_view broker_state_file_name = "bottle_broker_state.json";

class BrokerDummyStore {
 public:
  static constexpr std::size_t max_per_route = 64;

  /// nullopt: kept in memory only.
  explicit BrokerDummyStore(std::optional<std::filesystem::path> file);

  std::vector<std::string> get(const std::string& route, bool guarded = false) const;
  /// Remember `dummy` and rewrite the file. Throws Error(io) when it cannot be written
  /// (the dummy is kept in memory all the same).
  void add(const std::string& route, const std::string& dummy, bool guarded = false);

  /// The file's text for `routes` and `guarded` (deterministic). Pure.
  static std::string render(const std::map<std::string, std::vector<std::string>>& routes,
                            const std::map<std::string, std::vector<std::string>>& guarded);

 private:
  std::optional<std::filesystem::path> file_;
  std::map<std::string, std::vector<std::string>> routes_;
  std::map<std::string, std::vector<std::string>> guarded_;
};

}  // namespace bottle
