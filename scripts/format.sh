#!/usr/bin/env bash
# Formats every tracked C/C++ file in place with clang-format (the root .clang-format).
#
# Usage: scripts/format.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/format-files.sh
source "$ROOT/scripts/format-files.sh"
require_clang_format
cd "$ROOT"

format_files | xargs -0 --no-run-if-empty -n 20 -P 2 clang-format --style=file -i
