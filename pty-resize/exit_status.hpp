#pragma once
// Mapping a child's wait status to pty-resize's own exit code.

namespace pty_resize {

/// Converts a waitpid() status into the exit code pty-resize reports, as shells do:
/// exited with N -> N; killed by signal N -> 128 + N. Any other status (stopped,
/// continued) is not expected from a blocking waitpid without WUNTRACED and maps to 1.
[[nodiscard]] int exit_code_from_wait_status(int wait_status);

}  // namespace pty_resize
