#pragma once
// Errors libbottle reports. Library code never exits: it throws bottle::Error, and
// each executable's main catches once and maps Error::kind() to an exit code
// (see exit_code_for()).

#include <stdexcept>
#include <string>

namespace bottle {

enum class ErrorKind {
  usage,        ///< bad command-line arguments
  invalid_input,///< a spec, flag value, host file or env value failed validation
  not_found,    ///< the named bottle (or a file bottle needs) does not exist
  conflict,     ///< the bottle already exists, or is in the wrong state
  backend,      ///< the engine (docker, smolvm) failed or could not be run
  isolation,    ///< egress or network isolation could not be set up: fail closed
  io,           ///< reading or writing bottle's own files failed
  internal,     ///< a broken invariant
};

/// The exception libbottle throws. what() is the whole human-readable message and
/// never contains a secret.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// Exit codes shared by bottle-cli and bottle-dashboard (documented in the README).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failure = 1;       ///< backend or runtime failure
inline constexpr int usage = 2;         ///< bad command line
inline constexpr int invalid_input = 3; ///< spec or input validation failed
inline constexpr int not_found = 4;     ///< no such bottle
inline constexpr int conflict = 5;      ///< already exists / wrong state
inline constexpr int isolation = 6;     ///< egress or isolation could not be set up
inline constexpr int could_not_start = 125; ///< a program bottle runs could not be started
}  // namespace exit_code

int exit_code_for(ErrorKind kind) noexcept;

}  // namespace bottle
