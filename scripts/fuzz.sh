#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/) with clang + ASan + UBSan in build-fuzz/
# and run each for SECONDS (default 300), two at a time.
#
#   bash scripts/fuzz.sh [SECONDS]           configure, build, run every target
#   bash scripts/fuzz.sh --no-build [SECONDS] run the targets already in build-fuzz/
#   FUZZ_TARGETS="fuzz_jwt fuzz_spec" bash scripts/fuzz.sh 60   run only some
#   FUZZ_JOBS=1 bash scripts/fuzz.sh        one fuzzer at a time (default two)
#
# Each target starts from its hand-made seeds (tests/fuzz/corpus/TARGET/) plus what
# earlier runs found (build-fuzz/corpus/TARGET/, the only corpus it writes to), and
# its dictionary (tests/fuzz/TARGET.dict) if there is one. A crash, leak, UB report
# or timeout leaves the input in build-fuzz/artifacts/TARGET/ and the log in
# build-fuzz/logs/TARGET.log; the script then exits non-zero. Reproduce with
#   build-fuzz/bin/TARGET build-fuzz/artifacts/TARGET/crash-...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Two cores: never more than two fuzzers or compilers at once (FUZZ_JOBS=1 to leave
# a core free for other work).
readonly JOBS="${FUZZ_JOBS:-2}"
BUILD=1
if [[ "${1:-}" == --no-build ]]; then
  BUILD=0
  shift
fi
SECONDS_EACH="${1:-300}"
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || { echo "usage: $0 [--no-build] [SECONDS]" >&2; exit 2; }
read -r -a TARGETS <<<"${FUZZ_TARGETS:-fuzz_jwt fuzz_spec fuzz_docker_ps fuzz_smolvm_ls fuzz_codex_auth fuzz_http_request fuzz_reflect_scrub fuzz_websocket_frames fuzz_broker_request fuzz_content_decoder}"
readonly B=build-fuzz

if [[ $BUILD == 1 ]]; then
  echo "== configure and build $B/ (clang, libFuzzer, ASan+UBSan, -Werror)"
  CC=clang CXX=clang++ cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBOTTLE_WERROR=ON -DBOTTLE_SANITIZE=ON -DBOTTLE_FUZZ=ON -DBOTTLE_BUILD_TESTS=OFF
  cmake --build "$B" -j "$JOBS" --target fuzz
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

run_one() {
  local t="$1" dict=()
  mkdir -p "$B/corpus/$t" "$B/artifacts/$t" "$B/logs"
  [[ -f tests/fuzz/$t.dict ]] && dict=("-dict=tests/fuzz/$t.dict")
  local rc=0
  "$B/bin/$t" "$B/corpus/$t" "tests/fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$B/artifacts/$t/" >"$B/logs/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$B/logs/$t.rc"
}

echo "== fuzzing ${TARGETS[*]}: ${SECONDS_EACH}s each, $JOBS at a time"
for t in "${TARGETS[@]}"; do
  [[ -x "$B/bin/$t" ]] || { echo "missing $B/bin/$t (build first)" >&2; exit 1; }
  rm -f "$B/logs/$t.rc"
  while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
  run_one "$t" &
done
wait

failed=0
printf '%-16s %6s %14s %10s %8s\n' target status execs exec/s corpus
for t in "${TARGETS[@]}"; do
  rc="$(cat "$B/logs/$t.rc" 2>/dev/null || echo '?')"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/logs/$t.log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$B/logs/$t.log" | tail -1)"
  corp="$(find "$B/corpus/$t" -type f | wc -l)"
  status=ok
  if [[ "$rc" != 0 ]]; then
    status=FAILED
    failed=1
  fi
  printf '%-16s %6s %14s %10s %8s\n' "$t" "$status" "${execs:-?}" "${rate:-?}" "$corp"
done
if [[ $failed == 1 ]]; then
  for t in "${TARGETS[@]}"; do
    [[ "$(cat "$B/logs/$t.rc" 2>/dev/null)" == 0 ]] && continue
    echo
    echo "== $t failed (exit $(cat "$B/logs/$t.rc" 2>/dev/null)); end of $B/logs/$t.log:"
    tail -n 40 "$B/logs/$t.log"
    ls -1 "$B/artifacts/$t/" 2>/dev/null || true
  done
  exit 1
fi
echo "== no crashes"
