#pragma once
// Clone mode's object cache, the operations: fill the cache volume of a host
// repository at create, and clone a bottle's workspace from it at its first start
// (workspace/object_cache.hpp has the names, scripts and what the cache guards).

#include "bottle/backends/backend.hpp"
#include "bottle/core/state.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/workspace/object_cache.hpp"

namespace bottle {

/// Create, before the bottle exists: make the object cache of spec.repo's
/// repository hold the host's branches, tags and HEAD. Creates the volume when it
/// is missing; sends only what is new since the last fill (the tips it filled are
/// kept in STATE/objects/<id>.tips), or everything when that fails; does nothing
/// when the host has nothing new. Fills of one repository are serialized by an
/// flock on STATE/objects/<id>.lock. Error(backend) naming the volume when the cache
/// cannot be filled. A no-op unless uses_object_cache(spec).
void fill_object_cache(Runner& runner, Backend& backend, const BottleSpec& spec, const StateDirs& dirs);

/// First start: clone the workspace from the read-only cache mounted in the bottle
/// (guest_clone_shared_script) and check out the branch at the base.
/// Error(backend) when that fails.
void clone_from_object_cache(Runner& runner, Backend& backend, const BottleSpec& spec);

}  // namespace bottle
