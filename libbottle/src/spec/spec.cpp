#include "bottle/spec/spec.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>

#include "bottle/core/error.hpp"
#include "bottle/core/ipv4_subnet.hpp"
#include "bottle/spec/egress_route_json.hpp"
#include "bottle/workspace/clone_repo.hpp"
#include "bottle/workspace/workspace_guard.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace json = boost::json;
using detail::JsonField;

namespace {

constexpr std::string_view what = "spec";
constexpr std::size_t max_name_length = 48;
constexpr std::size_t max_value_length = 4096;

[[noreturn]] void field_error(std::string_view field, std::string_view problem) {
  detail::throw_field_error(what, field, problem);
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

void validate_plain_value(std::string_view value, std::string_view field) {
  if (value.size() > max_value_length) field_error(field, "is too long");
  if (value.find('\0') != std::string_view::npos) field_error(field, "must not contain NUL bytes");
  // A stored spec is JSON: bytes that are not UTF-8 would make it unreadable.
  if (detail::invalid_utf8_at(value)) field_error(field, "must be valid UTF-8");
}

bool is_header_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// RFC 6901: '/'-separated tokens in which '~' only starts "~0" or "~1".
bool is_json_pointer(std::string_view pointer) {
  if (pointer.front() != '/') return false;
  for (std::size_t i = 0; i < pointer.size(); ++i)
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')))
      return false;
  return true;
}

void validate_route(const EgressRoute& r, const std::string& at) {
  // Route names (optional) key the token brokers and appear in egress logs: a plain word.
  const bool name_ok = r.name.size() <= 64 && std::all_of(r.name.begin(), r.name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                       });
  if (!name_ok) field_error(at + ".name", "must be at most 64 of letters, digits, '-', '_' and '.'");
  if (r.hosts.empty()) field_error(at + ".hosts", "must list at least one host");
  for (std::size_t h = 0; h < r.hosts.size(); ++h) validate_hostname(r.hosts[h], fmt::format("{}.hosts[{}]", at, h));
  if (r.header.empty() || r.header.size() > 128 || !std::all_of(r.header.begin(), r.header.end(), is_header_char))
    field_error(at + ".header", "must be an HTTP header name");
  if (r.dummy.size() < 8) field_error(at + ".dummy", "must be at least 8 characters (an exact, unique string)");
  validate_plain_value(r.dummy, at + ".dummy");
  // A dummy travels in an HTTP header value: anything else could never match.
  if (!std::all_of(r.dummy.begin(), r.dummy.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
    field_error(at + ".dummy", "must be printable ASCII (it is matched inside an HTTP header)");
  if (r.value_file.empty()) field_error(at + ".value_file", "must name the host file holding the real value");
  // Its directory is mounted into egress: a relative name would become a Docker
  // volume name, "/" would mount the whole host.
  validate_path(r.value_file, at + ".value_file");
  if (r.value_file.back() == '/') field_error(at + ".value_file", "must name a file, not a directory");
  if (!r.value_json_pointer.empty()) {
    validate_plain_value(r.value_json_pointer, at + ".value_json_pointer");
    if (!is_json_pointer(r.value_json_pointer))
      field_error(at + ".value_json_pointer", "must be a JSON pointer starting with '/' ('~' only as ~0 or ~1)");
  }
}

Mount parse_mount(const JsonField& f) {
  Mount m;
  if (f.value().is_string()) {  // shorthand: just the host directory
    m.host = f.string();
    m.guest = std::string(default_guest_workspace);
    return m;
  }
  f.only_keys({"host", "guest", "read_only"});
  if (!f.with("host", [&](const JsonField& v) { m.host = v.string(); })) f.fail("missing key \"host\"");
  m.guest = std::string(default_guest_workspace);
  f.with("guest", [&](const JsonField& v) { m.guest = v.string(); });
  f.with("read_only", [&](const JsonField& v) { m.read_only = v.boolean(); });
  return m;
}

BottleSpec parse_spec_object(const JsonField& root) {
  BottleSpec s;
  root.only_keys({"name", "backend", "agent", "image", "user", "workspaces", "env", "egress", "allowlist",
                  "forward_host_credentials", "prompt_file", "resources", "protected_paths", "unsafe_unprotected_paths",
                  "repo", "kubernetes"});
  if (!root.with("name", [&](const JsonField& v) { s.name = v.string(); })) root.fail("missing key \"name\"");
  root.with("backend", [&](const JsonField& v) { s.backend = parse_backend_kind(v.string(), v.path()); });
  root.with("agent", [&](const JsonField& v) { s.agent = parse_agent_kind(v.string(), v.path()); });
  root.with("image", [&](const JsonField& v) { s.image = v.string(); });
  root.with("user", [&](const JsonField& v) { s.user = v.string(); });
  root.with("workspaces",
            [&](const JsonField& v) { v.each([&](const JsonField& m) { s.workspaces.push_back(parse_mount(m)); }); });
  root.with("env", [&](const JsonField& v) {
    v.each_member([&](const std::string& key, const JsonField& value) { s.env[key] = value.string(); });
  });
  root.with("egress", [&](const JsonField& v) {
    v.only_keys({"enabled", "routes", "port", "subnet"});
    v.with("enabled", [&](const JsonField& e) { s.egress.enabled = e.boolean(); });
    v.with("subnet", [&](const JsonField& n) { s.egress.subnet = n.string(); });
    v.with("port", [&](const JsonField& p) { s.egress.port = static_cast<int>(p.integer(0, 65535)); });
    v.with("routes", [&](const JsonField& r) {
      r.each([&](const JsonField& route) {
        s.egress.routes.push_back(egress_route_from_json(route.value(), route.path(), route.what()));
      });
    });
  });
  root.with("allowlist",
            [&](const JsonField& v) { v.each([&](const JsonField& h) { s.allowlist.push_back(h.string()); }); });
  root.with("forward_host_credentials", [&](const JsonField& v) { s.forward_host_credentials = v.boolean(); });
  root.with("prompt_file", [&](const JsonField& v) { s.prompt_file = v.string(); });
  root.with("protected_paths",
            [&](const JsonField& v) { v.each([&](const JsonField& p) { s.protected_paths.push_back(p.string()); }); });
  root.with("unsafe_unprotected_paths", [&](const JsonField& v) {
    v.each([&](const JsonField& p) { s.unsafe_unprotected_paths.push_back(p.string()); });
  });
  root.with("repo", [&](const JsonField& v) {
    v.only_keys({"path", "branch", "base"});
    RepoSpec repo;
    if (!v.with("path", [&](const JsonField& p) { repo.path = p.string(); })) v.fail("missing key \"path\"");
    v.with("branch", [&](const JsonField& b) { repo.branch = b.string(); });
    v.with("base", [&](const JsonField& b) { repo.base = b.string(); });
    s.repo = std::move(repo);
  });
  root.with("kubernetes", [&](const JsonField& v) {
    v.only_keys({"context", "namespace", "agent_sandbox"});
    v.with("context", [&](const JsonField& c) { s.kubernetes.context = c.string(); });
    v.with("namespace", [&](const JsonField& n) { s.kubernetes.namespace_name = n.string(); });
    v.with("agent_sandbox", [&](const JsonField& b) { s.kubernetes.agent_sandbox = b.boolean(); });
  });
  root.with("resources", [&](const JsonField& v) {
    v.only_keys({"cpus", "memory_mib"});
    v.with("cpus", [&](const JsonField& n) { s.resources.cpus = static_cast<int>(n.integer(0, 256)); });
    v.with("memory_mib", [&](const JsonField& n) { s.resources.memory_mib = static_cast<int>(n.integer(0, 1 << 20)); });
  });
  return s;
}

}  // namespace

std::string_view to_string(BackendKind kind) {
  switch (kind) {
    case BackendKind::docker: return "docker";
    case BackendKind::smolmachines: return "smolmachines";
    case BackendKind::podman: return "podman";
    case BackendKind::kubernetes: break;
  }
  return "kubernetes";
}

std::string_view to_string(AgentKind kind) { return kind == AgentKind::claude ? "claude" : "codex"; }

BackendKind parse_backend_kind(std::string_view text, std::string_view field) {
  if (text == "docker") return BackendKind::docker;
  if (text == "smolmachines") return BackendKind::smolmachines;
  if (text == "kubernetes") return BackendKind::kubernetes;
  if (text == "podman") return BackendKind::podman;
  field_error(field, "must be \"docker\", \"smolmachines\", \"kubernetes\" or \"podman\"");
}

AgentKind parse_agent_kind(std::string_view text, std::string_view field) {
  if (text == "claude") return AgentKind::claude;
  if (text == "codex") return AgentKind::codex;
  field_error(field, "must be \"claude\" or \"codex\"");
}

std::optional<std::string> bottle_name_problem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > max_name_length) return fmt::format("must be at most {} characters", max_name_length);
  const bool chars_ok =
      std::all_of(name.begin(), name.end(), [](char c) { return is_lower_alnum(c) || c == '-' || c == '_'; });
  if (!chars_ok) return "may contain only lowercase letters, digits, '-' and '_'";
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back()))
    return "must start and end with a lowercase letter or digit";
  if (name.find("--") != std::string_view::npos) return "must not contain \"--\"";
  return std::nullopt;
}

