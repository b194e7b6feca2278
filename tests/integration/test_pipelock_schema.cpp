// Generated pipelock configs against fake_pipelock, the stand-in for
// `pipelock check --config FILE` (v2.3.0 schema, strict keys, CA-file checks): every
// config bottle renders must validate, and values must read back exactly. A few broken
// files prove the validator can fail, with the right message.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/egress/pipelock_config.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> codex_hosts = {"api.openai.com", "chatgpt.com", "auth.openai.com", "ab.chatgpt.com"};
const std::vector<std::string> claude_hosts = {"api.anthropic.com", "console.anthropic.com", "statsig.anthropic.com"};

// A private temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "bottle-pipelock-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path write_file(const fs::path& path, const std::string& text,
                    fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
  std::ofstream(path, std::ios::binary) << text;
  fs::permissions(path, mode);
  return path;
}

// Stand-ins for `pipelock tls init` output: `check` tests only existence and key mode.
void write_ca(const fs::path& cert, const fs::path& key) {
  write_file(cert, "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n");
  write_file(key, "-----BEGIN EC PRIVATE KEY-----\nfake\n-----END EC PRIVATE KEY-----\n");
}

bottle::ProcessResult run_fake(const std::string& verb, const fs::path& config) {
  bottle::SystemRunner runner;
  auto result = runner.run({.argv = {test_paths::fake_pipelock, verb, "--config", config.string()}});
  REQUIRE(result.started());
  return result;
}

void require_ok(const fs::path& config) {
  const auto r = run_fake("check", config);
  INFO("config:\n" << std::ifstream(config).rdbuf() << "\nstderr: " << r.err);
  REQUIRE(r.ok());
  CHECK(r.out.rfind("Config validation: OK\n", 0) == 0);
}

std::string require_failed(const fs::path& config) {
  const auto r = run_fake("check", config);
  INFO("stdout: " << r.out);
  CHECK(r.outcome == bottle::ProcessResult::Outcome::exited);
  CHECK(r.code != 0);
  CHECK(r.err.rfind("Config validation FAILED: ", 0) == 0);
  return r.err;
}

// What a YAML parser reads back from the file (fake_pipelock dump), as JSON.
boost::json::object read_back(const fs::path& config) {
  const auto r = run_fake("dump", config);
  INFO("stderr: " << r.err);
  REQUIRE(r.ok());
  return boost::json::parse(r.out).as_object();
}

std::vector<std::string> strings_at(const boost::json::object& doc, std::initializer_list<const char*> path) {
  const boost::json::value* v = nullptr;
  const boost::json::object* o = &doc;
  for (const char* key : path) {
    v = o->if_contains(key);
    REQUIRE(v != nullptr);
    if (v->is_object()) o = &v->as_object();
  }
  std::vector<std::string> out;
  if (!v->is_array()) return out;  // "[]" is read back as an empty sequence
  for (const auto& item : v->as_array()) out.emplace_back(item.as_string().c_str(), item.as_string().size());
  return out;
}

bottle::BottleSpec spec_for(bottle::AgentKind agent, bool forward) {
  bottle::BottleSpec spec;
  spec.name = "schema-test";
  spec.agent = agent;
  spec.allowlist = {"github.com", "*.githubusercontent.com", "registry.npmjs.org"};
  spec.forward_host_credentials = forward;
  return spec;
}

}  // namespace

TEST_CASE("every generated pipelock config passes pipelock check", "[pipelock]") {
  TempDir dir;
  const fs::path cert = dir.path() / "ca.pem";
  const fs::path key = dir.path() / "ca-key.pem";
  write_ca(cert, key);

  for (const auto agent : {bottle::AgentKind::claude, bottle::AgentKind::codex}) {
    const auto& hosts = agent == bottle::AgentKind::codex ? codex_hosts : claude_hosts;
    for (const bool forward : {false, true}) {
      for (const bool tls : {false, true}) {
        DYNAMIC_SECTION(bottle::to_string(agent) << " forward=" << forward << " tls=" << tls) {
          bottle::PipelockOptions options;
          options.tls_interception = tls;
          options.ca_cert = cert.string();
          options.ca_key = key.string();
          const auto spec = spec_for(agent, forward);
          const auto settings = bottle::pipelock_settings_for(spec, hosts, options);
          const auto config = write_file(dir.path() / "pipelock.yaml", bottle::render_pipelock_yaml(settings));
          require_ok(config);

          const auto doc = read_back(config);
          CHECK(doc.at("mode").as_string() == "strict");
          CHECK(strings_at(doc, {"api_allowlist"}) == settings.api_allowlist);
          const auto passthrough = strings_at(doc, {"tls_interception", "passthrough_domains"});
          CHECK(passthrough == (forward ? settings.passthrough_domains : std::vector<std::string>{}));
          if (forward)
            for (const auto& host : hosts) CHECK(std::count(passthrough.begin(), passthrough.end(), host) == 1);
          CHECK(doc.at("tls_interception").at("enabled").as_string() == (tls ? "true" : "false"));
        }
      }
    }
  }
}

