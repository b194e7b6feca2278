#!/bin/sh
# Benchmarks for pty-resize. Prints figures; asserts nothing.
#
#   bench/pty_resize_bench.sh [PATH-TO-pty-resize] [--storm-only]
#
# bench/run.sh measures the start-up overhead itself (bench_cmp, interleaved) and runs
# this script with --storm-only for the resize storm.
#
# 1. Start-up overhead: time until the child has been exec'd, through pty-resize vs
#    exec'ing it directly (no terminal, so no side-channel runs; this is the wrapper's
#    own cost: argv parsing, signal set-up, posix_spawn).
# 2. Resize storm: inside a private tmux server, 100 window resizes within about one
#    second against a fake smolvm whose side-channel takes FAKE_SIDE_DELAY seconds.
#    Reports how many side-channels ran and how long after the last resize the final
#    size landed (the side-channel carrying it finished).
#
# Environment: PTY_RESIZE (binary), RUNS (default 200), FAKE_SIDE_DELAY (default 0.1).
set -eu

PTY_RESIZE=${1:-${PTY_RESIZE:-build/bin/pty-resize}}
STORM_ONLY=${2:-}
RUNS=${RUNS:-200}
FAKE_SIDE_DELAY=${FAKE_SIDE_DELAY:-0.1}
[ -x "$PTY_RESIZE" ] || { echo "pty_resize_bench: no executable at '$PTY_RESIZE'" >&2; exit 2; }
PTY_RESIZE=$(cd "$(dirname "$PTY_RESIZE")" && pwd)/$(basename "$PTY_RESIZE")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pty-resize-bench.XXXXXX")
SOCKET=pty-resize-bench-$$
cleanup() { tmux -L "$SOCKET" kill-server 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }

# --- 1. start-up overhead ----------------------------------------------------------
# The child records when it started; the difference to the launch time is the latency.
cat > "$WORK/stamp" <<'STAMP'
#!/bin/sh
date +%s%N > "$1"
STAMP
chmod +x "$WORK/stamp"

# mean_latency_us LABEL CMD...: mean microseconds from launch to the child running.
mean_latency_us() {
    total=0 i=0
    while [ "$i" -lt "$RUNS" ]; do
        start=$(now_ns)
        "$@" "$WORK/t" </dev/null >/dev/null 2>&1
        total=$((total + $(cat "$WORK/t") - start))
        i=$((i + 1))
    done
    echo $((total / RUNS / 1000))
}
# mean_wall_us CMD...: mean microseconds of a whole run of a child that does nothing.
mean_wall_us() {
    start=$(now_ns) i=0
    while [ "$i" -lt "$RUNS" ]; do "$@" </dev/null >/dev/null 2>&1; i=$((i + 1)); done
    echo $(( ($(now_ns) - start) / RUNS / 1000 ))
}

if [ "$STORM_ONLY" != --storm-only ]; then
direct_exec=$(mean_latency_us "$WORK/stamp")
wrapped_exec=$(mean_latency_us "$PTY_RESIZE" m -- "$WORK/stamp")
direct_wall=$(mean_wall_us /bin/true)
wrapped_wall=$(mean_wall_us "$PTY_RESIZE" m -- /bin/true)
echo "start-up ($RUNS runs each, no terminal):"
echo "  time to child exec: direct ${direct_exec} us, via pty-resize ${wrapped_exec} us, overhead $((wrapped_exec - direct_exec)) us"
echo "  whole run of /bin/true: direct ${direct_wall} us, via pty-resize ${wrapped_wall} us, overhead $((wrapped_wall - direct_wall)) us"
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 20 "/bin/true" "$PTY_RESIZE m -- /bin/true"
fi
fi

# --- 2. resize storm ------------------------------------------------------------------
if ! command -v tmux >/dev/null 2>&1; then
    echo "resize storm: skipped (no tmux)"
    exit 0
fi
LOG=$WORK/smolvm.log
cat > "$WORK/smolvm" <<FAKE
#!/bin/sh
# Fake smolvm: the -t session idles; a side-channel sleeps like a real exec, then logs.
case "\$*" in
  *" -t "*) exec sleep 3600 ;;
  *"stty -F"*) sleep $FAKE_SIDE_DELAY
               size=\$(echo "\$*" | sed 's/.*cols \([0-9]*\) rows \([0-9]*\).*/\1x\2/')
               echo "\$(date +%s%N) \$size" >> "$LOG" ;;
esac
FAKE
chmod +x "$WORK/smolvm"

tmux -L "$SOCKET" -f /dev/null new-session -d -s bench -x 80 -y 24 \
    "$PTY_RESIZE m -- $WORK/smolvm machine exec -t --name m -- claude"
# Let the start-up push land, then count only what the storm costs.
sleep "$(awk "BEGIN { print $FAKE_SIDE_DELAY + 0.5 }")"
before=$(wc -l < "$LOG" 2>/dev/null || echo 0)

storm_start=$(now_ns)
i=1 final=
while [ "$i" -le 100 ]; do
    cols=$((60 + i)) rows=$((20 + i % 30))
    tmux -L "$SOCKET" resize-window -t bench -x "$cols" -y "$rows"
    final=${cols}x${rows}
    sleep 0.005
    i=$((i + 1))
done
last_resize=$(now_ns)

# Wait (up to 10 s) for a side-channel carrying the final size to finish.
landed=
waited=0
while [ "$waited" -lt 1000 ]; do
    landed=$(awk -v want="$final" -v after="$storm_start" '$1 >= after && $2 == want { t = $1 } END { print t }' "$LOG")
    [ -n "$landed" ] && break
    sleep 0.01
    waited=$((waited + 1))
done
sleep "$(awk "BEGIN { print 2 * $FAKE_SIDE_DELAY + 0.2 }")"   # catch any late extra push
pushes=$(( $(wc -l < "$LOG") - before ))

echo "resize storm (100 resizes in $(( (last_resize - storm_start) / 1000000 )) ms, side-channel latency ${FAKE_SIDE_DELAY}s):"
echo "  side-channels run: $pushes"
if [ -n "$landed" ]; then
    echo "  final size $final landed $(( (landed - last_resize) / 1000000 )) ms after the last resize"
else
    echo "  final size $final never landed (last pushed: $(tail -n 1 "$LOG" | cut -d' ' -f2))"
fi