void validate_bottle_name(std::string_view name, std::string_view field) {
  if (const auto problem = bottle_name_problem(name)) field_error(field, *problem);
}

void validate_hostname(std::string_view host, std::string_view field, bool allow_wildcard) {
  std::string_view rest = host;
  if (allow_wildcard && rest.substr(0, 2) == "*.") rest.remove_prefix(2);
  if (rest.empty() || host.size() > 253) field_error(field, "must be a hostname of 1-253 characters");
  std::size_t label = 0;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c == '.') {
      if (label == 0) field_error(field, "must not have empty labels");
      label = 0;
      continue;
    }
    const bool ok = is_lower_alnum(c) || (c == '-' && label > 0 && i + 1 < rest.size() && rest[i + 1] != '.');
    if (!ok) field_error(field, "must be a lowercase hostname (letters, digits, '-' and '.')");
    if (++label > 63) field_error(field, "has a label longer than 63 characters");
  }
  if (label == 0) field_error(field, "must not end with '.'");
  // "*.com" would open a whole top-level domain (pipelock refuses it as well).
  if (rest.size() != host.size() && rest.find('.') == std::string_view::npos)
    field_error(field, "is a wildcard over a top-level domain (too broad)");
}

void validate_env_name(std::string_view key, std::string_view field) {
  const bool ok = !key.empty() && key.size() <= 128 && !(key.front() >= '0' && key.front() <= '9') &&
                  std::all_of(key.begin(), key.end(),
                              [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  if (!ok) field_error(field, "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
}

void validate_env_value(std::string_view value, std::string_view field) { validate_plain_value(value, field); }

void validate_image(std::string_view image, std::string_view field) {
  if (image.empty()) field_error(field, "must not be empty");
  if (image.size() > 255) field_error(field, "is too long");
  if (image.front() == '-') field_error(field, "must not start with '-'");
  for (char c : image) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/' ||
                    c == ':' || c == '@';
    if (!ok) field_error(field, "may contain only letters, digits and . _ - / : @");
  }
}

void validate_user(std::string_view user, std::string_view field) {
  if (user.empty() || user.size() > 32) field_error(field, "must be 1-32 characters");
  const bool ok =
      std::all_of(user.begin(), user.end(), [](char c) { return is_lower_alnum(c) || c == '_' || c == '-'; });
  if (!ok || user.front() == '-') field_error(field, "must match [a-z0-9_][a-z0-9_-]*");
}

std::optional<std::string> path_problem(std::string_view path) {
  if (path.empty() || path.front() != '/') return "must be an absolute path";
  if (path.size() > max_value_length) return "is too long";
  // ':' and ',' are separators in docker -v / smolvm -v; control characters and
  // NUL cannot travel safely through argv or logs.
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ':' || c == ',') return fmt::format("must not contain '{}'", c);
    if (u < 0x20 || u == 0x7f) return "must not contain control characters";
  }
  if (detail::invalid_utf8_at(path)) return "must be valid UTF-8";
  std::string_view rest = path;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return "must not contain '..'";
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return std::nullopt;
}

