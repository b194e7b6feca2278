#include "bottle/credentials/credential_provisioning.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <ctime>
#include <set>

#include "bottle/core/error.hpp"
#include "bottle/credentials/claude_credentials.hpp"
#include "bottle/credentials/codex_credentials.hpp"
#include "bottle/credentials/host_refresh.hpp"
#include "bottle/spec/egress_route_json.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace fs = std::filesystem;
namespace json = boost::json;
using detail::JsonField;

namespace {

// Read one host login file. A missing file is the user's to fix (log in on the
// host), so it is invalid_input like a malformed one, and says what to run.
std::string read_host_file(const fs::path& path, std::string_view login_hint) {
  try {
    return read_file(path);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found)
      throw Error(ErrorKind::invalid_input,
                  fmt::format("forwarding host credentials: {}: no such file (log in on the host first: {})",
                              path.string(), login_hint));
    throw Error(ErrorKind::invalid_input, fmt::format("forwarding host credentials: {}", e.what()));
  }
}

// Parser messages name the field but only the file's base name; prefix the full
// path so the user knows which file to look at. They never contain a value.
template <typename Fn>
auto with_file_context(const fs::path& path, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("forwarding host credentials: {}: {}", path.string(), e.what()));
  }
}

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(u));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The whole config.toml is bottle's: the bottle has no other Codex configuration
// to preserve when it is first provisioned.
std::string codex_config_toml(const BottleSpec& spec, CodexAuthMode mode) {
  std::string text =
      "# Written by bottle. The login in auth.json is a forwarded dummy.\n"
      "# A keyring store would ignore auth.json, so the file store is forced.\n"
      "cli_auth_credentials_store = \"file\"\n";
  text += fmt::format("forced_login_method = \"{}\"\n", mode == CodexAuthMode::chatgpt ? "chatgpt" : "api");
  text +=
      "check_for_update_on_startup = false\n"
      "\n[analytics]\nenabled = false\n"
      "\n[otel]\nmetrics_exporter = \"none\"\n";
  text += fmt::format("\n[projects.{}]\ntrust_level = \"trusted\"\n", toml_string(spec.guest_workdir()));
  return text;
}

CodexHostAuth read_codex_host(const fs::path& host_file) {
  const std::string text = read_host_file(host_file, "codex login");
  return with_file_context(host_file, [&] { return parse_codex_auth(text); });
}

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

ForwardedCredentials prepare_codex(const Host& host_env, const BottleSpec& spec, const RandomSource& random,
                                   const RefreshHostLogin& refresh_expiring) {
  const fs::path host_file = codex_auth_path_from_environment(host_env);
  CodexHostAuth host = read_codex_host(host_file);
  // The dummies carry this token's exp: mint from a fresh one (re-read after the refresh).
  if (refresh_expiring && host.mode == CodexAuthMode::chatgpt && host_token_expiring(host.access_exp, unix_now())) {
    refresh_expiring(AgentKind::codex, host_file);
    host = read_codex_host(host_file);
  }
  CodexBottleAuth bottle_auth = build_codex_bottle_auth(host, host_file.string(), random);

  const std::string home = guest_user_home(spec.user);
  const std::string owner = spec.user + ":" + spec.user;
  ForwardedCredentials fc;
  fc.files.push_back({home + "/.codex/auth.json", std::move(bottle_auth.auth_json), owner, 0600});
  fc.files.push_back({home + "/.codex/config.toml", codex_config_toml(spec, host.mode), owner, 0600});
  fc.routes = std::move(bottle_auth.routes);
  fc.dummies = std::move(bottle_auth.dummies);
  return fc;
}

ClaudeHostCredentials read_claude_host(const fs::path& host_file) {
  const std::string text = read_host_file(host_file, "claude, then /login");
  return with_file_context(host_file, [&] { return parse_claude_credentials(text); });
}

ForwardedCredentials prepare_claude(const Host& host_env, const BottleSpec& spec, const RandomSource& random,
                                    const RefreshHostLogin& refresh_expiring) {
  const fs::path host_file = claude_credentials_path_from_environment(host_env);
  ClaudeHostCredentials host = read_claude_host(host_file);
  if (refresh_expiring && host_token_expiring(host.expires_at_ms / 1000, unix_now())) {
    refresh_expiring(AgentKind::claude, host_file);
    host = read_claude_host(host_file);
  }
  ClaudeBottleCredentials creds = build_claude_bottle_credentials(host, host_file.string(), random);

  // The host's global config is optional (only its non-secret oauthAccount is
  // copied), but a malformed one is reported rather than ignored.
  const fs::path global_file = claude_global_config_path_from_environment(host_env);
  std::string host_global;
  std::error_code ec;
  if (fs::exists(global_file, ec)) host_global = read_host_file(global_file, "claude");
  ClaudeOnboarding onboarding;
  onboarding.project_dir = spec.guest_workdir();
  onboarding.host_global_config = host_global;
  std::string global_config =
      with_file_context(global_file, [&] { return build_claude_global_config("", onboarding); });

  const std::string home = guest_user_home(spec.user);
  const std::string owner = spec.user + ":" + spec.user;
  ForwardedCredentials fc;
  fc.files.push_back({home + "/.claude/.credentials.json", std::move(creds.credentials_json), owner, 0600});
  fc.files.push_back({home + "/.claude.json", std::move(global_config), owner, 0600});
  fc.routes = std::move(creds.routes);
  fc.dummies = std::move(creds.dummies);
  return fc;
}

constexpr int state_version = 1;

