#!/usr/bin/env bash
# Makes sure a Docker engine is answering on this machine.
#
# If `docker info` already works, nothing happens. Otherwise dockerd (Debian's
# docker.io) is started in the background as root, and the script waits up to
# BOTTLE_DOCKERD_TIMEOUT seconds (default 60) for `docker info` to succeed.
# On failure it prints the tail of the daemon log and exits non-zero.
#
# dockerd needs mounted cgroups and a working iptables. The default iptables
# backend (nf_tables) is tried first; if dockerd dies on an iptables error the
# legacy backend is selected via update-alternatives and dockerd is retried once.
set -euo pipefail

readonly TIMEOUT="${BOTTLE_DOCKERD_TIMEOUT:-60}"

log() { printf '[start-dockerd] %s\n' "$*"; }
die() { printf '[start-dockerd] ERROR: %s\n' "$*" >&2; exit 1; }

docker_ok() { docker info >/dev/null 2>&1; }

if docker_ok; then
  log "docker engine already running; nothing to do"
  exit 0
fi

[[ "$(id -u)" -eq 0 ]] || die "docker info fails and starting dockerd needs root"
command -v dockerd >/dev/null 2>&1 || die "dockerd not found; run scripts/install-deps.sh"
command -v docker >/dev/null 2>&1 || die "docker client not found; run scripts/install-deps.sh"

if [[ -w /var/log ]]; then
  LOG=/var/log/bottle-dockerd.log
else
  LOG="${TMPDIR:-/tmp}/bottle-dockerd.log"
fi
readonly LOG

show_log_tail() {
  printf '[start-dockerd] ---- last 40 lines of %s ----\n' "$LOG" >&2
  tail -n 40 "$LOG" >&2 || true
  printf '[start-dockerd] ----\n' >&2
}

# Without systemd nobody mounts cgroups; dockerd refuses to start without them.
ensure_cgroups() {
  if grep -qE '^[^ ]+ /sys/fs/cgroup(/[^ ]*)? (cgroup|cgroup2) ' /proc/mounts; then
    return 0
  fi
  log "no cgroup filesystem mounted; mounting cgroup2 on /sys/fs/cgroup"
  mkdir -p /sys/fs/cgroup
  mount -t cgroup2 none /sys/fs/cgroup || die "could not mount cgroup2 on /sys/fs/cgroup"
}

# Waits for `docker info`. Returns 0 when ready, 1 when dockerd died, 2 on timeout.
wait_ready() {
  local pid="$1" waited=0
  while ((waited < TIMEOUT)); do
    if docker_ok; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  return 2
}

start_dockerd() {
  printf '\n==== %s starting dockerd ====\n' "$(date -Is)" >>"$LOG"
  # setsid: the daemon must outlive this script and not get the caller's signals.
  setsid dockerd >>"$LOG" 2>&1 </dev/null &
  DOCKERD_PID=$!
  log "started dockerd (pid $DOCKERD_PID), log: $LOG"
}

use_legacy_iptables() {
  command -v iptables-legacy >/dev/null 2>&1 || return 1
  log "switching iptables to the legacy backend (update-alternatives)"
  update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
  update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null || true
}

ensure_cgroups

if pid="$(pgrep -x dockerd | head -n 1)" && [[ -n "$pid" ]]; then
  log "dockerd already running (pid $pid) but not answering yet; waiting"
  DOCKERD_PID="$pid"
else
  start_dockerd
fi

log "waiting up to ${TIMEOUT}s for docker info"
rc=0
wait_ready "$DOCKERD_PID" || rc=$?

if ((rc == 1)) && tail -n 40 "$LOG" | grep -qiE 'iptables|nf_tables|nftables'; then
  log "dockerd exited with an iptables error"
  if use_legacy_iptables; then
    start_dockerd
    rc=0
    wait_ready "$DOCKERD_PID" || rc=$?
  fi
fi

case "$rc" in
  0) log "docker engine ready: $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')" ;;
  1) show_log_tail; die "dockerd exited before becoming ready" ;;
  *) show_log_tail; die "dockerd did not answer within ${TIMEOUT}s (pid $DOCKERD_PID still running)" ;;
esac
