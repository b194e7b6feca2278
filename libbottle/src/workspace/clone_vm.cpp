#include "bottle/workspace/clone_vm.hpp"

#include "bottle/workspace/clone_repo.hpp"

namespace bottle {

bool clone_on_host_mount(std::string_view guest) {
  std::string prefix(guest);
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  const std::string clone = std::string(clone_guest_path) + "/";
  return clone.compare(0, prefix.size(), prefix) == 0;
}

std::string guest_disk_clone_prepare_script() {
  return "set -eu; mkdir -p /workspace; chown \"$1:$(id -g \"$1\")\" /workspace";
}

std::string guest_pod_clone_prepare_script() {
  return "set -eu; test -w /workspace || { echo \"/workspace (the clone's volume) is not writable by $(id -un)\" "
         ">&2; exit 1; }";
}

std::string clone_prepare_script(BackendKind backend) {
  if (backend == BackendKind::smolmachines) return guest_disk_clone_prepare_script();
  if (backend == BackendKind::podman || backend == BackendKind::kubernetes) return guest_pod_clone_prepare_script();
  return guest_clone_prepare_script();
}

bool clone_bundle_streams(BackendKind backend) { return backend == BackendKind::smolmachines; }

}  // namespace bottle
