// Error keeps the field and the problem apart, so callers re-label without
// cutting messages.

#include <catch2/catch.hpp>

#include "bottle/core/error.hpp"
#include "bottle/spec/spec.hpp"
#include "error_of.hpp"

using namespace bottle;

TEST_CASE("error: a field error composes its message from where, field and problem", "[error]") {
  const Error e(ErrorKind::invalid_input, "$.name", "must not be empty", "spec");
  CHECK(std::string(e.what()) == "spec: $.name: must not be empty");
  CHECK(e.field() == "$.name");
  CHECK(e.problem() == "must not be empty");
  CHECK(e.kind() == ErrorKind::invalid_input);
  CHECK(std::string(Error(ErrorKind::usage, "--cpus", "needs a value").what()) == "--cpus: needs a value");
}

TEST_CASE("error: a plain message has no field, its problem is the message", "[error]") {
  const Error e(ErrorKind::backend, "docker: cannot connect: no such file");
  CHECK(e.field().empty());
  CHECK(e.problem() == "docker: cannot connect: no such file");
}

TEST_CASE("error: re-labelled under an argument, the problem is kept whole", "[error]") {
  // A problem that itself contains ": " survives (cutting at the second ": " did not).
  const Error e(ErrorKind::invalid_input, "$.x", "must not contain ': ' or ','", "spec");
  const Error r = e.relabeled("--x", ErrorKind::usage);
  CHECK(std::string(r.what()) == "--x: must not contain ': ' or ','");
  CHECK(r.kind() == ErrorKind::usage);
  CHECK(r.field() == "--x");
  CHECK(e.relabeled("-u").kind() == ErrorKind::invalid_input);
}

TEST_CASE("error: spec validators report the field and the problem separately", "[error][spec]") {
  try {
    validate_user("-root", "$.user");
    FAIL("validate_user accepted -root");
  } catch (const Error& e) {
    CHECK(e.field() == "$.user");
    CHECK(e.problem() == "must match [a-z0-9_][a-z0-9_-]*");
    CHECK(std::string(e.what()) == "spec: $.user: must match [a-z0-9_][a-z0-9_-]*");
  }
}

TEST_CASE("bottle_name_problem: answers without throwing, and validate_bottle_name agrees", "[error][spec]") {
  CHECK_FALSE(bottle_name_problem("api-work"));
  CHECK(bottle_name_problem("") == "must not be empty");
  CHECK(bottle_name_problem("a--b") == "must not contain \"--\"");
  CHECK(bottle_name_problem("../x") == "may contain only lowercase letters, digits, '-' and '_'");
  CHECK(bottle_name_problem("-a") == "must start and end with a lowercase letter or digit");
  CHECK(bottle_name_problem(std::string(49, 'a')) == "must be at most 48 characters");
  CHECK(error_of([] { validate_bottle_name("a--b", "NAME"); }) == "spec: NAME: must not contain \"--\"");
}
