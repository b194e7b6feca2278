#!/usr/bin/env bash
# Every benchmark, one command. Builds a Release tree, runs each benchmark and prints
# Markdown tables for BENCHMARKS.md on stdout (also kept in BUILD/bench/results.md);
# progress goes to stderr. Figures only: nothing here asserts a target.
#
#   bash bench/run.sh [--quick] [--no-build] [--profile] [SECTION...]
#
# SECTIONS (default: all, in this order): startup ls exec startcheck pty dashboard workspace egress memory
#   --quick     fewer rounds (a smoke run; figures are rougher)
#   --no-build  use the existing build tree as it is
#   --profile   also run egress under cProfile and print where its time goes
# Environment: BENCH_BUILD_DIR (default build-rel).
#
# Each comparison runs bottle and its baseline interleaved, round by round, and reports
# the median and p10-p90 of the times and of the per-round ratio bottle/baseline.
# It needs root (Docker, apt-get for missing tools) and a Docker engine (started with
# scripts/start-dockerd.sh when none answers). Docker objects it creates are named
# bottle-bench-* (bottles named bench-*) and are removed on exit, whatever happens.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-rel}
QUICK=0 NO_BUILD=0 PROFILE=0
SECTIONS=()
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --no-build) NO_BUILD=1 ;;
    --profile) PROFILE=1 ;;
    startup | ls | exec | startcheck | pty | dashboard | workspace | egress | memory) SECTIONS+=("$arg") ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#SECTIONS[@]} -gt 0 ]] || SECTIONS=(startup ls exec startcheck pty dashboard workspace egress memory)
want() { [[ " ${SECTIONS[*]} " == *" $1 "* ]]; }

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }
# n FULL QUICK: a round count.
n() { if [[ $QUICK -eq 1 ]]; then echo "$2"; else echo "$1"; fi; }

# --- prerequisites ----------------------------------------------------------------------
prerequisites() {
  local missing=() cmd pkg
  for pair in cmake:cmake ninja:ninja-build c++:g++ docker:docker.io tmux:tmux mitmdump:mitmproxy \
              openssl:openssl /usr/bin/python3:python3 awk:mawk; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $(id -u) -eq 0 ]] || die "missing packages: ${missing[*]} (install them, or run as root)"
    say "installing ${missing[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2; then
      die "apt-get install ${missing[*]} failed"
    fi
  fi
  if want ls || want exec || want startcheck || want memory; then
    [[ $(id -u) -eq 0 ]] || die "the Docker benchmarks need root"
    docker info >/dev/null 2>&1 || bash "$ROOT/scripts/start-dockerd.sh" >&2 || die "no Docker engine"
    bash "$ROOT/images/test/build.sh" >&2 || die "images/test/build.sh failed"
  fi
}

build() {
  if [[ $NO_BUILD -eq 0 ]]; then
    say "building $BUILD (Release)"
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2 ||
      die "cmake configure failed (missing libraries? run scripts/install-deps.sh)"
    nice -n 10 cmake --build "$BUILD" -j2 --target bottle-cli bottle-dashboard bottle-egress pty-resize \
      dashboard_bench bench_cmp bench_fixture workspace_scan_bench >&2
  fi
  for exe in bottle-cli bottle-dashboard bottle-egress pty-resize dashboard_bench bench_cmp bench_fixture \
    workspace_scan_bench; do
    [[ -x $BUILD/bin/$exe ]] || die "$BUILD/bin/$exe missing (build first, or drop --no-build)"
  done
  if want ls || want exec || want startcheck || want memory; then
    bash "$ROOT/images/egress/build.sh" --binary "$BUILD/bin/bottle-egress" >&2 || die "images/egress/build.sh failed"
  fi
}

