// Unit tests for the egress CA: generated once with the real openssl into a temp
// state dir, checked with `openssl x509 -text`, reused, and reported when corrupt.
// Also the agent CA bundle.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/egress/egress_ca.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace bottle;

namespace {

// Runs real processes and remembers every argv, to prove the key is never in one.
class TeeRunner final : public Runner {
 public:
  ProcessResult run(const Command& command) override {
    argvs.push_back(command.argv);
    return real.run(command);
  }
  SystemRunner real;
  std::vector<std::vector<std::string>> argvs;
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// The base64 lines of the private key block: none may appear in any argv.
std::vector<std::string> key_lines(const std::string& pem) {
  std::vector<std::string> lines;
  const auto begin = pem.find("PRIVATE KEY-----");
  const auto end = pem.find("-----END", begin);
  std::string body = pem.substr(begin, end - begin);
  std::size_t pos = body.find('\n') + 1;
  while (pos < body.size()) {
    const auto nl = body.find('\n', pos);
    if (nl == std::string::npos) break;
    if (nl - pos >= 16) lines.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

std::string message_of(const std::function<void()>& fn, ErrorKind kind = ErrorKind::invalid_input) {
  try {
    fn();
  } catch (const Error& e) {
    CHECK(e.kind() == kind);
    return e.what();
  }
  FAIL("expected bottle::Error");
  return {};
}

}  // namespace

TEST_CASE("egress CA: generated once, a real CA, reused afterwards", "[egress_ca]") {
  TempDir temp;
  const StateDirs dirs{temp.path() / "config", temp.path() / "state"};
  TeeRunner runner;

  const EgressCa ca = ensure_egress_ca(runner, dirs);
  CHECK(ca.created);
  CHECK(ca.dir == dirs.state / "ca");
  CHECK(ca.key_and_cert == dirs.state / "ca" / "mitmproxy-ca.pem");
  CHECK(ca.cert == dirs.state / "ca" / "mitmproxy-ca-cert.pem");
  CHECK(mode_of(ca.dir) == 0700);
  CHECK(mode_of(ca.key_and_cert) == 0600);
  CHECK(mode_of(ca.cert) == 0644);

  const std::string combined = read_file(ca.key_and_cert);
  CHECK(combined.find("-----BEGIN PRIVATE KEY-----") == 0);
  CHECK(combined.find("-----BEGIN CERTIFICATE-----") > combined.find("-----END PRIVATE KEY-----"));
  CHECK(read_file(ca.cert) == ca.cert_pem);
  CHECK(combined.find(ca.cert_pem) != std::string::npos);
  CHECK(ca.cert_pem.find("PRIVATE") == std::string::npos);

  // Only the CA directory is left in the state dir: the scratch dir is gone.
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dirs.state)) entries.push_back(e.path().filename().string());
  CHECK(entries == std::vector<std::string>{"ca"});

  SystemRunner system;
  const ProcessResult text = system.run({.argv = {"openssl", "x509", "-in", ca.cert.string(), "-noout", "-text"}});
  REQUIRE(text.ok());
  CHECK_THAT(text.out, Catch::Matchers::Contains("CA:TRUE"));
  CHECK_THAT(text.out, Catch::Matchers::Contains("X509v3 Basic Constraints: critical"));
  CHECK_THAT(text.out, Catch::Matchers::Contains("Certificate Sign, CRL Sign"));
  CHECK_THAT(text.out, Catch::Matchers::Contains("CN = bottle egress CA ("));
  CHECK_THAT(text.out, Catch::Matchers::Contains("Public-Key: (2048 bit)"));
  // Self-signed: it verifies against itself.
  CHECK(system.run({.argv = {"openssl", "verify", "-CAfile", ca.cert.string(), ca.cert.string()}}).ok());

  const std::vector<std::string> lines = key_lines(combined);
  REQUIRE(!lines.empty());
  for (const auto& argv : runner.argvs)
    for (const auto& word : argv) {
      CHECK(word.find("PRIVATE KEY") == std::string::npos);
      for (const auto& line : lines) CHECK(word.find(line) == std::string::npos);
    }

