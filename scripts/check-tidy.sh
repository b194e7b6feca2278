#!/usr/bin/env bash
# Runs clang-tidy (the root .clang-tidy) over the first-party sources, every
# finding an error, two files at a time. Needs a configured build directory for
# its compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS is on in cmake/).
#
# Usage: scripts/check-tidy.sh [BUILD_DIR] [FILE...]
#   BUILD_DIR  default build
#   FILE...    check only these (default: every .cpp under the checked directories)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The product code, plus the test doubles the integration tests run as programs.
readonly CHECKED_DIRS=(libbottle cli dashboard pty-resize tests/fakes)
readonly JOBS=2

build_dir="${1:-build}"
shift || true
[[ -f "$build_dir/compile_commands.json" ]] ||
  { echo "$build_dir/compile_commands.json missing; configure first (cmake -S . -B $build_dir)" >&2; exit 2; }
command -v clang-tidy >/dev/null 2>&1 || { echo "clang-tidy missing; run scripts/install-deps.sh" >&2; exit 2; }

if (($# > 0)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- "${CHECKED_DIRS[@]/%//*.cpp}")
fi

log="$(mktemp "${TMPDIR:-/tmp}/bottle-tidy.XXXXXX")"
trap 'rm -f "$log"' EXIT

# Findings go to stdout as they come; clang-tidy's "N warnings generated" chatter
# (stderr, even with --quiet) is dropped.
status=0
printf '%s\0' "${files[@]}" |
  xargs -0 -n 1 -P "$JOBS" clang-tidy -p "$build_dir" --quiet --warnings-as-errors='*' 2>/dev/null |
  tee "$log" || status=$?

if ((status != 0)); then
  findings="$(grep -cE '(warning|error): .*\[[a-z0-9.,*-]+\]$' "$log" || true)"
  echo "clang-tidy: $findings finding(s) in ${#files[@]} file(s) checked" >&2
  exit 1
fi
echo "clang-tidy: ${#files[@]} file(s) clean"
