#pragma once
// DockerBackend: bottles as Docker containers driven through the docker CLI.
//
// A bottle NAME is the container "bottle-NAME", labelled io.bottle.managed=1 and
// io.bottle.name=NAME. Its main process idles until stopped; the agent and every
// provisioning step run through `docker exec`.

#include "bottle/backend.hpp"

namespace bottle {

struct DockerOptions {
  std::string docker = "docker";  ///< the docker CLI (name on PATH or absolute path)
};

inline constexpr std::string_view docker_managed_label = "io.bottle.managed";
inline constexpr std::string_view docker_name_label = "io.bottle.name";

class DockerBackend final : public Backend {
 public:
  DockerBackend(Runner& runner, DockerOptions options = {});
  BackendKind kind() const override { return BackendKind::docker; }

  std::vector<Argv> create_argvs(const BottleSpec& spec) const override;
  Argv start_argv(const BottleSpec& spec) const override;
  Argv stop_argv(const BottleSpec& spec) const override;
  std::vector<Argv> remove_argvs(const BottleSpec& spec) const override;
  Argv list_argv() const override;
  Argv exec_argv(const BottleSpec& spec, const Argv& command,
                 const ExecOptions& options) const override;
  AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const override;
  std::vector<BottleInfo> parse_list(const std::string& output) const override;

 private:
  DockerOptions options_;
};

}  // namespace bottle
