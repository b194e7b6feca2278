#pragma once
// Agent sessions that outlive the bottle. The agent's conversation files (only the
// paths in session_roots(), never the credential files next to them) are copied
// out of the bottle when it stops or is removed, into a store on the host kept
// per bottle name:
//
//   <state>/sessions/NAME/         0700
//     agent                        "claude" or "codex"
//     home/.claude/projects/...    0600 each, the guest home's relative paths
//
// and copied back into a new bottle of that name at its first start, before the
// agent runs, so `attach --resume` (and the dashboard's r) continue there.
//
// Everything in the store was written by the agent, so the host only copies it:
//  - out of the guest it comes as one length-prefixed stream (export_argv) read by
//    parse_session_export(), never as a tar or a path the host opens in the guest;
//    every path is validated (relative, inside a root, no "." or ".." component),
//    anything else refuses the whole save;
//  - only regular files are stored: the host creates every directory and file
//    itself (O_EXCL | O_NOFOLLOW) in a fresh directory, so no symlink the agent
//    made can point a host write or read elsewhere;
//  - tokens (the bottle's dummies and the host's real ones) are replaced by
//    session_token_mark before anything is written (redact_tokens());
//  - at most session_store_max_bytes are kept; a bigger export is refused.
// Back into the guest they go as a ustar stream the host builds (sessions_tar()),
// unpacked by the agent user in its home.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/core/state.hpp"
#include "bottle/ops/canaries.hpp"

namespace bottle {

/// A path under the agent's home that holds its conversations.
struct SessionRoot {
  std::string path;  ///< relative to the guest home: ".claude/projects"
  bool directory = false;
  bool operator==(const SessionRoot&) const = default;
};

/// claude: .claude/projects/, .claude/history.jsonl, .claude/todos/;
/// codex: .codex/sessions/, .codex/history.jsonl, .codex/session_index.jsonl.
const std::vector<SessionRoot>& session_roots(AgentKind agent);

/// The most a bottle's saved sessions may hold, in bytes (all files together).
inline constexpr std::uint64_t session_store_max_bytes = std::uint64_t{128} << 20;
/// What replaces a token found in a session file.
inline constexpr std::string_view session_token_mark = "[bottle: token removed]";

/// <state>/sessions/NAME (name must be valid).
std::filesystem::path session_store_dir(const StateDirs& dirs, std::string_view name);

/// What is wrong with `path` as a stored session file of `agent`: it must be
/// relative, at most 1024 bytes, without NUL or control bytes, without empty, "."
/// or ".." components, and be a root file or lie inside a root directory.
/// nullopt when it is fine.
std::optional<std::string> session_path_problem(AgentKind agent, std::string_view path);

/// `sh -c SCRIPT bottle-sessions HOME MAX ROOT...`, run as the agent user: prints
/// every regular file under the roots as "F PATHLEN SIZE MTIME\n" PATH CONTENT
/// (each file copied first, so a file still being written is read whole), "O\n"
/// once more than MAX bytes would follow, and "E\n" at the end.
Argv export_argv(const std::string& home, AgentKind agent, std::uint64_t max_bytes = session_store_max_bytes);

struct SessionFile {
  std::string path;  ///< relative to the home
  std::string content;
  std::int64_t mtime_unix = 0;
  bool operator==(const SessionFile&) const = default;
};

/// export_argv()'s output as files. Throws Error(invalid_input) for a malformed
/// stream, a path session_path_problem() refuses, and output past `max_bytes` ("O").
std::vector<SessionFile> parse_session_export(AgentKind agent, std::string_view output,
                                              std::uint64_t max_bytes = session_store_max_bytes);

/// Where a token was removed: the file and the needle's label, never its value.
struct RedactedToken {
  std::string path;
  std::string label;
  bool operator==(const RedactedToken&) const = default;
};
/// Replace every occurrence of every needle (values shorter than 8 bytes are
/// ignored) in the files' contents by session_token_mark. A file whose path holds
/// a needle is dropped and reported too.
std::vector<RedactedToken> redact_tokens(std::vector<SessionFile>& files, const std::vector<SecretNeedle>& needles);

/// Replace the store of `name` with `files` (all or nothing: a new directory is
/// filled, then swapped in). Paths are checked again with session_path_problem().
void write_session_store(const StateDirs& dirs, std::string_view name, AgentKind agent,
                         const std::vector<SessionFile>& files);
/// The stored files of `name` (empty when there is no store). Refuses
/// (Error(invalid_input)) anything in the store that is not a plain directory or
/// regular file, or a path session_path_problem() refuses.
std::vector<SessionFile> read_session_store(const StateDirs& dirs, std::string_view name, AgentKind agent);
bool session_store_exists(const StateDirs& dirs, std::string_view name);
/// The agent whose sessions the store of `name` holds (recorded when it was
/// written); nullopt when there is no store.
std::optional<AgentKind> session_store_agent(const StateDirs& dirs, std::string_view name);
/// Delete the store of `name`; false when there was none.
bool purge_session_store(const StateDirs& dirs, std::string_view name);
/// Copy the store of `from` to `to` (for `create --resume-from`). Error(not_found)
/// when `from` has none, Error(conflict) when `to` already has one,
/// Error(invalid_input) when `from` holds another agent's sessions.
void copy_session_store(const StateDirs& dirs, std::string_view from, std::string_view to, AgentKind agent);

/// A ustar archive of `files` (with their parent directories, 0700; files 0600),
/// to unpack in the guest home. Files whose path does not fit ustar's 255 bytes
/// are left out and returned in `skipped`.
std::string sessions_tar(const std::vector<SessionFile>& files, std::vector<std::string>* skipped = nullptr);
/// `sh -c SCRIPT bottle-sessions HOME`, run as the agent user with sessions_tar()
/// on stdin: unpacks it in HOME.
Argv restore_argv(const std::string& home);

/// One conversation in a store, as `bottle-cli sessions` lists it.
struct SessionInfo {
  std::string id;  ///< claude: the file's stem; codex: the rollout's UUID
  AgentKind agent = AgentKind::claude;
  std::int64_t modified_unix = 0;
  std::string title;  ///< the first user prompt's first line, cut; "" when none is found
  std::string path;   ///< relative to the home
  bool operator==(const SessionInfo&) const = default;
};
/// The conversations in `files`, newest first. Titles come from the first MiB of
/// each file, read as JSON lines (data only) and made printable.
std::vector<SessionInfo> list_sessions(const std::vector<SessionFile>& files);
/// "ID  AGENT  MODIFIED  TITLE" lines, or a line saying there are none.
std::string sessions_to_text(const std::vector<SessionInfo>& sessions);
/// {"bottle":NAME,"sessions":[{"id","agent","modified_unix","title","path"}]}
std::string sessions_to_json(const std::string& name, const std::vector<SessionInfo>& sessions);

/// Copy the running bottle's sessions into its store, tokens redacted (no store is
/// made for a bottle without any). Returns what was redacted. Throws Error(backend) when the export fails in the guest.
/// Runs through `runner` with the engine's change deadline.
std::vector<RedactedToken> save_sessions(Runner& runner, const Backend& backend, const BottleSpec& spec,
                                         const StateDirs& dirs, const std::vector<SecretNeedle>& needles);
/// Copy the store of spec.name into the running bottle; the number of files put
/// back. Nothing happens without a store.
/// Throws Error(backend) when unpacking fails in the guest.
std::size_t restore_sessions(Runner& runner, const Backend& backend, const BottleSpec& spec, const StateDirs& dirs);

}  // namespace bottle
