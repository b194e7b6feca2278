// The fake's model of "inside the guest": commands run on the host, in the machine's guest
// mount namespace (fake_smolvm_guest_ns.hpp), with the guest's env overlay and a workdir
// that falls back to a per-machine directory in the state dir.
#pragma once

#include "fake_smolvm.hpp"
#include "fake_smolvm_state.hpp"

#include <string>
#include <vector>

namespace fake_smolvm {

// The fake's own environment, overlaid with the record's `create -e` entries, then the
// CLI `-e` entries (already resolved with resolve_env_spec). Later keys win.
std::vector<std::string> guest_environment(const MachineRecord& record, const std::vector<std::string>& cli_env);

// `-w`, else the record workdir, else empty (keep the caller's cwd). This is a guest path:
// the child maps it with guest_dir_on_host once inside the guest namespace, where the
// volumes are mounted.
std::string guest_workdir(const MachineRecord& record, const std::optional<std::string>& cli_workdir);

// Sets or replaces KEY in a KEY=VALUE list.
void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value);
bool has_env(const std::vector<std::string>& env, const std::string& key);

}  // namespace fake_smolvm
