#pragma once
// Errors libbottle reports. Library code never exits: it throws bottle::Error, and
// each executable's main catches once and maps Error::kind() to an exit code
// (see exit_code_for()).

#include <stdexcept>
#include <string>
#include <string_view>

namespace bottle {

enum class ErrorKind {
  usage,          ///< bad command-line arguments
  invalid_input,  ///< a spec, flag value, host file or env value failed validation
  not_found,      ///< the named bottle (or a file bottle needs) does not exist
  conflict,       ///< the bottle already exists, or is in the wrong state
  backend,        ///< the engine (docker, smolvm) failed or could not be run
  isolation,      ///< egress or network isolation could not be set up: fail closed
  io,             ///< reading or writing bottle's own files failed
  internal,       ///< a broken invariant
  /// A program bottle runs (the engine's CLI: docker, smolvm, kubectl, podman) could
  /// not be started at all: not installed, not on PATH, not executable. Exit 125.
  program_missing,
};

/// The exception libbottle throws. what() is the whole human-readable message and
/// never contains a secret.
///
/// An error about one field (a spec key, a flag, a file's JSON path) keeps the field
/// and the problem apart, so a caller can put the problem under another name (a
/// spec field re-labelled as the command-line argument that set it) without taking
/// the message apart: what() is "[WHERE: ]FIELD: PROBLEM".
class Error : public std::runtime_error {
 public:
  /// An error with no particular field: field() is "", problem() is the message.
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind), problem_(message) {}
  /// An error about `field`; `where` names the document it is in ("spec", a file).
  Error(ErrorKind kind, std::string field, std::string problem, std::string_view where = {})
      : std::runtime_error(compose(field, problem, where)),
        kind_(kind),
        field_(std::move(field)),
        problem_(std::move(problem)) {}

  ErrorKind kind() const noexcept { return kind_; }
  /// The field, flag or argument it is about; "" when none.
  const std::string& field() const noexcept { return field_; }
  /// What is wrong, without the field ("must be an absolute path").
  const std::string& problem() const noexcept { return problem_; }

  /// The same problem about `field` ("--user: must match ..."), of `kind`.
  Error relabeled(std::string field, ErrorKind kind) const { return Error(kind, std::move(field), problem_); }
  Error relabeled(std::string field) const { return relabeled(std::move(field), kind_); }

 private:
  static std::string compose(std::string_view field, std::string_view problem, std::string_view where) {
    std::string message;
    if (!where.empty()) message.append(where).append(": ");
    if (!field.empty()) message.append(field).append(": ");
    return message.append(problem);
  }

  ErrorKind kind_;
  std::string field_;
  std::string problem_;
};

/// Exit codes shared by bottle-cli and bottle-dashboard (documented in the README).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failure = 1;            ///< backend or runtime failure
inline constexpr int usage = 2;              ///< bad command line
inline constexpr int invalid_input = 3;      ///< spec or input validation failed
inline constexpr int not_found = 4;          ///< no such bottle
inline constexpr int conflict = 5;           ///< already exists / wrong state
inline constexpr int isolation = 6;          ///< egress or isolation could not be set up
inline constexpr int could_not_start = 125;  ///< a program bottle runs could not be started
}  // namespace exit_code

int exit_code_for(ErrorKind kind) noexcept;

}  // namespace bottle
