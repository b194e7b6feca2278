#!/usr/bin/env bash
# One-command test run (what .ci/run calls). Works on a fresh clone of a fresh
# Debian 12 machine, run as root:
#   packages -> build with -Werror -> Docker engine -> test images -> ctest
#
# Env: BOTTLE_TEST_SANITIZE=1  also build with ASan+UBSan (build-asan/) and
#                              run the unit tests there
#      CTEST_ARGS              extra ctest arguments, e.g. "-L unit"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

readonly JOBS=2 # the CI machines have two cores

heading() { printf '\n==== %s ====\n' "$*"; }

build() {
  local dir="$1"
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOTTLE_WERROR=ON "$@"
  cmake --build "$dir" -j "$JOBS"
}

# ---- sanitizer run (ASan + UBSan): unit tests only, opt-in for now ----------
sanitize_run() {
  heading "sanitizers: build-asan with ASan+UBSan, unit tests"
  build build-asan -DBOTTLE_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -L unit -j "$JOBS"
}

heading "install Debian packages"
bash scripts/install-deps.sh

heading "configure and build (build/, -Werror)"
build build -DBOTTLE_SANITIZE=OFF

heading "start the Docker engine"
bash scripts/start-dockerd.sh

heading "build test images (bottle-test, bottle-test-codex)"
bash images/test/build.sh --all
bash images/egress/build.sh

heading "ctest: unit and integration tests"
# shellcheck disable=SC2086 # CTEST_ARGS is a list of words on purpose
ctest --test-dir build --output-on-failure ${CTEST_ARGS:-}

if [[ "${BOTTLE_TEST_SANITIZE:-0}" == 1 ]]; then
  sanitize_run
fi

heading "all tests passed"
