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

std::string clone_prepare_script(BackendKind backend) {
  return backend == BackendKind::smolmachines ? guest_disk_clone_prepare_script() : guest_clone_prepare_script();
}

bool clone_bundle_streams(BackendKind backend) { return backend == BackendKind::smolmachines; }

}  // namespace bottle
