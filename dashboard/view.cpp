#include "view.hpp"

#include <curses.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bottle/frontend/dashboard_table.hpp"
#include "bottle/frontend/egress_detail.hpp"

namespace bottle::dashboard {

namespace {

// Curses takes int lengths and positions; clamp once here.
void put(int y, int x, const std::string& text, int width) {
  if (width <= 0 || y < 0 || y >= LINES) return;
  mvaddnstr(y, x, text.c_str(), std::min(width, static_cast<int>(text.size())));
}

std::string fit(const std::string& text, std::size_t width) {
  if (text.size() <= width) return text + std::string(width - text.size(), ' ');
  if (width <= 1) return text.substr(0, width);
  return text.substr(0, width - 1) + "~";
}

void draw_help() {
  static const char* const lines[] = {
      "bottle-dashboard keys",
      "",
      "  Up/Down, k/j   move       PgUp/PgDn, g/G  page, first/last",
      "  Enter          attach: run the agent (tmux: in a pane)",
      "  r              resume: <agent> --continue || <agent>",
      "  s              stop the bottle",
      "  d              remove the bottle (asks y/n)",
      "  f              fetch the bottle's commits (clone mode)",
      "  /              filter (type; Enter keeps, Esc clears)",
      "  l              egress log of the bottle (l, Esc or q: back)",
      "  ?              this help          q  quit",
      "",
      "  any key closes this help",
  };
  const int height = static_cast<int>(std::size(lines)) + 2;
  const int width = std::min(COLS - 2, 66);
  const int top = std::max((LINES - height) / 2, 0);
  const int left = std::max((COLS - width) / 2, 0);
  for (int row = 0; row < height && top + row < LINES; ++row) {
    move(top + row, left);
    for (int col = 0; col < width; ++col) addch(' ');
  }
  for (int i = 0; i < static_cast<int>(std::size(lines)); ++i) put(top + 1 + i, left + 1, lines[i], width - 2);
}

// The open egress log in place of the table: its latest records, newest at the
// bottom, blocked and refused ones bold.
void draw_egress_log(const DashboardModel& model) {
  const auto cols = static_cast<std::size_t>(std::max(COLS, 1));
  attron(A_REVERSE);
  put(0, 0, fit(egress_detail_title(model.egress_log_bottle(), model.egress_log().size(), cols), cols), COLS);
  attroff(A_REVERSE);
  const auto body = static_cast<std::size_t>(std::max(LINES - 3, 1));
  const auto lines = egress_detail_lines(model.egress_log(), cols, body);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].alert) attron(A_BOLD);
    put(1 + static_cast<int>(i), 0, lines[i].text, COLS);
    if (lines[i].alert) attroff(A_BOLD);
  }
}

}  // namespace

void draw(DashboardModel& model, std::int64_t now, bool inside_tmux) {
  erase();
  if (model.mode() == DashMode::egress_log) {
    draw_egress_log(model);
    if (model.status_is_error()) attron(A_BOLD);
    put(LINES - 2, 0, model.status(), COLS);
    if (model.status_is_error()) attroff(A_BOLD);
    put(LINES - 1, 0, "l, Esc or q: back to the list", COLS);
    curs_set(0);
    refresh();
    return;
  }
  const auto& rows = model.visible();

  // The table's lines, laid out to the screen's width (dashboard_table.hpp).
  const auto cols = static_cast<std::size_t>(std::max(COLS, 1));
  const auto lines = dash_table_lines(rows, now, cols);

  std::string title = " bottle-dashboard  " + std::to_string(rows.size()) + "/" + std::to_string(model.rows().size()) +
                      " bottles" + (model.filter().empty() ? "" : "  filter: " + model.filter()) +
                      (inside_tmux ? "  [tmux]" : "");
  attron(A_REVERSE);
  put(0, 0, fit(title, cols), COLS);
  attroff(A_REVERSE);
  attron(A_BOLD);
  put(1, 0, lines.front(), COLS);
  attroff(A_BOLD);

  const int body = std::max(LINES - 4, 1);
  const int top = model.scroll_top(body);
  if (rows.empty()) put(2, 0, model.rows().empty() ? "no bottles" : "no bottle matches the filter", COLS);
  for (int i = 0; i < body && top + i < static_cast<int>(rows.size()); ++i) {
    const bool selected = top + i == model.selected_index();
    // A bottle that changed protected workspace paths, or whose requests egress blocked lately, stands out.
    const auto& shown_row = rows[static_cast<std::size_t>(top + i)];
    const bool alert = shown_row.workspace_changes.value_or(0) > 0 ||
                       (shown_row.egress_activity && shown_row.egress_activity->blocked > 0);
    if (selected) attron(A_REVERSE);
    if (alert) attron(A_BOLD);
    put(2 + i, 0, lines[static_cast<std::size_t>(top + i) + 1], COLS);
    if (alert) attroff(A_BOLD);
    if (selected) attroff(A_REVERSE);
  }

  if (model.status_is_error()) attron(A_BOLD);
  put(LINES - 2, 0, model.status(), COLS);
  if (model.status_is_error()) attroff(A_BOLD);

  std::string prompt;
  switch (model.mode()) {
    case DashMode::filter: prompt = "/" + model.filter(); break;
    case DashMode::confirm_remove: prompt = "remove " + model.confirm_target() + "? (y/n)"; break;
    default:
      prompt = "Enter attach  r resume  s stop  d remove  f fetch  l egress log  / filter  ? help  q quit";
      break;
  }
  put(LINES - 1, 0, prompt, COLS);
  if (model.mode() == DashMode::help) draw_help();
  if (model.mode() == DashMode::filter) {
    curs_set(1);
    move(LINES - 1, std::min(static_cast<int>(prompt.size()), COLS - 1));
  } else {
    curs_set(0);
  }
  refresh();
}

int translate_key(int key) {
  switch (key) {
    case KEY_UP: return dash_key::up;
    case KEY_DOWN: return dash_key::down;
    case KEY_PPAGE: return dash_key::page_up;
    case KEY_NPAGE: return dash_key::page_down;
    case KEY_HOME: return dash_key::home;
    case KEY_END: return dash_key::end;
    case KEY_ENTER:
    case '\r':
    case '\n': return dash_key::enter;
    case KEY_BACKSPACE:
    case 127:
    case 8: return dash_key::backspace;
    case KEY_RESIZE: return dash_key::resize;
    case 27: return dash_key::escape;
    default: return key >= 32 && key <= 126 ? key : -1;
  }
}

}  // namespace bottle::dashboard
