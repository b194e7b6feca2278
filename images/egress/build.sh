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

parse_force_args "$@"

# Mounts /proc, /sys, /dev and the shared .deb cache into the rootfs for apt and
# package scripts; undone by cleanup.
mount_chroot_fs() {
  mount_pseudo_fs "$ROOT"
  mkdir -p "$DEB_CACHE/partial" "$ROOT/var/cache/apt/archives"
  mount --bind "$DEB_CACHE" "$ROOT/var/cache/apt/archives"
  MOUNTED+=("$ROOT/var/cache/apt/archives")
}

cleanup() {
  unmount_all
  [[ -z "${WORK:-}" ]] || rm -rf --one-file-system "$WORK"
}

# chroot_apt LOG CMD...: runs apt inside the rootfs; on failure shows the log tail.
chroot_apt() {
  local apt_log="$1"
  shift
  if ! DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@" >>"$apt_log" 2>&1; then
    unmount_all
    tail -n 40 "$apt_log" >&2 || true
    die "'$*' inside the rootfs failed (log above)"
  fi
}

require_root
require_docker
command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing; run scripts/install-deps.sh"

MIRROR="$(debian_mirror "$SUITE")"
SECURITY_MIRROR="$(debian_security_mirror "$SUITE")"
ARCH="$(dpkg --print-architecture)"
base_csv="$(IFS=,; printf '%s' "${BASE_PACKAGES[*]}")"
base_key="$(printf '%s|' "$SUITE" "$MIRROR" "$ARCH" "$base_csv" v1 | sha256sum | cut -c1-16)"
recipe="$(recipe_of "${BASH_SOURCE[0]}" "$HERE/../lib.sh")"
exit_if_built "$IMAGE" "$recipe"

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
  restore_rootfs "$SUITE" "$ROOT" "$BASE_TAR"
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
  cache_rootfs "$ROOT" "$BASE_TAR"
fi

# ---- 2: mitmproxy ------------------------------------------------------------
step "apt-get upgrade and install ${APT_PACKAGES[*]} (no recommends; log: $APT_LOG)"
point_apt_at_mirrors "$ROOT" "$SUITE" "$MIRROR" "$SECURITY_MIRROR"
mount_chroot_fs
chroot_apt "$APT_LOG" apt-get update -q
chroot_apt "$APT_LOG" apt-get upgrade -y -q
chroot_apt "$APT_LOG" apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
unmount_all
log "  $(grep -cE '^Setting up ' "$APT_LOG") packages set up"

# ---- 3: trim -----------------------------------------------------------------
step "trimming docs, caches and the build host's files"
trim_docs "$ROOT"
rm -rf "$ROOT"/usr/share/locale/* \
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