# --- state and clean-up -------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bottle-bench.XXXXXX")
CONTAINERS=$WORK/containers   # every container name this run created (or tried to)
REAL_BOTTLES=$WORK/bottles     # HOME<TAB>NAME of bottles made with bottle-cli create
: >"$CONTAINERS"
: >"$REAL_BOTTLES"
cleanup() {
  local home name
  set +e
  while IFS=$'\t' read -r home name; do
    BOTTLE_HOME=$home "$BUILD/bin/bottle-cli" rm -f "$name" >/dev/null 2>&1
  done <"$REAL_BOTTLES"
  if [[ -s $CONTAINERS ]]; then
    xargs -r docker rm -f <"$CONTAINERS" >/dev/null 2>&1
  fi
  # Networks of real bottles (bottle-cli rm removes them; this catches a half-made one).
  while IFS=$'\t' read -r home name; do
    docker network rm "bottle-$name-net" >/dev/null 2>&1
  done <"$REAL_BOTTLES"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CLI=$BUILD/bin/bottle-cli
CMP=$BUILD/bin/bench_cmp
FIXTURE=$BUILD/bin/bench_fixture
WS=$WORK/workspace
mkdir -p "$WS"

# bench_cmp TSV -> Markdown rows: command | runs | median | p10-p90 | ratio | added.
cmp_rows() {
  awk -F'\t' '{
    if (NR == 1) base = $3
    ratio = NR == 1 ? "1 (baseline)" : sprintf("**%.2f×** (%.2f–%.2f)", $8, $9, $10)
    added = NR == 1 ? "" : sprintf("%+.2f", $3 - base)
    printf "| %s | %d | %.2f | %.2f–%.2f | %s | %s |\n", $1, $2, $3, $4, $5, ratio, added
  }'
}
CMP_HEADER='| command | runs | median ms | p10–p90 ms | ratio to baseline, per round: median (p10–p90) | added ms (medians) |
|---|---|---|---|---|---|'

# real_bottle HOME NAME [CREATE FLAGS...]: bottle-cli create, recorded for clean-up.
real_bottle() {
  local home=$1 name=$2
  shift 2
  printf '%s\t%s\n' "$home" "$name" >>"$REAL_BOTTLES"
  printf 'bottle-%s\nbottle-%s-egress\n' "$name" "$name" >>"$CONTAINERS"
  BOTTLE_HOME=$home "$CLI" create --name "$name" --image bottle-test:latest -w "$WS" "$@" >&2 ||
    die "bottle-cli create $name failed"
}

# --- sections ----------------------------------------------------------------------------
section_machine() {
  local ram
  ram=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $ram RAM," \
    "Linux $(uname -r), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release); Docker" \
    "$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'), mitmproxy" \
    "$(dpkg-query -W -f '${Version}' mitmproxy 2>/dev/null || echo '?'). $(date -u +%Y-%m-%d)," \
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
}

section_startup() {
  say "start-up"
  local home=$WORK/cfg-home
  "$FIXTURE" specs "$home" 1 bench-cfg docker
  echo "### Start-up"
  echo
  echo "Target: \`bottle-cli\` median ≤ 5 ms. Baseline: \`docker --version\` (the Docker CLI starting)."
  echo
  echo "$CMP_HEADER"
  BOTTLE_HOME=$home "$CMP" -n "$(n 100 20)" -w 5 \
    'docker --version' -- docker --version ::: \
    'bottle-cli --version' -- "$CLI" --version ::: \
    'bottle-cli config show bench-cfg000' -- "$CLI" config show bench-cfg000 | cmp_rows
  echo
}

# Adds bottles to LS_HOME until it holds $1. The first is made by `bottle-cli create
# --no-start` (network, bottle container, egress container, spec, egress state); the
# rest are what `ls` reads of such a bottle: its spec (the first one's, renamed) and its
# two containers with bottle's labels. Docker's default address pools hold about 30
# networks, so 100 real bottles' networks would not fit; `ls` never looks at networks.
LS_HOME=
ls_count=0
grow_ls() {
  local want=$1 name
  if [[ $ls_count -eq 0 ]]; then
    LS_HOME=$WORK/ls-home
    real_bottle "$LS_HOME" bench-ls000 --no-start
    ls_count=1
  fi
  while [[ $ls_count -lt $want ]]; do
    name=$(printf 'bench-ls%03d' "$ls_count")
    printf 'bottle-%s\nbottle-%s-egress\n' "$name" "$name" >>"$CONTAINERS"
    docker create --name "bottle-$name" --hostname "$name" --label io.bottle.managed=1 \
      --label "io.bottle.name=$name" --label io.bottle.role=bottle --network none \
      --entrypoint /bin/sh bottle-test:latest -c true >/dev/null
    docker create --name "bottle-$name-egress" --hostname egress --label io.bottle.managed=1 \
      --label "io.bottle.name=$name" --label io.bottle.role=egress --network none \
      bottle-egress:latest --help >/dev/null
    sed "s/\"bench-ls000\"/\"$name\"/" "$LS_HOME/config/bottles/bench-ls000.json" \
      >"$LS_HOME/config/bottles/$name.json"
    chmod 600 "$LS_HOME/config/bottles/$name.json"
    ls_count=$((ls_count + 1))
  done
}

