#pragma once
// The agents bottle runs: their binary, prompt-file flag and continue/resume form.

#include <string>
#include <vector>

#include "bottle/spec/spec.hpp"

namespace bottle {

/// Where a spec's prompt file is placed inside every bottle.
inline constexpr std::string_view guest_prompt_path = "/etc/bottle/prompt.md";

struct AgentTraits {
  std::string binary;                      ///< "claude" / "codex"
  std::vector<std::string> continue_args;  ///< resume the last session
  /// Flag words that load a prompt file; the path is appended to the last word
  /// when `prompt_flag_joins` is true ("-c" "model_instructions_file=PATH"),
  /// else follows as its own word ("--append-system-prompt-file" "PATH").
  std::vector<std::string> prompt_flag;
  bool prompt_flag_joins = false;
};

const AgentTraits& agent_traits(AgentKind kind);

/// The agent's own argv: binary, the prompt-file flag when the spec has a prompt
/// file, then `user_args` verbatim.
std::vector<std::string> agent_command(const BottleSpec& spec, const std::vector<std::string>& user_args);

/// The same command in its "continue the last session" form
/// (claude: `claude --continue ...`, codex: `codex resume --last ...`).
std::vector<std::string> agent_continue_command(const BottleSpec& spec, const std::vector<std::string>& user_args);

}  // namespace bottle
