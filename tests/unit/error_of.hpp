#pragma once
// The message of the bottle::Error a call throws, for tests of error paths.

#include <catch2/catch.hpp>

#include <string>

#include "bottle/core/error.hpp"

/// The message of the bottle::Error that `fn` throws, checking its kind; fails the
/// test when `fn` throws nothing.
template <typename Fn>
std::string error_of(Fn&& fn, bottle::ErrorKind kind = bottle::ErrorKind::invalid_input) {
  try {
    fn();
  } catch (const bottle::Error& e) {
    CHECK(e.kind() == kind);
    return e.what();
  }
  FAIL("expected a bottle::Error, and nothing was thrown");
  return {};
}