# The fast-made bottles must look to `ls` exactly like the real one.
check_ls_fidelity() {
  BOTTLE_HOME=$LS_HOME "$CLI" ls --json | /usr/bin/python3 -c '
import json, sys
rows = {r["name"]: r for r in json.load(sys.stdin)}
mine = {k: v for k, v in rows.items() if k.startswith("bench-ls")}
def shape(r): return {k: v for k, v in r.items() if k not in ("name", "created", "created_unix", "age", "workspace")}
real = shape(mine["bench-ls000"])
bad = [k for k, v in mine.items() if shape(v) != real]
sys.exit(f"ls shows fast-made bottles differently: {bad[:3]} vs {real}" if bad else 0)
' || die "fast-made bottles differ from the real one in ls"
}

section_ls() {
  say "ls"
  local format list_argv count
  # Exactly DockerCommands::list_argv().
  format='{{.Label "io.bottle.name"}}	{{.State}}	{{.CreatedAt}}	{{.Label "io.bottle.role"}}'
  list_argv=(docker ps -a --no-trunc --filter label=io.bottle.managed=1 --format "$format")
  echo "### \`bottle-cli ls --json\` vs \`docker ps\`"
  echo
  echo "Target: ≤ 1.3× at 100 bottles. Baseline: the one \`${list_argv[*]:0:6} --format ...\` that"
  echo "\`ls\` runs (its exact argv). Bottles are created, not started (two containers each: the"
  echo "bottle and its egress); \"listed\" counts every container with bottle's label, including"
  echo "any other user's."
  echo
  echo "$CMP_HEADER"
  for bottles in 1 10 100; do
    say "ls: $bottles bottles"
    grow_ls "$bottles"
    [[ $bottles -eq 10 ]] && check_ls_fidelity
    count=$("${list_argv[@]}" | wc -l)
    BOTTLE_HOME=$LS_HOME "$CMP" -n "$(n 30 8)" -w 2 \
      "bottles: $bottles ($count listed): docker ps" -- "${list_argv[@]}" ::: \
      "bottles: $bottles ($count listed): bottle-cli ls --json" -- "$CLI" ls --json | cmp_rows
  done
  echo
}

section_exec() {
  say "exec"
  local home=$WORK/exec-home
  real_bottle "$home" bench-exec
  echo "### Agent launch: \`bottle-cli exec\` vs \`docker exec\`"
  echo
  echo "Target: ≤ 1.1×. A running bottle (image bottle-test, egress on). \`bottle-cli exec NAME -- true\`"
  echo "runs one \`docker exec -i -w /workspace -e ... -u node CONTAINER true\`; the baseline is the bare"
  echo "\`docker exec CONTAINER true\`."
  echo
  echo "$CMP_HEADER"
  BOTTLE_HOME=$home "$CMP" -n "$(n 30 8)" -w 2 \
    'docker exec bottle-bench-exec true' -- docker exec bottle-bench-exec true ::: \
    'bottle-cli exec bench-exec -- true' -- "$CLI" exec bench-exec -- true | cmp_rows
  echo
}

# What the network canaries add to `start`: the same bottle (egress on) started with and
# without them, interleaved; each round also stops it again, which costs both sides the same.
# The agent image has node, which runs the probe as the product does; bottle-test
# (busybox) stands in when it is missing, and its nc waits whole seconds.
section_startcheck() {
  say "start check"
  local home=$WORK/startcheck-home image=bottle-agent:latest name=bench-startchk
  docker image inspect "$image" >/dev/null 2>&1 || image=bottle-test:latest
  printf '%s\t%s\n' "$home" "$name" >>"$REAL_BOTTLES"
  printf 'bottle-%s\nbottle-%s-egress\n' "$name" "$name" >>"$CONTAINERS"
  BOTTLE_HOME=$home "$CLI" create --name "$name" --image "$image" -w "$WS" --no-start >&2 ||
    die "bottle-cli create $name failed"
  echo "### Fail-closed start: what the network canaries add to \`start\`"
  echo
  echo "Target: < 300 ms added. One bottle (image $image, egress on, a workspace) started each round,"
  echo "with \`--no-check\` (baseline) and with its network canaries (one exec probing every public,"
  echo "host and egress target at once, 0.3 s each, while the bottle is provisioned). The bottle is"
  echo "stopped before every timed start, untimed, so only \`start\` is in the figure."
  echo
  echo "$CMP_HEADER"
  BOTTLE_HOME=$home "$CMP" -n "$(n 20 4)" -w 1 --before "\"$CLI\" stop $name >/dev/null 2>&1 || true" \
    'start --no-check' -- "$CLI" start --no-check "$name" ::: \
    'start (checked)' -- "$CLI" start "$name" | cmp_rows
  echo
}

