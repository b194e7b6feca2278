#include "bottle/spec/agent.hpp"

namespace bottle {

const AgentTraits& agent_traits(AgentKind kind) {
  static const AgentTraits claude{
      .binary = "claude",
      .continue_args = {"--continue"},
      .prompt_flag = {"--append-system-prompt-file"},
      .prompt_flag_joins = false,
  };
  // Codex has no "append" form: model_instructions_file replaces its base
  // instructions (documented in the README).
  static const AgentTraits codex{
      .binary = "codex",
      .continue_args = {"resume", "--last"},
      .prompt_flag = {"-c", "model_instructions_file="},
      .prompt_flag_joins = true,
  };
  return kind == AgentKind::claude ? claude : codex;
}

namespace {

std::vector<std::string> command_with(const BottleSpec& spec, const std::vector<std::string>& middle,
                                      const std::vector<std::string>& user_args) {
  const AgentTraits& traits = agent_traits(spec.agent);
  std::vector<std::string> argv{traits.binary};
  if (!spec.prompt_file.empty()) {
    argv.insert(argv.end(), traits.prompt_flag.begin(), traits.prompt_flag.end());
    if (traits.prompt_flag_joins) argv.back() += std::string(guest_prompt_path);
    else argv.emplace_back(guest_prompt_path);
  }
  argv.insert(argv.end(), middle.begin(), middle.end());
  argv.insert(argv.end(), user_args.begin(), user_args.end());
  return argv;
}

}  // namespace

std::vector<std::string> agent_command(const BottleSpec& spec, const std::vector<std::string>& user_args) {
  return command_with(spec, {}, user_args);
}

std::vector<std::string> agent_continue_command(const BottleSpec& spec, const std::vector<std::string>& user_args) {
  return command_with(spec, agent_traits(spec.agent).continue_args, user_args);
}

}  // namespace bottle
