#pragma once
// The side-channel command that resizes the guest's PTYs.
//
// smolvm 0.8.0 `machine exec -t` on an image machine starts the guest PTY at 0x0 and
// never forwards host resizes into it. A second, non-TTY exec into the same machine can
// resize the PTY slave directly with `stty -F`; the guest kernel then raises SIGWINCH in
// the session. The session's pts number is unknown from outside, so every pts is resized.

#include <string>
#include <string_view>
#include <vector>

#include "window_size.hpp"

namespace pty_resize {

/// The guest shell script: `for f in /dev/pts/*; do stty -F $f cols X rows Y; done`.
[[nodiscard]] std::string stty_loop_script(WindowSize size);

/// The full side-channel argv, exactly:
///   {smolvm, "machine", "exec", "--name", machine, "--", "sh", "-c", stty_loop_script(size)}
/// `smolvm` is the program to run (normally the wrapped child's argv[0]).
[[nodiscard]] std::vector<std::string> side_channel_argv(std::string_view smolvm, std::string_view machine,
                                                         WindowSize size);

}  // namespace pty_resize
