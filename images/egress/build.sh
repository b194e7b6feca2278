#!/usr/bin/env bash
# Builds the egress image, bottle-egress:latest, with no container registry: a
# Debian bookworm minbase rootfs (debootstrap from the configured Debian mirror)
# plus Debian's mitmproxy (python3 and its libraries), nothing else. The bottle
# addon and routes file are not baked in: bottle bind-mounts them from its data
# and state directories when it starts the container, so an addon change needs
# no image rebuild. Entry point: none; bottle runs `mitmdump ...` explicitly.
#
# Usage: images/egress/build.sh [--force]
#   --force   rebuild even if the image exists
# Env:
#   BOTTLE_EGRESS_IMAGE     image tag (default bottle-egress:latest)
#   BOTTLE_DEBIAN_MIRROR    Debian mirror (default: from apt sources, else deb.debian.org)
#   BOTTLE_DEBIAN_SECURITY_MIRROR  likewise for bookworm-security
#
# Caches (outside the repo) under ${XDG_CACHE_HOME:-$HOME/.cache}/bottle/:
#   debootstrap/debs   downloaded .debs (shared with the agent image)
#   egress/base-*.tar  the debootstrapped minbase rootfs
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=egress-image
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"

readonly IMAGE="${BOTTLE_EGRESS_IMAGE:-bottle-egress:latest}"
readonly SUITE=bookworm
readonly BASE_PACKAGES=(ca-certificates)
# Installed with apt inside the rootfs: debootstrap's resolver is too simple
# for mitmproxy's Python dependency tree.
readonly APT_PACKAGES=(mitmproxy)
readonly STEPS=5

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

step_no=0
step() {
  step_no=$((step_no + 1))
  printf '[%d/%d] %s\n' "$step_no" "$STEPS" "$*"
}

# apt_source_uri SUITE: the first URI of the host's apt source serving exactly SUITE.
# (Same logic as images/agent/build.sh.)
apt_source_uri() {
  local suite="$1" uri=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    uri="$(awk -v suite="$suite" '
      function flush() { if (!found && uris != "" && has_suite) found = uris; uris = ""; has_suite = 0 }
      /^[[:space:]]*$/ { flush(); next }
      /^URIs:/ { uris = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has_suite = 1 }
      END { flush(); print found }' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
    uri="$(awk -v suite="$suite" '
      $1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' /etc/apt/sources.list)"
  fi
  printf '%s\n' "$uri"
}

# Mounts /proc, /sys, /dev and the shared .deb cache into the rootfs for apt and
# package scripts; undone by cleanup.
MOUNTED=()
mount_chroot_fs() {
  local fs
  for fs in proc sys dev; do
    mkdir -p "$ROOT/$fs"
    mount --rbind "/$fs" "$ROOT/$fs"
    mount --make-rslave "$ROOT/$fs"
    MOUNTED+=("$ROOT/$fs")
  done
  mkdir -p "$DEB_CACHE/partial" "$ROOT/var/cache/apt/archives"
  mount --bind "$DEB_CACHE" "$ROOT/var/cache/apt/archives"
  MOUNTED+=("$ROOT/var/cache/apt/archives")
}

unmount_chroot_fs() {
  local m
  for m in "${MOUNTED[@]}"; do
    umount -R "$m" 2>/dev/null || umount -lR "$m" 2>/dev/null || true
  done
  MOUNTED=()
}

cleanup() {
  unmount_chroot_fs
  [[ -z "${WORK:-}" ]] || rm -rf --one-file-system "$WORK"
}

# chroot_apt LOG CMD...: runs apt inside the rootfs; on failure shows the log tail.
chroot_apt() {
  local apt_log="$1"
  shift
  if ! DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@" >>"$apt_log" 2>&1; then
    unmount_chroot_fs
    tail -n 40 "$apt_log" >&2 || true
    die "'$*' inside the rootfs failed (log above)"
  fi
}

require_root
require_docker
command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing; run scripts/install-deps.sh"

MIRROR="${BOTTLE_DEBIAN_MIRROR:-$(apt_source_uri "$SUITE")}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${BOTTLE_DEBIAN_SECURITY_MIRROR:-$(apt_source_uri "$SUITE-security")}"
SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
ARCH="$(dpkg --print-architecture)"
base_csv="$(IFS=,; printf '%s' "${BASE_PACKAGES[*]}")"
base_key="$(printf '%s|' "$SUITE" "$MIRROR" "$ARCH" "$base_csv" v1 | sha256sum | cut -c1-16)"
recipe="$(sha256sum "${BASH_SOURCE[0]}" "$HERE/../lib.sh" | awk '{print $1}' | sha256sum | cut -c1-16)"

