#pragma once
// The reverse swap by its definition, position by position: at each byte the longest
// needle that starts there is replaced and scanning resumes after it. The reference
// the fast scan (ReflectScrubber) is held to, by the unit test and the fuzz target.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/reflect_scrub.hpp"

inline std::string replaced_by_definition(const std::vector<bottle::ReflectNeedle>& needles, std::string_view data) {
  std::vector<bottle::ReflectNeedle> longest_first = needles;
  std::stable_sort(longest_first.begin(), longest_first.end(),
                   [](const auto& a, const auto& b) { return a.find.size() > b.find.size(); });
  std::string out;
  for (std::size_t i = 0; i < data.size();) {
    const auto hit = std::find_if(longest_first.begin(), longest_first.end(),
                                  [&](const auto& needle) { return data.substr(i).starts_with(needle.find); });
    if (hit == longest_first.end()) {
      out += data[i++];
    } else {
      out += hit->replace;
      i += hit->find.size();
    }
  }
  return out;
}