TEST_CASE("pipelock check fails when TLS interception is on and the CA files are missing or open", "[pipelock]") {
  TempDir dir;
  bottle::PipelockOptions options;
  options.tls_interception = true;
  options.ca_cert = (dir.path() / "ca.pem").string();
  options.ca_key = (dir.path() / "ca-key.pem").string();
  const auto settings = bottle::pipelock_settings_for(spec_for(bottle::AgentKind::codex, true), codex_hosts, options);
  const auto config = write_file(dir.path() / "pipelock.yaml", bottle::render_pipelock_yaml(settings));

  CHECK_THAT(require_failed(config), Catch::Contains("CA cert not found at " + options.ca_cert));
  write_ca(options.ca_cert, options.ca_key);
  fs::permissions(options.ca_key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                      fs::perms::others_read);  // 0644
  CHECK_THAT(require_failed(config), Catch::Contains("too permissive"));
  fs::permissions(options.ca_key, fs::perms::owner_read | fs::perms::owner_write);  // 0600
  require_ok(config);
}

TEST_CASE("hostile values in a pipelock config stay values", "[pipelock]") {
  TempDir dir;
  const std::vector<std::string> hostile = {
      "evil\"\n  mode: audit",
      "x\"\nmode: \"audit",
      "# comment",
      "a: b",
      "&anchor",
      "*alias",
      "!!python/object:os.system",
      "---",
      "{a: 1}",
      "\\",
      "tab\there\r\x01\x7f",
      std::string("nul\0byte", 8),
      "caf\xC3\xA9 \xE2\x98\x95 \xF0\x9D\x94\x98 line\xE2\x80\xA8sep\xC2\x85nel\xEF\xBB\xBF",
      "",
      "null",
      "true",
      std::string(5000, 'a') + "\"\n" + std::string(5000, 'b'),
  };
  // A CA file whose name alone would break unquoted YAML: the fake finds it only if
  // the path reads back byte for byte.
  const fs::path cert = dir.path() / "ca\"\n  enabled: false\n# x: y.pem";
  const fs::path key = dir.path() / "key: &a !!str \\n\xE2\x80\xA8.pem";
  write_ca(cert, key);

  bottle::PipelockSettings settings;
  settings.api_allowlist = hostile;  // pipelock_settings_for would reject these
  settings.tls_interception = true;
  settings.ca_cert = cert.string();
  settings.ca_key = key.string();
  const auto config = write_file(dir.path() / "pipelock.yaml", bottle::render_pipelock_yaml(settings));
  require_ok(config);

  const auto doc = read_back(config);
  CHECK(doc.at("mode").as_string() == "strict");
  CHECK(strings_at(doc, {"api_allowlist"}) == hostile);
  CHECK(doc.at("tls_interception").at("ca_cert").as_string() == cert.string());
  CHECK(doc.at("tls_interception").at("ca_key").as_string() == key.string());
  CHECK(doc.at("tls_interception").at("enabled").as_string() == "true");
  CHECK(doc.size() == 11);  // no key was added at the top level
}

TEST_CASE("pipelock check rejects broken configs with the right message", "[pipelock]") {
  TempDir dir;
  const auto settings = bottle::pipelock_settings_for(spec_for(bottle::AgentKind::codex, true), codex_hosts);
  const std::string good = bottle::render_pipelock_yaml(settings);
  const auto broken = [&](const std::string& text) {
    return require_failed(write_file(dir.path() / "broken.yaml", text));
  };

  SECTION("unknown top-level key (there is no tls_passthrough)") {
    CHECK_THAT(broken(good + "tls_passthrough:\n  - \"api.openai.com\"\n"),
               Catch::Contains("field tls_passthrough not found in type config.Config"));
  }
  SECTION("unknown nested key") {
    std::string text = good;
    text.replace(text.find("  scan_env: false\n"), 17, "  scan_env: false\n  scan_headers: true\n");
    CHECK_THAT(broken(text), Catch::Contains("field scan_headers not found in type config.DLP"));
  }
  SECTION("passthrough entries that are not bare hostnames") {
    for (const std::string entry :
         {"https://api.openai.com", "api.openai.com:443", "api.openai.com/v1", "api openai.com", ""}) {
      std::string text = good;
      text.replace(text.find("  passthrough_domains:\n"), 23, "  passthrough_domains:\n    - \"" + entry + "\"\n");
      CHECK_THAT(broken(text), Catch::Contains("tls_interception.passthrough_domains[0]"));
    }
  }
  SECTION("wrong type, bad enum, strict without allowlist, several documents") {
    CHECK_THAT(broken("forward_proxy:\n  enabled: \"yes\"\n"),
               Catch::Contains("cannot unmarshal !!str `yes` into bool"));
    CHECK_THAT(broken("mode: permissive\n"), Catch::Contains("invalid mode \"permissive\""));
    CHECK_THAT(broken("request_body_scanning:\n  action: deny\n"), Catch::Contains("request_body_scanning.action"));
    CHECK_THAT(broken("mode: strict\n"), Catch::Contains("api_allowlist"));
    CHECK_THAT(broken(good + "---\nmode: audit\n"), Catch::Contains("multiple YAML documents not supported"));
    CHECK_THAT(broken("mode: strict\nmode: audit\n"), Catch::Contains("already defined"));
  }
}
