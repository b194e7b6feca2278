// Draining an egress's audit log out of a place the host cannot read
// (egress/audit_drain): each record once, in order, across rotations, a partial last
// line held back, and the drain's own record of what it read.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "bottle/core/error.hpp"
#include "bottle/egress/audit_drain.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

void append(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::app) << text; }

}  // namespace

TEST_CASE("audit drain: each line once, in order, across a rotation, a partial line held back", "[egress-audit]") {
  TempDir dir;
  const fs::path log = dir.path() / "audit.jsonl";
  CHECK(bottle::drain_audit_log(dir.path()).empty());  // no log yet

  append(log, "one\ntwo\nthr");
  CHECK(bottle::drain_audit_log(dir.path()) == "one\ntwo\n");
  CHECK(bottle::drain_audit_log(dir.path()).empty());
  append(log, "ee\n");
  CHECK(bottle::drain_audit_log(dir.path()) == "three\n");

  // egress rotates: the drained file becomes .1 (same inode) and a new one starts.
  append(log, "four\n");
  fs::rename(log, dir.path() / "audit.jsonl.1");
  append(log, "five\n");
  CHECK(bottle::drain_audit_log(dir.path()) == "four\nfive\n");
  CHECK(bottle::drain_audit_log(dir.path()).empty());

  // A second rotation replaces .1 with what was current: nothing is read twice.
  append(log, "six\n");
  fs::rename(log, dir.path() / "audit.jsonl.1");
  append(log, "seven\n");
  CHECK(bottle::drain_audit_log(dir.path()) == "six\nseven\n");
}

TEST_CASE("audit drain: the log named by audit.json, and a damaged state drains everything again", "[egress-audit]") {
  TempDir dir;
  std::ofstream(dir.path() / "audit.json") << R"({"version":1,"bottle":"demo","log":"mine.jsonl","max_bytes":1048576})";
  append(dir.path() / "mine.jsonl", "a\n");
  append(dir.path() / "audit.jsonl", "not this one\n");
  CHECK(bottle::drain_audit_log(dir.path()) == "a\n");
  std::ofstream(dir.path() / "audit.drained") << "12 x\n";
  CHECK(bottle::drain_audit_log(dir.path()) == "a\n");
}

TEST_CASE("audit drain: the state text round-trips and arguments are checked", "[egress-audit]") {
  const bottle::AuditDrainState state{{7, 120}, {42, 0}};
  CHECK(bottle::render_audit_drain_state(state) == "7 120\n42 0\n");
  CHECK(bottle::parse_audit_drain_state("7 120\n42 0\n") == state);
  CHECK(bottle::parse_audit_drain_state("7 120\n42\n").empty());
  CHECK(bottle::parse_audit_drain_state("7 -1\n").empty());
  CHECK(bottle::parse_audit_drain_args({"--confdir", "/run/conf"}) == fs::path("/run/conf"));
  CHECK(error_of([] { bottle::parse_audit_drain_args({}); }, bottle::ErrorKind::usage) ==
        "audit-drain: needs exactly --confdir DIR");
  CHECK(error_of(
            [] {
              bottle::parse_audit_drain_args({"--confdir", "conf"});
            },
            bottle::ErrorKind::usage) == "audit-drain: --confdir must be an absolute path");
}