if ((force == 0)) && [[ -n "$(image_id "$IMAGE")" ]]; then
  if image_is_current "$IMAGE" "$recipe"; then
    log "$IMAGE exists (recipe $recipe); skipping (use --force to rebuild)"
  else
    log "$IMAGE exists but was built by another version of this script; use --force to rebuild"
  fi
  exit 0
fi

started=$SECONDS
DEB_CACHE="$BOTTLE_CACHE/debootstrap/debs"
mkdir -p "$BOTTLE_CACHE/egress" "$DEB_CACHE"
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/bottle-egress-image.XXXXXX")"
trap cleanup EXIT
ROOT="$WORK/rootfs"
BASE_TAR="$BOTTLE_CACHE/egress/base-$SUITE-$ARCH-$base_key.tar"
APT_LOG="$WORK/apt.log"

# ---- 1: base system ----------------------------------------------------------
if [[ -f "$BASE_TAR" ]]; then
  step "debootstrap $SUITE (minbase): reusing cached rootfs $BASE_TAR"
  mkdir -p "$ROOT"
  tar --numeric-owner -xpf "$BASE_TAR" -C "$ROOT"
else
  step "debootstrap $SUITE (minbase) from $MIRROR: ${BASE_PACKAGES[*]}"
  dlog="$WORK/debootstrap.log"
  log "full debootstrap log: $dlog"
  debootstrap --variant=minbase --arch="$ARCH" --include="$base_csv" \
    --cache-dir="$DEB_CACHE" "$SUITE" "$ROOT" "$MIRROR" >"$dlog" 2>&1 || true
  if ! grep -q '^I: Base system installed successfully' "$dlog"; then
    tail -n 40 "$dlog" >&2 || true
    die "debootstrap failed (log above)"
  fi
  log "caching the base rootfs as $BASE_TAR"
  tar --numeric-owner -C "$ROOT" -cf "$BASE_TAR.tmp" .
  mv "$BASE_TAR.tmp" "$BASE_TAR"
fi

# ---- 2: mitmproxy ------------------------------------------------------------
step "apt-get upgrade and install ${APT_PACKAGES[*]} (no recommends; log: $APT_LOG)"
printf 'deb %s %s main\n' \
  "$MIRROR" "$SUITE" \
  "$MIRROR" "$SUITE-updates" \
  "$SECURITY_MIRROR" "$SUITE-security" >"$ROOT/etc/apt/sources.list"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount_chroot_fs
chroot_apt "$APT_LOG" apt-get update -q
chroot_apt "$APT_LOG" apt-get upgrade -y -q
chroot_apt "$APT_LOG" apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
unmount_chroot_fs
log "  $(grep -cE '^Setting up ' "$APT_LOG") packages set up"

# ---- 3: trim -----------------------------------------------------------------
step "trimming docs, caches and the build host's files"
find "$ROOT/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/* \
  "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/lib/apt/lists/* "$ROOT"/tmp/* "$ROOT"/var/tmp/*
# Docker supplies these at run time; do not bake in the build host's.
rm -f "$ROOT/etc/hostname" "$ROOT/etc/resolv.conf"
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
log "rootfs size: $(du -sh "$ROOT" | cut -f1)"

# ---- 4: import ---------------------------------------------------------------
step "docker import -> $IMAGE"
# shellcheck disable=SC2016 # dpkg-query expands ${Version} itself
mitm_version="$(chroot "$ROOT" dpkg-query -W -f '${Version}' mitmproxy)"
old_id="$(image_id "$IMAGE")"
tar --numeric-owner -C "$ROOT" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /' \
    --change 'CMD ["mitmdump", "--version"]' \
    --change "LABEL $RECIPE_LABEL=$recipe" \
    --change "LABEL org.bottle.mitmproxy-version=$mitm_version" \
    - "$IMAGE" >/dev/null
remove_if_dangling "$old_id"

# ---- 5: verify ---------------------------------------------------------------
step "verifying mitmdump runs"
out="$(docker run --rm "$IMAGE" mitmdump --version 2>&1)" || die "mitmdump --version failed in $IMAGE: $out"
log "  $(printf '%s\n' "$out" | head -n 1)"
log "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')) in $((SECONDS - started))s"
