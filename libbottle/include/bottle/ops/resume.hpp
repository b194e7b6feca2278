#pragma once
// Resume: run "continue the last session", falling back to a fresh session when
// there is none. The backend framing is kept verbatim and only the agent's own
// command is wrapped:
//   <prefix...> sh -c '<agent continue form> || <agent>'

#include <string>
#include <string_view>

#include "bottle/backends/backend.hpp"

namespace bottle {

/// Quote one word for POSIX sh: returned unchanged when it is made only of safe
/// characters, otherwise in single quotes with embedded quotes as '\''.
std::string shell_quote(std::string_view word);
/// Quote and join words with spaces.
std::string shell_join(const Argv& words);

/// `plain.prefix` + {"sh", "-c", "<continue_tail> || <plain.tail>"}.
Argv resume_argv(const AgentArgv& plain, const Argv& continue_tail);

}  // namespace bottle
