#pragma once
// Clone mode's object cache, the pure part: one bottle-owned Docker volume per host
// repository holds a bare repository with that repository's objects. It is filled
// from host bundles on the host side of `create` (a short-lived container with no
// network writes it), mounted READ-ONLY into every clone-mode bottle of that
// repository, and each bottle's clone borrows its objects through
// objects/info/alternates, so a bottle stores only the objects its agent makes.
// ops/object_cache.hpp runs these.
//
// The boundary: no bottle can write the cache (its mount is read-only), so no agent
// can alter an object another bottle reads. Host git still never reads the cache or
// a clone: fetch-back stays the bundle gate of workspace/clone_repo.hpp.
// bottle never runs gc or prune in the cache, so an object a clone borrows stays.

#include <string>
#include <string_view>
#include <vector>

#include "bottle/workspace/clone_repo.hpp"

namespace bottle {

/// Where the cache volume is mounted, in the bottle (read-only) and in the fill
/// container (read-write).
inline constexpr std::string_view object_cache_guest_path = "/bottle-objects";
/// The bare repository inside the cache volume.
inline constexpr std::string_view object_cache_repo_path = "/bottle-objects/repo.git";
/// The io.bottle.role label value of cache volumes.
inline constexpr std::string_view object_cache_role = "objects";

/// Whether bottles of `spec` use the object cache: clone mode on Docker.
bool uses_object_cache(const BottleSpec& spec);
/// 16 hex digits of SHA-256 of the repository path (lexically normal, no trailing
/// '/'): the same repository, named the same way, gets the same cache.
std::string object_cache_id(std::string_view repo_path);
/// "bottle-objects-<object_cache_id>".
std::string object_cache_volume_name(std::string_view repo_path);

/// Host: the object ids of the user's branches, tags and HEAD (one per line): what
/// host_bundle_create_argv() bundles.
Argv host_tips_argv();
/// Host: like host_bundle_create_argv(), minus what is reachable from `known` (tips
/// a previous fill put in the cache). With `known` empty it is the full bundle.
Argv host_bundle_since_argv(const std::string& file, const std::vector<std::string>& known);
/// Parse host_tips_argv()'s output (or a saved tips file): the object ids, sorted,
/// without duplicates. Error(backend) on a line that is not an object id.
std::vector<std::string> parse_tips(std::string_view output);
/// Whether every id of `tips` is in `known` (both sorted): nothing new to fill.
bool tips_known(const std::vector<std::string>& tips, const std::vector<std::string>& known);

/// Fill container (root, no network): read a bundle on stdin and fetch its
/// branches, tags and HEAD (as refs/bottle/HEAD) into the cache repository. The
/// first fill builds the repository beside it and renames it into place, so the
/// cache is either absent or whole. $1: the base commit, which must be in the cache
/// afterwards.
std::string object_cache_fill_script();
/// Guest (agent user): clone the cache into the workspace with --shared (objects
/// through alternates, nothing copied), keep the host's branches as host/*, check
/// out $1 (branch) at $2 (base) as the only local branch, set a committer identity
/// for $3 (bottle name). Like guest_clone_script() but with no bundle.
std::string guest_clone_shared_script();

}  // namespace bottle
