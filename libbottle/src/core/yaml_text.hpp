#pragma once
// Internal: YAML text pieces for generated configs (pipelock). Keys are literals in
// the generators; only values come from data, and they go through yaml_quoted.

#include <string>
#include <string_view>

namespace bottle::detail {

/// `text` as a YAML double-quoted scalar, pure ASCII: '"' and '\' are escaped,
/// C0/DEL/C1 controls become \0 \t \n \r ... or \xNN, and every other non-ASCII code
/// point becomes \uNNNN or \UNNNNNNNN. The result is one line that any YAML 1.1/1.2
/// parser reads back as exactly `text`. Throws Error(invalid_input) naming `field`
/// when `text` is not valid UTF-8.
std::string yaml_quoted(std::string_view text, std::string_view field);

}  // namespace bottle::detail
