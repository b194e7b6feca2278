#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "bottle/egress/system_roots.hpp"
#include "temp_dir.hpp"

using bottle::SystemRoots;

namespace {

const std::string bundle = "/usr/lib/ssl/cert.pem";
const std::string certs = "/usr/lib/ssl/certs";

// A filesystem where exactly `hashed` hold hash links.
auto hashed_are(std::set<std::string> hashed) {
  return [hashed = std::move(hashed)](const std::string& dir) { return hashed.contains(dir); };
}

}  // namespace

TEST_CASE("system roots: the bundle is left out only when a directory in use holds hash links", "[egress]") {
  SECTION("the defaults, hashed: the directory alone") {
    CHECK(bottle::choose_system_roots(std::nullopt, std::nullopt, bundle, certs, hashed_are({certs})) ==
          SystemRoots{.bundle = std::nullopt, .directory = certs});
  }
  SECTION("the defaults, not hashed: both, as OpenSSL's defaults") {
    CHECK(bottle::choose_system_roots(std::nullopt, std::nullopt, bundle, certs, hashed_are({})) ==
          SystemRoots{.bundle = bundle, .directory = certs});
  }
  SECTION("SSL_CERT_FILE is always loaded") {
    CHECK(bottle::choose_system_roots("/etc/corp.pem", std::nullopt, bundle, certs, hashed_are({certs})) ==
          SystemRoots{.bundle = "/etc/corp.pem", .directory = certs});
  }
  SECTION("SSL_CERT_DIR replaces the default directory, and its hash links decide") {
    CHECK(bottle::choose_system_roots(std::nullopt, "/opt/roots", bundle, certs, hashed_are({certs})) ==
          SystemRoots{.bundle = bundle, .directory = "/opt/roots"});
    CHECK(bottle::choose_system_roots(std::nullopt, "/opt/roots", bundle, certs, hashed_are({"/opt/roots"})) ==
          SystemRoots{.bundle = std::nullopt, .directory = "/opt/roots"});
  }
  SECTION("SSL_CERT_DIR is a list: one hashed directory in it is enough") {
    CHECK(bottle::choose_system_roots(std::nullopt, "/a::/b", bundle, certs, hashed_are({"/b"})) ==
          SystemRoots{.bundle = std::nullopt, .directory = "/a::/b"});
    CHECK(bottle::choose_system_roots(std::nullopt, "/a:/b", bundle, certs, hashed_are({"/c"})) ==
          SystemRoots{.bundle = bundle, .directory = "/a:/b"});
  }
}

TEST_CASE("system roots: a hash link is eight lowercase hex digits, a dot and a number", "[egress]") {
  TempDir dir;
  const auto touch = [&](const std::string& name) { std::ofstream(dir.path() / name) << "x"; };
  CHECK_FALSE(bottle::holds_hash_links(dir.path() / "missing"));
  CHECK_FALSE(bottle::holds_hash_links(dir.path()));
  for (const char* name :
       {"ca-certificates.crt", "1a2b3c4d.pem", "1A2B3C4D.0", "1a2b3c4.0", "1a2b3c4d.", "1a2b3c4d.r0", "1a2b3c4dx0"})
    touch(name);
  CHECK_FALSE(bottle::holds_hash_links(dir.path()));
  touch("1a2b3c4d.12");
  CHECK(bottle::holds_hash_links(dir.path()));
}
