// bottle-egress's audit log writer (egress/audit_writer): the addon's files and rules
// (settings, 0600, whole lines, size rotation, a failure that never stops traffic),
// plus the redaction of secrets in recorded fields.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "bottle/core/error.hpp"
#include "bottle/egress/audit_writer.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using bottle::AuditRecord;
using bottle::AuditWriter;

namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<AuditRecord> records_in(const std::filesystem::path& path) {
  std::vector<AuditRecord> out;
  std::istringstream lines(read(path));
  for (std::string line; std::getline(lines, line);) {
    auto record = bottle::parse_audit_record(line);
    REQUIRE(record.has_value());
    out.push_back(*record);
  }
  return out;
}

AuditRecord sample(int n) {
  AuditRecord r;
  r.time = "2026-12-03T01:59:00.123Z";
  r.method = "GET";
  r.host = "chatgpt.com";
  r.port = 443;
  r.path = "/backend-api/item/" + std::to_string(n);
  r.status = 200;
  r.route = "codex";
  r.action = "injected";
  r.reason = "credential swapped";
  r.bottle = "someone-else";
  return r;
}

}  // namespace

TEST_CASE("audit writer: settings are read as the addon reads them", "[egress-audit]") {
  CHECK(bottle::parse_audit_settings(R"({"version":1,"bottle":"demo","log":"audit.jsonl","max_bytes":8192})", "a") ==
        bottle::AuditSettings{"demo", "audit.jsonl", 8192});
  CHECK(bottle::parse_audit_settings(R"({"version":1})", "a") == bottle::AuditSettings{});
  CHECK(error_of([] { bottle::parse_audit_settings(R"({"version":2})", "conf/audit.json"); }) ==
        "conf/audit.json: $.version: must be 1");
  CHECK(error_of([] { bottle::parse_audit_settings(R"({"version":1,"log":"../x"})", "a"); }) ==
        "a: $.log: must be a file name");
  CHECK(error_of([] { bottle::parse_audit_settings(R"({"version":1,"log":".."})", "a"); }) ==
        "a: $.log: must be a file name");
  CHECK(error_of([] { bottle::parse_audit_settings(R"({"version":1,"max_bytes":0})", "a"); }) ==
        "a: $.max_bytes: must be a positive integer");
  CHECK(error_of([] { bottle::parse_audit_settings("[1]", "a"); }) == "a: $: must be a JSON object");
}

TEST_CASE("audit writer: records go to the configured file, 0600, as whole lines of this bottle", "[egress-audit]") {
  TempDir dir;
  CHECK(AuditWriter::from_confdir(dir.path(), {}) == nullptr);
  std::ofstream(dir.path() / "audit.json") << R"({"version":1,"bottle":"demo","log":"log.jsonl","max_bytes":1048576})";
  const auto writer = AuditWriter::from_confdir(dir.path(), {});
  REQUIRE(writer != nullptr);
  writer->write(sample(1));
  writer->write(sample(2));
  const auto records = records_in(dir.path() / "log.jsonl");
  REQUIRE(records.size() == 2);
  CHECK(records[0].bottle == "demo");
  CHECK(records[1].path == "/backend-api/item/2");
  struct stat st {};
  REQUIRE(::stat((dir.path() / "log.jsonl").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("audit writer: settings read from another file still log in confdir", "[egress-audit]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "config");
  const std::string settings = (dir.path() / "config" / "audit.json").string();
  CHECK(AuditWriter::from_confdir(dir.path() / "conf", {}, settings) == nullptr);
  std::ofstream(settings) << R"({"version":1,"bottle":"demo","log":"audit.jsonl","max_bytes":1048576})";
  std::filesystem::create_directories(dir.path() / "conf");
  const auto writer = AuditWriter::from_confdir(dir.path() / "conf", {}, settings);
  REQUIRE(writer != nullptr);
  writer->write(sample(1));
  CHECK(records_in(dir.path() / "conf" / "audit.jsonl").size() == 1);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "config" / "audit.jsonl"));
}

TEST_CASE("audit writer: rotation keeps the newest records within max_bytes, lines whole", "[egress-audit]") {
  TempDir dir;
  const auto file = dir.path() / "audit.jsonl";
  std::vector<std::thread> threads;
  threads.reserve(4);
  {
    AuditWriter writer(file, "demo", 4096, {});
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < 50; ++i) writer.write(sample(t * 1000 + i));
      });
    for (auto& thread : threads) thread.join();
  }
  const auto current = records_in(file);
  const auto previous = records_in(dir.path() / "audit.jsonl.1");
  CHECK(std::filesystem::file_size(file) <= 2048);
  CHECK(std::filesystem::file_size(dir.path() / "audit.jsonl.1") <= 2048);
  CHECK_FALSE(current.empty());
  CHECK_FALSE(previous.empty());
}

TEST_CASE("audit writer: a log that cannot be written loses records, warns once, never throws", "[egress-audit]") {
  TempDir dir;
  std::vector<std::string> warnings;
  AuditWriter writer(dir.path() / "missing-dir" / "audit.jsonl", "demo", 1 << 20,
                     [&warnings](const std::string& reason) { warnings.push_back(reason); });
  writer.write(sample(1));
  writer.write(sample(2));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "No such file or directory");
  // Once the directory is there, records flow again.
  std::filesystem::create_directory(dir.path() / "missing-dir");
  writer.write(sample(3));
  CHECK(records_in(dir.path() / "missing-dir" / "audit.jsonl").size() == 1);
}

TEST_CASE("audit writer: secrets in recorded fields are redacted, longest first", "[egress-audit]") {
  CHECK(bottle::redact_secrets("/v1?t=dummy-abc&u=dummy-abc-long", {"dummy-abc", "dummy-abc-long"}) ==
        "/v1?t=[redacted]&u=[redacted]");
  CHECK(bottle::redact_secrets("aaaa", {"aa"}) == "[redacted][redacted]");
  CHECK(bottle::redact_secrets("nothing here", {"", "secret"}) == "nothing here");
  CHECK(bottle::audit_bare_path("/models?key=x#frag") == "/models");
  CHECK(bottle::audit_bare_path("/a#b?c") == "/a");
  CHECK(bottle::audit_bare_path("").empty());
}
