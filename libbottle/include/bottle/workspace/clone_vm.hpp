#pragma once
// Clone mode on smolmachines, the pure part. The clone lives on the VM's own disk at
// clone_guest_path: no host directory is mounted there, so nothing the agent writes
// in it is ever on the host. It is filled and read through `smolvm machine exec`
// with the same guest scripts as on Docker (workspace/clone_repo.hpp); only the
// preparation of the directory and the way a bundle comes out differ.

#include <string>
#include <string_view>

#include "bottle/spec/spec.hpp"

namespace bottle {

/// Whether a workspace mounted at `guest` holds clone_guest_path (it is that path or
/// one of its ancestors, "/" included): on a VM the clone would then be made in the
/// host directory behind that mount.
bool clone_on_host_mount(std::string_view guest);

/// Guest (root), smolmachines: make the clone directory on the VM's disk and make it
/// the agent user's. $1: user.
std::string guest_disk_clone_prepare_script();
/// Podman and kubernetes: the pod's clone volume is the agent's already (podman gives
/// an empty volume to the container's user; a cluster's PVC is made the pod's
/// fsGroup's) and nothing in the pod runs as root, so this only checks that the agent
/// can write it.
std::string guest_pod_clone_prepare_script();
/// The preparation script of `backend`: Docker's volume exists (chown only), the
/// VM's directory is made first, a pod's volume is checked.
std::string clone_prepare_script(BackendKind backend);

/// Whether the bundle a bottle writes to stdout must come out of a streamed exec.
/// smolvm's buffered exec returns output that "may be truncated" (and, before it
/// carried bytes, was cut at the first byte that is not UTF-8); an exec with -i
/// streams every byte. Docker's exec is a stream either way.
bool clone_bundle_streams(BackendKind backend);

}  // namespace bottle
