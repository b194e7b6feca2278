#pragma once
// Argument reading shared by the CLI's command files (internal to libbottle).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bottle::detail {

/// Exactly one positional bottle NAME (validated), plus the flags in `flags`, each set
/// to true when seen. Anything else, a second name or no name throws Error(usage)
/// naming `command`; a quoted argument is made printable first.
std::string single_bottle_name(const std::vector<std::string>& args, std::string_view command,
                               std::initializer_list<std::pair<std::string_view, bool*>> flags = {});

}  // namespace bottle::detail