  const EgressCa again = ensure_egress_ca(runner, dirs);
  CHECK(!again.created);
  CHECK(again.cert_pem == ca.cert_pem);
  CHECK(read_file(ca.key_and_cert) == combined);

  // The cert-only file is derived data: re-created when missing.
  fs::remove(ca.cert);
  CHECK(ensure_egress_ca(runner, dirs).cert_pem == ca.cert_pem);
  CHECK(read_file(ca.cert) == ca.cert_pem);
  CHECK(mode_of(ca.cert) == 0644);
}

TEST_CASE("egress CA: a corrupt CA is reported, never replaced", "[egress_ca]") {
  TempDir temp;
  const StateDirs dirs{temp.path() / "config", temp.path() / "state"};
  SystemRunner runner;
  const EgressCa ca = ensure_egress_ca(runner, dirs);
  const std::string combined = read_file(ca.key_and_cert);

  SECTION("garbage key file") {
    write_file_atomic(ca.key_and_cert, "not a pem file\n", 0600);
    const std::string message = message_of([&] { ensure_egress_ca(runner, dirs); });
    CHECK_THAT(message, Catch::Matchers::Contains(ca.key_and_cert.string()));
    CHECK(read_file(ca.key_and_cert) == "not a pem file\n");
  }
  SECTION("a key that does not parse") {
    std::string broken = combined;
    broken.replace(broken.find('\n') + 1, 40, std::string(40, 'A'));
    write_file_atomic(ca.key_and_cert, broken, 0600);
    const std::string message = message_of([&] { ensure_egress_ca(runner, dirs); });
    CHECK_THAT(message, Catch::Matchers::Contains(ca.key_and_cert.string()));
  }
  SECTION("cert file holding another certificate") {
    write_file_atomic(ca.cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0644);
    const std::string message = message_of([&] { ensure_egress_ca(runner, dirs); });
    CHECK_THAT(message, Catch::Matchers::Contains(ca.cert.string()));
  }
  SECTION("cert file without its key") {
    fs::remove(ca.key_and_cert);
    const std::string message = message_of([&] { ensure_egress_ca(runner, dirs); });
    CHECK_THAT(message, Catch::Matchers::Contains(ca.key_and_cert.string()));
    CHECK(!fs::exists(ca.key_and_cert));
  }
}

TEST_CASE("egress CA: agent bundle is system roots plus the CA", "[egress_ca]") {
  const std::string root = "-----BEGIN CERTIFICATE-----\nUk9PVA==\n-----END CERTIFICATE-----\n";
  const std::string ca = "-----BEGIN CERTIFICATE-----\nRUdSRVNT\n-----END CERTIFICATE-----\n";
  CHECK(build_agent_ca_bundle(root, ca) == root + ca);
  // A missing final newline is repaired; a CA the roots already hold is not repeated.
  CHECK(build_agent_ca_bundle(root.substr(0, root.size() - 1), ca) == root + ca);
  CHECK(build_agent_ca_bundle(root + ca, ca) == root + ca);

  CHECK_THROWS_AS(build_agent_ca_bundle("", ca), Error);
  CHECK_THROWS_AS(build_agent_ca_bundle(root, ca + ca), Error);
  CHECK_THROWS_AS(build_agent_ca_bundle(root, "junk"), Error);
  const std::string key = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";
  message_of([&] { build_agent_ca_bundle(root, key + ca); }, ErrorKind::internal);
  message_of([&] { build_agent_ca_bundle(root + key, ca); }, ErrorKind::internal);
}

TEST_CASE("egress CA: system bundle", "[egress_ca]") {
  TempDir temp;
  const std::string message =
      message_of([&] { read_system_ca_bundle(temp.path() / "missing.crt"); }, ErrorKind::not_found);
  CHECK_THAT(message, Catch::Matchers::Contains((temp.path() / "missing.crt").string()));
  write_file_atomic(temp.path() / "b.crt", "bundle", 0644);
  CHECK(read_system_ca_bundle(temp.path() / "b.crt") == "bundle");
}
