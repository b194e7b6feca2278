#pragma once
// The session parts of bottle-cli's create and rm (sessions.hpp has the store).

#include <ostream>
#include <string>
#include <vector>

#include "bottle/core/state.hpp"
#include "bottle/ops/bottles.hpp"

namespace bottle {

/// `args` without "--resume-from OLD" (or "--resume-from=OLD"), which goes to
/// `from`. Error(usage) when the value is missing or the flag repeats;
/// Error(invalid_input) when OLD is not a bottle name.
std::vector<std::string> take_resume_from(const std::vector<std::string>& args, std::string& from);

/// Bottles::create, first seeding the store of spec.name from the one of `from`
/// (when not empty; copy_session_store()). A create that fails takes the seeded
/// store with it. Says on `out` when saved sessions went into the bottle.
void create_resuming(Bottles& bottles, const BottleSpec& spec, bool start, const StartOptions& options,
                     const std::string& from, std::ostream& out);

/// After rm: deletes the saved sessions of `name` with `purge`, else says they are
/// kept and how to delete them. Silent when there are none.
void report_kept_sessions(const StateDirs& dirs, const std::string& name, bool purge, std::ostream& out);

}  // namespace bottle
