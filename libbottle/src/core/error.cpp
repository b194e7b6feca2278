#include "bottle/core/error.hpp"

namespace bottle {

int exit_code_for(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return exit_code::usage;
    case ErrorKind::invalid_input: return exit_code::invalid_input;
    case ErrorKind::not_found: return exit_code::not_found;
    case ErrorKind::conflict: return exit_code::conflict;
    case ErrorKind::isolation: return exit_code::isolation;
    case ErrorKind::program_missing: return exit_code::could_not_start;
    case ErrorKind::backend:
    case ErrorKind::io:
    case ErrorKind::internal: return exit_code::failure;
  }
  return exit_code::failure;
}

}  // namespace bottle
