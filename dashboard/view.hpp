#pragma once
// The curses view of a DashboardModel: draws one frame on stdscr and translates
// curses key codes into the model's keys. Holds no state of its own.

#include <cstdint>

#include "bottle/frontend/dashboard_model.hpp"

namespace bottle::dashboard {

/// Draw the whole screen (title, header, rows, status line, key hints / prompt,
/// help overlay) into stdscr and push it to the terminal.
void draw(DashboardModel& model, std::int64_t now, bool inside_tmux);
/// A curses key (KEY_UP, KEY_ENTER, ...) as a dash_key or printable character;
/// -1 for keys the model ignores.
int translate_key(int curses_key);

}  // namespace bottle::dashboard
