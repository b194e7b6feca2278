#pragma once
// How bottle lists bottles (`bottle-cli ls`, `bottle-dashboard --once`), for people
// and for scripts.

#include <cstdint>
#include <string>
#include <vector>

#include "bottle/bottles.hpp"

namespace bottle {

/// A JSON array of objects: name, backend, agent, state, workspace, created (unix
/// seconds), egress, managed. Ends with a newline.
std::string rows_to_json(const std::vector<BottleRow>& rows);
/// An aligned table with a header, ages relative to `now`; "no bottles" when empty.
std::string rows_to_table(const std::vector<BottleRow>& rows, std::int64_t now);
/// "45s", "12m", "3h", "5d"; "-" for an unknown time.
std::string format_age(std::int64_t created_unix, std::int64_t now);

}  // namespace bottle
