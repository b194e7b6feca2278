#include <fmt/format.h>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/workspace/object_cache.hpp"

namespace bottle {

Argv DockerCommands::object_cache_inspect_argv(const std::string& volume) const {
  return {options_.docker, "volume", "inspect", "--format", "{{.Name}}", volume};
}

Argv DockerCommands::object_cache_create_argv(const std::string& volume, const std::string& repo_path) const {
  return {options_.docker,
          "volume",
          "create",
          "--label",
          fmt::format("{}=1", docker_managed_label),
          "--label",
          fmt::format("{}={}", docker_role_label, object_cache_role),
          "--label",
          fmt::format("io.bottle.repo={}", repo_path),
          volume};
}

Argv DockerCommands::object_cache_fill_argv(const BottleSpec& spec, const std::string& volume) const {
  // No managed label: `docker ps` of bottle's containers lists bottles, and this is
  // none. Root only for owning the volume's files; it needs no capability for that.
  return {options_.docker,
          "run",
          "--rm",
          "-i",
          "--network",
          "none",
          "--cap-drop",
          "ALL",
          "--security-opt",
          "no-new-privileges",
          "--pids-limit",
          "256",
          "--user",
          "0:0",
          "--mount",
          fmt::format("type=volume,source={},target={}", volume, object_cache_guest_path),
          "--entrypoint",
          "/bin/sh",
          spec.image,
          "-c",
          object_cache_fill_script(),
          "sh",
          spec.repo ? spec.repo->base : std::string()};
}

}  // namespace bottle
