// fake_pipelock: a stand-in for `pipelock check --config FILE` (pipelock v2.3.0,
// reference/pipelock-config.md §6), for machines without pipelock.
//
//   fake_pipelock check --config FILE   (-c FILE, --config=FILE)
//     prints "Config validation: OK" and a summary, exit 0; or
//     "Config validation FAILED: <err>" on stderr, exit 1. Usage errors exit 2.
//   fake_pipelock dump --config FILE
//     fake-only: validates like `check`, then prints the loaded document as JSON on
//     stdout, so tests can see exactly what values a parser reads back.
//   fake_pipelock run --config FILE [--listen HOST:PORT]
//     validates like `check` (exit 1 on failure), then becomes a forward proxy on
//     --listen (else fetch_proxy.listen, else 127.0.0.1:8888) that enforces the
//     config's api_allowlist on CONNECT and on plain requests in absolute form,
//     and serves /health (fake_net.py pipelock).
//     Fake-only: every allowed CONNECT goes to $FAKE_PIPELOCK_UPSTREAM (host:port,
//     the tests' fake upstream), an allowed plain request is answered by the fake
//     itself (its request line, as JSON), and request lines are logged to
//     $FAKE_PIPELOCK_LOG (default /dev/null).
//   fake_pipelock healthcheck [--addr HOST:PORT]
//     exit 0 when GET /health answers 200, like the real one.
//
// Loading follows the real order: parse (one document, strict keys and types) ->
// defaults -> Validate(), stopping at the first error.

#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "checks.hpp"
#include "decode.hpp"

namespace {

namespace fs = std::filesystem;
using namespace fake_pipelock;

struct LoadFailure {
  std::string message;
};

YAML::Node load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadFailure{"reading config " + path + ": open " + path + ": no such file or directory"};
  std::ostringstream text;
  text << in.rdbuf();
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text.str());
  } catch (const YAML::Exception& e) {
    throw LoadFailure{"parsing config " + path + ": yaml: line " + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  if (documents.size() > 1) throw LoadFailure{"parsing config " + path + ": multiple YAML documents not supported"};
  YAML::Node document = documents.empty() ? YAML::Node() : documents.front();
  const auto errors = decode_errors(document);
  if (!errors.empty()) {
    std::string message = "parsing config " + path + ": yaml: unmarshal errors:";
    for (const auto& e : errors) message += "\n  " + e;
    throw LoadFailure{message};
  }
  const fs::path dir = fs::absolute(fs::path(path)).parent_path();
  if (auto error = validate_config(document, dir)) throw LoadFailure{*error};
  return document;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') out += '\\', out += ch;
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += ch;  // UTF-8 passes through; yaml-cpp already decoded escapes
  }
  return out + "\"";
}

// Scalars print as JSON strings (their text), null as null: tests compare text.
void dump(const YAML::Node& node, std::string& out) {
  if (!node.IsDefined() || node.IsNull()) {
    out += "null";
  } else if (node.IsScalar()) {
    out += json_string(node.Scalar());
  } else if (node.IsSequence()) {
    out += '[';
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (i) out += ',';
      dump(node[i], out);
    }
    out += ']';
  } else {
    out += '{';
    bool first = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!first) out += ',';
      first = false;
      out += json_string(it->first.Scalar()) + ':';
      dump(it->second, out);
    }
    out += '}';
  }
}

void print_summary(const YAML::Node& doc) {
  const std::string mode = string_or(lookup(doc, {"mode"}), "balanced");
  std::cout << "Config validation: OK\n"
            << "  Mode: " << (mode.empty() ? "balanced" : mode) << "\n"
            << "  API allowlist: " << strings_of(lookup(doc, {"api_allowlist"})).size() << " domains\n"
            << "  Listen: " << string_or(lookup(doc, {"fetch_proxy", "listen"}), "127.0.0.1:8888") << "\n"
            << "  Forward proxy: "
            << (bool_or(lookup(doc, {"forward_proxy", "enabled"}), false) ? "enabled" : "disabled") << "\n"
            << "  TLS interception: "
            << (bool_or(lookup(doc, {"tls_interception", "enabled"}), false) ? "enabled" : "disabled") << " ("
            << strings_of(lookup(doc, {"tls_interception", "passthrough_domains"})).size() << " passthrough)\n";
}

int usage() {
  std::cerr << "usage: fake_pipelock check|dump|run --config FILE [--listen HOST:PORT]\n"
               "       fake_pipelock healthcheck [--addr HOST:PORT]\n";
  return 2;
}

int exec_or_fail(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::perror(args[0]);
  return 127;
}

int healthcheck(const std::vector<std::string>& args) {
  std::string addr = "127.0.0.1:8888";
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--addr" && i + 1 < args.size()) addr = args[++i];
    else return usage();
  }
  return exec_or_fail({"curl", "-sf", "--max-time", "2", "-o", "/dev/null", "http://" + addr + "/health"});
}

int run(const YAML::Node& document, const std::string& listen_flag) {
  const char* upstream = std::getenv("FAKE_PIPELOCK_UPSTREAM");
  if (upstream == nullptr || *upstream == '\0') {
    std::cerr << "fake_pipelock run: set FAKE_PIPELOCK_UPSTREAM to the fake upstream's host:port\n";
    return 2;
  }
  const char* log = std::getenv("FAKE_PIPELOCK_LOG");
  const std::string listen =
      !listen_flag.empty() ? listen_flag : string_or(lookup(document, {"fetch_proxy", "listen"}), "127.0.0.1:8888");
  std::string allowlist = "[";
  for (const auto& host : strings_of(lookup(document, {"api_allowlist"})))
    allowlist += (allowlist.size() > 1 ? "," : "") + json_string(host);
  allowlist += "]";
  return exec_or_fail({"python3", FAKE_NET_SCRIPT, "pipelock", listen, upstream, allowlist,
                       log != nullptr && *log != '\0' ? log : "/dev/null"});
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "healthcheck") return healthcheck(args);
  if (args.empty() || (args[0] != "check" && args[0] != "dump" && args[0] != "run")) return usage();
  std::string config;
  std::string listen;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) config = args[++i];
    else if (args[i].rfind("--config=", 0) == 0) config = args[i].substr(9);
    else if (args[0] == "run" && (args[i] == "--listen" || args[i] == "-l") && i + 1 < args.size()) listen = args[++i];
    else return usage();
  }
  if (config.empty()) return usage();  // the real CLI would fall back to Defaults()
  try {
    const YAML::Node document = load(config);
    if (args[0] == "run") return run(document, listen);
    if (args[0] == "dump") {
      std::string out;
      dump(document, out);
      std::cout << out << "\n";
    } else {
      print_summary(document);
    }
    return 0;
  } catch (const LoadFailure& failure) {
    std::cerr << "Config validation FAILED: " << failure.message << "\n";
    return 1;
  }
}
