#include "side_channel_command.hpp"

namespace pty_resize {

std::string stty_loop_script(WindowSize size) {
  return "for f in /dev/pts/*; do stty -F $f cols " + std::to_string(size.cols) + " rows " + std::to_string(size.rows) +
         "; done";
}

std::vector<std::string> side_channel_argv(std::string_view smolvm, std::string_view machine, WindowSize size) {
  // No -t/-i: the side-channel must not touch the user's terminal or take its stdin.
  return {std::string(smolvm),   "machine", "exec", "--name", std::string(machine), "--", "sh", "-c",
          stty_loop_script(size)};
}

}  // namespace pty_resize
