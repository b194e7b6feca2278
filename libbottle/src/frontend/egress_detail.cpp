#include "bottle/frontend/egress_detail.hpp"

#include <fmt/format.h>

#include "core/json_reader.hpp"

namespace bottle {

namespace {

// Every line goes through here, so nothing wider than the screen reaches curses
// (which would wrap it onto the next line).
std::string cut(std::string text, std::size_t width) {
  if (text.size() <= width) return text;
  if (width <= 1) return text.substr(0, width);
  text.resize(width - 1);
  return text + "~";
}

}  // namespace

std::vector<EgressDetailLine> egress_detail_lines(const std::vector<AuditRecord>& records, std::size_t width,
                                                  std::size_t height) {
  std::vector<EgressDetailLine> lines;
  if (width == 0 || height == 0) return lines;
  if (records.empty()) {
    lines.push_back({cut("no egress records yet", width), false});
    return lines;
  }
  const std::size_t first = records.size() > height ? records.size() - height : 0;
  for (std::size_t i = first; i < records.size(); ++i) {
    const AuditRecord& r = records[i];
    lines.push_back({cut(format_audit_record(r), width), r.action == "blocked" || r.action == "refused"});
  }
  return lines;
}

std::string egress_detail_title(std::string_view name, std::size_t count, std::size_t width) {
  return cut(fmt::format(" egress log: {}  {} record{}, newest last  (l, Esc or q: back)", detail::printable(name),
                         count, count == 1 ? "" : "s"),
             width);
}

}  // namespace bottle
