#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>
#include <ctime>

#include "bottle/ops/sessions.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace {

namespace json = boost::json;

// Titles are read from the start of a file only: a listing must stay cheap however
// long the conversation, and the first prompt is near the top.
constexpr std::size_t title_scan_bytes = std::size_t{1} << 20;
constexpr std::size_t title_max = 80;

std::string first_line(std::string_view text) {
  const auto start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  text.remove_prefix(start);
  return detail::printable(text.substr(0, text.find('\n')), title_max);
}

const json::value* member(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}

std::string_view string_of(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// Text that starts with '<' is context the agent adds (<environment_context>,
// <command-name>), not what the user typed.
std::string prompt_text(std::string_view text) {
  const std::string line = first_line(text);
  return !line.empty() && line.front() == '<' ? std::string() : line;
}

// claude: {"type":"user","message":{"content":"..." | [{"type":"text","text":"..."}]}}
std::string claude_prompt(const json::value& line) {
  if (string_of(member(line, "type")) != "user") return {};
  const json::value* message = member(line, "message");
  const json::value* content = message != nullptr ? member(*message, "content") : nullptr;
  if (content == nullptr) return {};
  if (content->is_string()) return prompt_text(content->get_string());
  if (const json::array* parts = content->if_array())
    for (const auto& part : *parts)
      if (string_of(member(part, "type")) == "text") return prompt_text(string_of(member(part, "text")));
  return {};
}

// codex: {"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text",
// "text":"..."}]}}, or (older versions) {"type":"event_msg","payload":{"type":"user_message","message":"..."}}
std::string codex_prompt(const json::value& line) {
  const std::string_view type = string_of(member(line, "type"));
  const json::value* payload = member(line, "payload");
  if (payload == nullptr) return {};
  if (type == "event_msg" && string_of(member(*payload, "type")) == "user_message")
    return prompt_text(string_of(member(*payload, "message")));
  if (type != "response_item" || string_of(member(*payload, "type")) != "message" ||
      string_of(member(*payload, "role")) != "user")
    return {};
  if (const json::value* content = member(*payload, "content"); content != nullptr && content->is_array())
    for (const auto& part : content->get_array())
      if (string_of(member(part, "type")) == "input_text")
        if (std::string text = prompt_text(string_of(member(part, "text"))); !text.empty()) return text;
  return {};
}

std::string title_of(const SessionFile& file, AgentKind agent) {
  const std::string_view head = std::string_view(file.content).substr(0, title_scan_bytes);
  std::size_t start = 0;
  while (start < head.size()) {
    const std::size_t end = head.find('\n', start);
    if (end == std::string_view::npos) break;  // a line cut by the scan limit
    const std::string_view text = head.substr(start, end - start);
    start = end + 1;
    // Most lines are tool output and instructions: only a line naming the user is parsed.
    if (text.find("\"user") == std::string_view::npos) continue;
    boost::system::error_code ec;
    const json::value line = json::parse(text, ec);
    if (ec) continue;
    std::string title = agent == AgentKind::claude ? claude_prompt(line) : codex_prompt(line);
    if (!title.empty()) return title;
  }
  return {};
}

bool ends_with(std::string_view text, std::string_view tail) {
  return text.size() >= tail.size() && text.substr(text.size() - tail.size()) == tail;
}

}  // namespace

std::vector<SessionInfo> list_sessions(const std::vector<SessionFile>& files) {
  std::vector<SessionInfo> sessions;
  for (const auto& file : files) {
    const std::filesystem::path path(file.path);
    const std::string stem = path.stem().string();
    const std::string& p = file.path;
    SessionInfo info{.modified_unix = file.mtime_unix, .path = detail::printable(p, 200)};
    // .claude/projects/<project>/<id>.jsonl: one conversation each.
    if (p.rfind(".claude/projects/", 0) == 0 && ends_with(p, ".jsonl") && std::count(p.begin(), p.end(), '/') == 3) {
      info.agent = AgentKind::claude;
      info.id = detail::printable(stem, 64);
    } else if (p.rfind(".codex/sessions/", 0) == 0 && ends_with(p, ".jsonl") && stem.rfind("rollout-", 0) == 0) {
      info.agent = AgentKind::codex;
      info.id = detail::printable(stem.size() >= 36 ? stem.substr(stem.size() - 36) : stem, 64);
    } else {
      continue;
    }
    info.title = title_of(file, info.agent);
    sessions.push_back(std::move(info));
  }
  std::stable_sort(sessions.begin(), sessions.end(),
                   [](const SessionInfo& a, const SessionInfo& b) { return a.modified_unix > b.modified_unix; });
  return sessions;
}

std::string sessions_to_text(const std::vector<SessionInfo>& sessions) {
  if (sessions.empty()) return "no saved sessions\n";
  std::string out = fmt::format("{:<36}  {:<6}  {:<20}  {}\n", "ID", "AGENT", "MODIFIED (UTC)", "TITLE");
  for (const auto& s : sessions) {
    const std::time_t when = static_cast<std::time_t>(s.modified_unix);
    std::tm utc{};
    ::gmtime_r(&when, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &utc);
    out += fmt::format("{:<36}  {:<6}  {:<20}  {}\n", s.id, to_string(s.agent), stamp, s.title);
  }
  return out;
}

std::string sessions_to_json(const std::string& name, const std::vector<SessionInfo>& sessions) {
  json::array items;
  for (const auto& s : sessions)
    items.push_back(json::object{{"id", s.id},
                                 {"agent", to_string(s.agent)},
                                 {"modified_unix", s.modified_unix},
                                 {"title", s.title},
                                 {"path", s.path}});
  return json::serialize(json::object{{"bottle", name}, {"sessions", std::move(items)}}) + "\n";
}

}  // namespace bottle