void validate_path(std::string_view path, std::string_view field) {
  if (const auto problem = path_problem(path)) field_error(field, *problem);
}

void validate_protected_path(std::string_view path, std::string_view field) {
  if (!path.empty() && path.front() == '!')
    field_error(field, "cannot take a path out of the protection; name it in $.unsafe_unprotected_paths instead");
  if (path.empty() || path.front() == '/' || path.back() == '/')
    field_error(field, "must be a path relative to the workspace, without a leading or trailing '/'");
  const std::string absolute = "/" + std::string(path);
  if (const auto problem = path_problem(absolute)) field_error(field, *problem);
  std::string_view rest = path;
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == ".") field_error(field, "must not contain empty or '.' components");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
}

void validate_unprotected_name(std::string_view name, std::string_view field) {
  const auto& defaults = default_protected_names();
  const auto& git = git_dir_protected_names();
  const bool known = std::find(defaults.begin(), defaults.end(), name) != defaults.end() ||
                     (name.substr(0, 5) == ".git/" && std::find(git.begin(), git.end(), name.substr(5)) != git.end());
  if (!known)
    field_error(field,
                "must be a name from the default protected list (see `bottle-cli config show`), e.g. "
                "\".vscode\" or \".git/hooks\"");
}

void validate_spec(const BottleSpec& s) {
  validate_bottle_name(s.name, "$.name");
  validate_image(s.image, "$.image");
  validate_user(s.user, "$.user");
  for (std::size_t i = 0; i < s.workspaces.size(); ++i) {
    validate_path(s.workspaces[i].host, fmt::format("$.workspaces[{}].host", i));
    validate_path(s.workspaces[i].guest, fmt::format("$.workspaces[{}].guest", i));
    for (std::size_t j = 0; j < i; ++j)
      if (s.workspaces[j].guest == s.workspaces[i].guest)
        field_error(fmt::format("$.workspaces[{}].guest", i), "is mounted twice");
  }
  for (const auto& [key, value] : s.env) {
    const auto at = "$.env" + detail::member_path(key);
    validate_env_name(key, at);
    validate_plain_value(value, at);
  }
  for (std::size_t i = 0; i < s.egress.routes.size(); ++i)
    validate_route(s.egress.routes[i], fmt::format("$.egress.routes[{}]", i));
  for (std::size_t i = 0; i < s.allowlist.size(); ++i)
    validate_hostname(s.allowlist[i], fmt::format("$.allowlist[{}]", i), /*allow_wildcard=*/true);
  if (s.resources.cpus < 0 || s.resources.cpus > 256)
    field_error("$.resources.cpus", "must be an integer from 0 (default) to 256");
  if (s.resources.memory_mib != 0 && (s.resources.memory_mib < 64 || s.resources.memory_mib > (1 << 20)))
    field_error("$.resources.memory_mib", "must be 0 (default) or from 64 to 1048576");
  if (!s.prompt_file.empty()) validate_path(s.prompt_file, "$.prompt_file");
  for (std::size_t i = 0; i < s.protected_paths.size(); ++i)
    validate_protected_path(s.protected_paths[i], fmt::format("$.protected_paths[{}]", i));
  for (std::size_t i = 0; i < s.unsafe_unprotected_paths.size(); ++i)
    validate_unprotected_name(s.unsafe_unprotected_paths[i], fmt::format("$.unsafe_unprotected_paths[{}]", i));
  if (s.repo) validate_repo_spec(s);
  if (!s.kubernetes.context.empty()) validate_kube_context(s.kubernetes.context, "$.kubernetes.context");
  if (!s.kubernetes.namespace_name.empty())
    validate_kube_namespace(s.kubernetes.namespace_name, "$.kubernetes.namespace");
  if (s.backend != BackendKind::kubernetes && s.kubernetes != KubernetesTarget{})
    field_error("$.kubernetes", "is only for the kubernetes backend");
  if (s.backend == BackendKind::kubernetes && !s.workspaces.empty())
    field_error("$.workspaces",
                "the kubernetes backend does not carry host directories into a cluster; give the bottle its own "
                "clone of a repository with --repo instead");
  if (!s.egress.subnet.empty()) {
    if (s.backend != BackendKind::podman) field_error("$.egress.subnet", "is only for the podman backend");
    const auto subnet = parse_ipv4_subnet(s.egress.subnet);
    if (!subnet) field_error("$.egress.subnet", "must be an IPv4 network like 10.89.3.0/24 (host bits zero)");
    if (subnet->prefix < 16 || subnet->prefix > 28) field_error("$.egress.subnet", "must have a prefix of 16 to 28");
  }
}

