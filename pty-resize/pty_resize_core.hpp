#pragma once
// Umbrella header for pty_resize_core: the pure (syscall-free) logic of the
// pty-resize helper. Each concept lives in its own header:
//
//   cli_request.hpp          parse_cli(): argv -> CliRequest | UsageError
//   window_size.hpp          WindowSize and select_window_size() (stdin/stdout/stderr fallback)
//   side_channel_command.hpp side_channel_argv(): the `smolvm machine exec ... stty` argv
//   resize_coalescer.hpp     ResizeCoalescer: at most one side-channel in flight, last size wins
//   exit_status.hpp          exit_code_from_wait_status(): waitpid status -> exit code
//
// None of these functions perform I/O, read the environment or exit.

#include "cli_request.hpp"
#include "exit_status.hpp"
#include "resize_coalescer.hpp"
#include "side_channel_command.hpp"
#include "window_size.hpp"