section_pty() {
  say "pty-resize"
  local storms out pushes landed
  echo "### pty-resize"
  echo
  echo "Start-up: a whole run of \`/bin/true\`, direct vs through \`pty-resize m -- /bin/true\` (no"
  echo "terminal, so no side-channel runs: the wrapper's own cost)."
  echo
  echo "$CMP_HEADER"
  "$CMP" -n "$(n 300 50)" -w 10 \
    '/bin/true' -- /bin/true ::: \
    'pty-resize m -- /bin/true' -- "$BUILD/bin/pty-resize" m -- /bin/true | cmp_rows
  echo
  storms=$(n 5 2)
  pushes=() landed=()
  for ((i = 0; i < storms; i++)); do
    say "pty-resize: resize storm $((i + 1))/$storms"
    out=$(sh "$ROOT/bench/pty_resize_bench.sh" "$BUILD/bin/pty-resize" --storm-only)
    pushes+=("$(sed -n 's/.*side-channels run: \([0-9]*\).*/\1/p' <<<"$out")")
    landed+=("$(sed -n 's/.* landed \([0-9]*\) ms after.*/\1/p' <<<"$out")")
  done
  echo "Resize storm (\`bench/pty_resize_bench.sh --storm-only\`, $storms runs): 100 tmux window resizes"
  echo "5 ms apart against a fake smolvm whose side-channel takes 0.1 s."
  echo
  echo "| figure | median (min–max) over $storms runs |"
  echo "|---|---|"
  printf '%s\n' "${pushes[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    printf "| side-channels run for 100 resizes (without coalescing: 100) | **%s** (%s–%s) |\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
  printf '%s\n' "${landed[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    printf "| final size landed after the last resize | **%s ms** (%s–%s) |\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
  echo
}

section_dashboard() {
  say "dashboard"
  local out
  out=$(TERM=xterm "$BUILD/bin/dashboard_bench")
  echo "### bottle-dashboard"
  echo
  echo "\`dashboard_bench\`: 200 bottles from a fake engine whose \`list\` call takes 300 ms, a 200x50"
  echo "terminal, background refresh running throughout."
  echo
  echo "| figure | n | mean ms | p50 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|---|"
  awk '/ n=[0-9]+ / {
    label = $0; sub(/ +n=.*/, "", label)
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^n=/) n = substr($i, 3)
      if ($i == "mean") mean = $(i + 1); if ($i == "p50") p50 = $(i + 1)
      if ($i == "p99") p99 = $(i + 1); if ($i == "max") max = $(i + 1)
    }
    printf "| %s | %s | %s | %s | %s | %s |\n", label, n, mean, p50, p99, max
  }' <<<"$out"
  echo
  grep -E '^(first list|background refreshes)' <<<"$out" | sed 's/$/  /'
  echo
}

section_workspace() {
  say "workspace"
  echo "### Workspace protection over a large tree"
  echo
  echo "\`workspace_scan_bench\`: 1,000 directories of 100 files (a node_modules), two repositories;"
  echo "the scan and the protection plan \`start\` computes from it (it scans each writable workspace"
  echo "for the placeholders, the mounts, the fingerprint and the sentinel)."
  echo
  "$BUILD/bin/workspace_scan_bench" | sed 's/$/  /'
  echo
}