// The codec reads any route; a stored one must also be usable.
EgressRoute stored_route(const JsonField& f) {
  EgressRoute r = egress_route_from_json(f.value(), f.path(), f.what());
  if (r.dummy.empty() || r.value_file.empty()) f.fail("a route needs a dummy and a value_file");
  return r;
}

GuestFile file_from_json(const JsonField& f) {
  f.only_keys({"path", "owner", "mode", "content"});
  GuestFile file;
  bool has_mode = false;
  f.with("path", [&](const JsonField& v) { file.path = v.string(); });
  f.with("owner", [&](const JsonField& v) { file.owner = v.string(); });
  f.with("content", [&](const JsonField& v) { file.content = v.string(); });
  f.with("mode", [&](const JsonField& v) {
    const std::string text = v.string();
    if (text.size() < 3 || text.size() > 4 || text.find_first_not_of("01234567") != std::string::npos)
      v.fail("must be an octal mode such as \"0600\"");
    file.mode = static_cast<unsigned>(std::stoul(text, nullptr, 8));
    has_mode = true;
  });
  if (file.path.empty() || file.path.front() != '/' || file.owner.empty() || !has_mode)
    f.fail("a file needs an absolute path, an owner and a mode");
  return file;
}

}  // namespace

std::string guest_user_home(std::string_view user) {
  return user == "root" ? std::string("/root") : "/home/" + std::string(user);
}

ForwardedCredentials prepare_forwarded_credentials(const Host& host, const BottleSpec& spec, const RandomSource& random,
                                                   const RefreshHostLogin& refresh_expiring) {
  if (!spec.forward_host_credentials) return {};
  // The user name becomes guest paths and a chown argument.
  validate_spec(spec);
  // Everything is built in memory and returned whole, so a failure part-way
  // leaves nothing behind.
  return spec.agent == AgentKind::codex ? prepare_codex(host, spec, random, refresh_expiring)
                                        : prepare_claude(host, spec, random, refresh_expiring);
}

fs::path forwarded_state_path(const StateDirs& dirs, std::string_view name) {
  return dirs.bottle_state_dir(name) / "credentials.json";
}

void save_forwarded_state(const StateDirs& dirs, std::string_view name, const ForwardedCredentials& fc) {
  json::array files;
  for (const auto& f : fc.files)
    files.push_back(json::object{
        {"path", f.path}, {"owner", f.owner}, {"mode", fmt::format("{:04o}", f.mode)}, {"content", f.content}});
  json::array routes;
  for (const auto& r : fc.routes) routes.push_back(egress_route_to_json(r));
  json::array dummies;
  for (const auto& d : fc.dummies) dummies.emplace_back(d);
  const json::object root{{"version", state_version},
                          {"files", std::move(files)},
                          {"routes", std::move(routes)},
                          {"dummies", std::move(dummies)}};
  write_file_atomic(forwarded_state_path(dirs, name), detail::pretty_json(root), 0600);
}

std::optional<ForwardedCredentials> load_forwarded_state(const StateDirs& dirs, std::string_view name) {
  const fs::path path = forwarded_state_path(dirs, name);
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found) return std::nullopt;
    throw;
  }
  const std::string what = path.string();
  try {
    const json::value root_value = detail::parse_json_text(text, what);
    const JsonField root(root_value, "$", what);
    root.only_keys({"version", "files", "routes", "dummies"});
    bool versioned = false;
    root.with("version", [&](const JsonField& v) {
      if (v.integer(0, 1000) != state_version) v.fail(fmt::format("unsupported version (expected {})", state_version));
      versioned = true;
    });
    if (!versioned) root.fail("missing key \"version\"");
    ForwardedCredentials fc;
    root.with("files",
              [&](const JsonField& v) { v.each([&](const JsonField& f) { fc.files.push_back(file_from_json(f)); }); });
    root.with("routes",
              [&](const JsonField& v) { v.each([&](const JsonField& r) { fc.routes.push_back(stored_route(r)); }); });
    root.with("dummies",
              [&](const JsonField& v) { v.each([&](const JsonField& d) { fc.dummies.push_back(d.string()); }); });
    return fc;
  } catch (const Error& e) {
    throw Error(
        ErrorKind::invalid_input,
        fmt::format("stored credential state is corrupt ({}); remove the bottle and create it again", e.what()));
  }
}

void install_guest_files(Backend& backend, const BottleSpec& spec, const std::vector<GuestFile>& files) {
  // Only a missing directory is created (and handed to the file's owner): an
  // existing one, such as the user's home, keeps whatever ownership the image gave it.
  static const std::string make_dir_script =
      "set -e; [ -d \"$1\" ] && exit 0; mkdir -p \"$1\"; chown \"$2\" \"$1\"; chmod 700 \"$1\"";
  std::set<std::string> ensured;
  for (const auto& file : files) {
    const std::string::size_type slash = file.path.rfind('/');
    if (file.path.empty() || file.path.front() != '/' || slash == std::string::npos || slash + 1 == file.path.size())
      throw Error(ErrorKind::internal, fmt::format("guest file path {}: must be an absolute file path", file.path));
    const std::string dir = slash == 0 ? "/" : file.path.substr(0, slash);
    if (ensured.insert(dir).second) {
      const ProcessResult r = backend.exec(spec, {"sh", "-c", make_dir_script, "sh", dir, file.owner}, ExecOptions{});
      if (!r.ok())
        throw Error(ErrorKind::backend, fmt::format("could not create {} in bottle {}: {}", dir, spec.name,
                                                    r.started() ? r.err : r.start_error));
    }
    backend.install_file(spec, file.path, file.content, file.owner, file.mode);
  }
}

}  // namespace bottle
