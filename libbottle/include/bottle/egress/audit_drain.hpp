#pragma once
// Taking an egress's audit log out of a place the host cannot read, a cluster's egress
// pod (whose image has no shell and no cat): `bottle-egress audit-drain --confdir DIR`
// prints the records logged since the last drain, and the host appends them to the
// bottle's log on the host (egress_audit.hpp), so `bottle-cli logs` and the dashboard
// read one place for every placement.
//
// The drain never touches the log egress writes: it keeps, next to it, how far it has
// read each log file, by inode ("<confdir>/audit.drained", lines "INODE OFFSET"). A
// rotation renames the current file to <log>.1 and keeps its inode, so what was read
// of it before is not read again; a file drained up to its end gives nothing. A last
// line without its newline yet waits for the next drain. Records rotated away twice
// between two drains are lost, as they would be on the host.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

/// How far each log file (by inode) has been drained: inode -> bytes.
using AuditDrainState = std::map<std::uint64_t, std::uint64_t>;

/// The state file's text: "INODE OFFSET" lines, ascending. Pure.
std::string render_audit_drain_state(const AuditDrainState& state);
/// The state in `text`; a line that is not two decimal numbers makes the whole state
/// empty (everything is drained again rather than something skipped). Pure.
AuditDrainState parse_audit_drain_state(std::string_view text);

/// The complete lines logged in `confdir` (the log named by its audit.json, then
/// audit.jsonl when there is none: <log>.1 first) since the last drain, and records
/// the new positions. No log yet: "". Throws Error(io) when a file exists but cannot
/// be read, or the state cannot be written.
std::string drain_audit_log(const std::filesystem::path& confdir);

/// `audit-drain --confdir DIR` (the words after bottle-egress): the directory.
/// Throws Error(usage) naming the argument.
std::filesystem::path parse_audit_drain_args(const std::vector<std::string>& args);

}  // namespace bottle