section_egress() {
  say "egress"
  local flags=() quick=()
  if [[ $QUICK -eq 1 ]]; then flags+=(--quick) quick=(--quick); fi
  if [[ $PROFILE -eq 1 ]]; then flags+=(--profile); fi
  echo "### Egress hop"
  echo
  echo "\`bench/egress_bench.py\`: mitmdump started with the command line bottle ran egress with before bottle-egress"
  echo "(\`mitmdump_argv\`, upstream mode as with pipelock) and bottle's addon, vs the client going to the"
  echo "same HTTPS upstream on 127.0.0.1 directly, vs the same mitmdump without the addon (\`mitm\`:"
  echo "mitmproxy alone). Python client and upstream; egress requests carry the dummy and the"
  echo "upstream rejects anything but the swapped-in real value."
  echo
  /usr/bin/python3 "$ROOT/bench/egress_bench.py" "$FIXTURE" "$ROOT/tests/oracle/egress-addon/bottle_egress.py" \
    "${flags[@]}"
  echo
  echo "The addon's own share (\`bench/egress_addon_bench.py\`): its \`request\` and \`responseheaders\`"
  echo "hooks called directly on mitmproxy flows, no proxy around them."
  echo
  /usr/bin/python3 "$ROOT/bench/egress_addon_bench.py" "$ROOT/tests/oracle/egress-addon/bottle_egress.py" \
    "${quick[@]}" 2>/dev/null
  echo
}

section_memory() {
  say "memory"
  local dash_home=$WORK/dash-home fake=$WORK/fake-docker cfg_home=$WORK/cfg-home
  [[ -d $cfg_home ]] || "$FIXTURE" specs "$cfg_home" 1 bench-cfg docker
  [[ $ls_count -ge 100 ]] || grow_ls 100
  "$FIXTURE" specs "$dash_home" 200 dash docker
  # A docker that answers `ps` with the 200 bottles (running, egress on) at once.
  {
    echo '#!/bin/sh'
    echo 'cat <<EOF'
    for ((i = 0; i < 200; i++)); do
      printf 'dash%03d\trunning\t2026-01-01 00:00:00 +0000 UTC\tbottle\n' "$i"
      printf 'dash%03d\trunning\t2026-01-01 00:00:00 +0000 UTC\tegress\n' "$i"
    done
    echo 'EOF'
  } >"$fake"
  chmod +x "$fake"
  [[ $(BOTTLE_HOME=$dash_home BOTTLE_DOCKER=$fake "$BUILD/bin/bottle-dashboard" --once --json |
    grep -o '"name"' | wc -l) -eq 200 ]] || die "bottle-dashboard --once did not list the 200 fake bottles"
  echo "### Memory"
  echo
  echo "Peak resident set (VmHWM) of the process itself, read at its exit under ptrace"
  echo "(\`bench_cmp --rss\`, the largest of 3 runs); \"with children\" is wait4's ru_maxrss, the largest"
  echo "of the process and the programs it ran (e.g. the Docker CLI)."
  echo
  echo "| program | peak RSS | with children |"
  echo "|---|---|---|"
  {
    BOTTLE_HOME=$cfg_home "$CMP" --rss 'bottle-cli --version' -- "$CLI" --version ::: \
      'bottle-cli config show NAME' -- "$CLI" config show bench-cfg000
    BOTTLE_HOME=$LS_HOME "$CMP" --rss "bottle-cli ls --json (100 Docker bottles)" -- "$CLI" ls --json
    BOTTLE_HOME=$dash_home BOTTLE_DOCKER=$fake "$CMP" --rss \
      'bottle-dashboard --once (200 bottles, fake docker)' -- "$BUILD/bin/bottle-dashboard" --once
    TERM=xterm "$CMP" --rss -n 1 'dashboard_bench (200 bottles: view, model, worker)' -- \
      "$BUILD/bin/dashboard_bench"
    "$CMP" --rss 'pty-resize m -- /bin/true' -- "$BUILD/bin/pty-resize" m -- /bin/true
  } | awk -F'\t' '{ printf "| %s | %.1f MiB | %.1f MiB |\n", $1, $2 / 1024, $3 / 1024 }'
  echo
}

# --- main ----------------------------------------------------------------------------------
prerequisites
build
mkdir -p "$BUILD/bench"
RESULTS=$BUILD/bench/results.md
{
  section_machine
  if want startup; then section_startup; fi
  if want ls; then section_ls; fi
  if want exec; then section_exec; fi
  if want startcheck; then section_startcheck; fi
  if want pty; then section_pty; fi
  if want dashboard; then section_dashboard; fi
  if want workspace; then section_workspace; fi
  if want egress; then section_egress; fi
  if want memory; then section_memory; fi
} | tee "$RESULTS"
say "done; also written to $RESULTS"
