#!/usr/bin/env bash
# Fails, listing the files, when a tracked C/C++ file differs from what clang-format
# (the root .clang-format) would make of it. Changes nothing; scripts/format.sh fixes.
#
# Usage: scripts/check-format.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/format-files.sh
source "$ROOT/scripts/format-files.sh"
require_clang_format
cd "$ROOT"

# One clang-format per file (two at a time) so each drifted file is named once.
# shellcheck disable=SC2016 # $1 belongs to the inner sh
mapfile -t drifted < <(
  format_files | xargs -0 --no-run-if-empty -n 1 -P 2 sh -c \
    'clang-format --style=file --dry-run -Werror "$1" >/dev/null 2>&1 || printf "%s\n" "$1"' sh |
    sort
)

if ((${#drifted[@]} > 0)); then
  echo "clang-format drift in ${#drifted[@]} file(s):" >&2
  printf '  %s\n' "${drifted[@]}" >&2
  echo "fix with: bash scripts/format.sh" >&2
  exit 1
fi
echo "clang-format: every tracked C/C++ file is formatted"