void validate_kube_context(std::string_view context, std::string_view field) {
  if (context.empty() || context.size() > 253) field_error(field, "must be 1-253 characters");
  if (context.front() == '-') field_error(field, "must not start with '-'");
  if (!std::all_of(context.begin(), context.end(), [](char c) { return c > ' ' && c < 0x7f; }))
    field_error(field, "may contain only printable ASCII characters without spaces");
}

void validate_kube_namespace(std::string_view name, std::string_view field) {
  const bool label_chars = std::all_of(name.begin(), name.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
  if (name.empty() || name.size() > 63 || !label_chars || name.front() == '-' || name.back() == '-')
    field_error(field, "must be a DNS-1123 label: 1-63 of [a-z0-9-], not starting or ending with '-'");
}

BottleSpec parse_spec(std::string_view json_text) {
  const json::value root = detail::parse_json_text(json_text, what);
  BottleSpec spec = parse_spec_object(JsonField(root, "$", what));
  validate_spec(spec);
  return spec;
}

std::string BottleSpec::guest_workdir() const {
  if (!workspaces.empty()) return workspaces.front().guest;
  if (repo) return std::string(clone_guest_path);
  return user == "root" ? "/root" : "/home/" + user;
}

std::string spec_to_json(const BottleSpec& s) {
  json::object o;
  o["name"] = s.name;
  o["backend"] = json::string(to_string(s.backend));
  o["agent"] = json::string(to_string(s.agent));
  o["image"] = s.image;
  o["user"] = s.user;
  json::array workspaces;
  for (const auto& m : s.workspaces)
    workspaces.push_back(json::object{{"host", m.host}, {"guest", m.guest}, {"read_only", m.read_only}});
  o["workspaces"] = std::move(workspaces);
  json::object env;
  for (const auto& [k, v] : s.env) env[k] = v;
  o["env"] = std::move(env);
  json::array routes;
  for (const auto& r : s.egress.routes) routes.push_back(egress_route_to_json(r));
  json::object egress{{"enabled", s.egress.enabled}, {"routes", std::move(routes)}};
  if (s.egress.port != 0) egress["port"] = s.egress.port;
  if (!s.egress.subnet.empty()) egress["subnet"] = s.egress.subnet;
  o["egress"] = std::move(egress);
  o["allowlist"] = json::array(s.allowlist.begin(), s.allowlist.end());
  o["forward_host_credentials"] = s.forward_host_credentials;
  o["prompt_file"] = s.prompt_file;
  o["resources"] = json::object{{"cpus", s.resources.cpus}, {"memory_mib", s.resources.memory_mib}};
  o["protected_paths"] = json::array(s.protected_paths.begin(), s.protected_paths.end());
  o["unsafe_unprotected_paths"] = json::array(s.unsafe_unprotected_paths.begin(), s.unsafe_unprotected_paths.end());
  if (s.repo) o["repo"] = json::object{{"path", s.repo->path}, {"branch", s.repo->branch}, {"base", s.repo->base}};
  if (s.backend == BackendKind::kubernetes)
    o["kubernetes"] = json::object{{"context", s.kubernetes.context},
                                   {"namespace", s.kubernetes.namespace_name},
                                   {"agent_sandbox", s.kubernetes.agent_sandbox}};
  return detail::pretty_json(o);
}

}  // namespace bottle
