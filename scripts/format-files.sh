# Lists the tracked C/C++ sources clang-format covers, NUL-separated. Sourced by
# scripts/check-format.sh and scripts/format.sh; do not run it.
# shellcheck shell=bash

format_files() {
  git -C "$ROOT" ls-files -z -- '*.cpp' '*.hpp' '*.cc' '*.h' '*.c'
}

require_clang_format() {
  command -v clang-format >/dev/null 2>&1 || {
    echo "clang-format missing; run scripts/install-deps.sh" >&2
    exit 2
  }
}
