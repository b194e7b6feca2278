#include "bottle/frontend/sessions_cli.hpp"

#include <fmt/format.h>

#include "bottle/core/error.hpp"
#include "bottle/ops/sessions.hpp"

namespace bottle {

std::vector<std::string> take_resume_from(const std::vector<std::string>& args, std::string& from) {
  constexpr std::string_view flag = "--resume-from";
  std::vector<std::string> rest;
  bool seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == flag) {
      if (i + 1 >= args.size()) throw Error(ErrorKind::usage, "create: --resume-from needs a bottle name");
      value = args[++i];
    } else if (args[i].rfind(std::string(flag) + "=", 0) == 0) {
      value = args[i].substr(flag.size() + 1);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    if (seen) throw Error(ErrorKind::usage, "create: --resume-from given twice");
    seen = true;
    validate_bottle_name(value, "--resume-from");
    from = value;
  }
  return rest;
}

void create_resuming(Bottles& bottles, const BottleSpec& spec, bool start, const StartOptions& options,
                     const std::string& from, std::ostream& out) {
  const StateDirs& dirs = bottles.store().dirs();
  const bool seeded = !from.empty() && from != spec.name;
  if (seeded) copy_session_store(dirs, from, spec.name, spec.agent);
  try {
    bottles.create(spec, start, options);
  } catch (...) {
    if (seeded) purge_session_store(dirs, spec.name);
    throw;
  }
  if (!session_store_exists(dirs, spec.name)) return;
  out << (start ? fmt::format("the agent sessions saved for {} are back in the bottle (`bottle-cli attach --resume "
                              "{}` continues the last one)\n",
                              seeded ? from : spec.name, spec.name)
                : fmt::format("the agent sessions saved for {} go into the bottle at its first start\n",
                              seeded ? from : spec.name));
}

void report_kept_sessions(const StateDirs& dirs, const std::string& name, bool purge, std::ostream& out) {
  if (purge) {
    if (purge_session_store(dirs, name)) out << fmt::format("deleted the saved agent sessions of {}\n", name);
    return;
  }
  if (!session_store_exists(dirs, name)) return;
  out << fmt::format(
      "kept the agent sessions of {} in {} (a new bottle named {} resumes them; `bottle-cli sessions --purge {}` "
      "deletes them)\n",
      name, session_store_dir(dirs, name).string(), name, name);
}

}  // namespace bottle
