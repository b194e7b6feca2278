#!/usr/bin/env bash
# Builds the default agent image, bottle-agent:latest, with no container registry:
# a Debian bookworm minbase rootfs (debootstrap from the configured Debian mirror),
# a non-root user node (uid 1000, /home/node, bash), and the claude
# (@anthropic-ai/claude-code) and codex (@openai/codex) CLIs installed from npm
# into /usr/local. The image runs as root by default; bottle runs agents with
# `docker exec -u node` / `runuser -u node --`.
#
# Usage: images/agent/build.sh [--force]
#   --force   rebuild even if the image exists (and re-resolve npm versions)
# Env:
#   BOTTLE_AGENT_IMAGE      image tag (default bottle-agent:latest)
#   BOTTLE_DEBIAN_MIRROR    Debian mirror (default: from apt sources, else deb.debian.org)
#   BOTTLE_DEBIAN_SECURITY_MIRROR  likewise for bookworm-security
#   BOTTLE_CLAUDE_VERSION   @anthropic-ai/claude-code version (default latest)
#   BOTTLE_CODEX_VERSION    @openai/codex version (default latest)
#   BOTTLE_NPM_VERSION      npm version for the image (default 10)
#   BOTTLE_BUILD_TMPFS=0    build on disk even when there is RAM for a tmpfs
#
# Caches (outside the repo) under ${XDG_CACHE_HOME:-$HOME/.cache}/bottle/:
#   debootstrap/debs   downloaded .debs      agent/base-*.tar   the debootstrapped rootfs
#   npm                npm tarballs and metadata
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=agent-image
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"

readonly IMAGE="${BOTTLE_AGENT_IMAGE:-bottle-agent:latest}"
readonly SUITE=bookworm
readonly PACKAGES=(
  ca-certificates util-linux passwd procps git curl less openssl nodejs
)
# npm comes from the npm registry, not Debian: Debian's npm drags in ~380
# packages (node-gyp, python3, 24k small files) and debootstrap's resolver
# cannot install it anyway. npm 10 is the last line supporting bookworm's node 18.
readonly NPM_SPEC="npm@${BOTTLE_NPM_VERSION:-10}"
readonly STEPS=6

parse_force_args "$@"

# npm version to install: pinned by env, else the registry's latest. With
# --force the registry is asked afresh; otherwise cached metadata is fine.
resolve_version() {
  local pkg="$1" pinned="$2" version=""
  if [[ -n "$pinned" ]]; then
    printf '%s\n' "$pinned"
    return 0
  fi
  if ((force)); then
    version="$(npm --cache "$NPM_CACHE" --loglevel=error view "$pkg" version 2>/dev/null || true)"
  fi
  [[ -n "$version" ]] || version="$(npm_cached view "$pkg" version)"
  [[ -n "$version" ]] || die "could not resolve the version of $pkg from npm"
  printf '%s\n' "$version"
}

cleanup() {
  unmount_all
  if [[ -n "${WORK:-}" ]]; then
    if mountpoint -q "$WORK"; then
      umount "$WORK" || umount -l "$WORK" || true
    fi
    rm -rf --one-file-system "$WORK"
  fi
}

# Small-file I/O dominates this build (tens of thousands of files, and deleting
# them on a slow disk takes minutes), so the rootfs is assembled in RAM when the
# machine has plenty of it.
use_tmpfs_workdir() {
  local avail_kb
  [[ "${BOTTLE_BUILD_TMPFS:-1}" != 0 ]] || return 0
  avail_kb="$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
  if ((avail_kb >= 6 * 1024 * 1024)); then
    mount -t tmpfs -o size=5g,mode=0700 bottle-agent-build "$WORK"
    log "working in a tmpfs at $WORK"
  fi
}

# Points the rootfs at the mirror (with -updates and -security) and applies
# pending updates.
chroot_apt_upgrade() {
  local apt_log="$WORK/apt.log"
  point_apt_at_mirrors "$ROOT" "$SUITE" "$MIRROR" "$SECURITY_MIRROR"
  mount_pseudo_fs "$ROOT"
  if ! {
    chroot "$ROOT" apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get upgrade -y -q
  } >"$apt_log" 2>&1; then
    unmount_all
    tail -n 40 "$apt_log" >&2 || true
    die "apt-get upgrade inside the rootfs failed (log above)"
  fi
  unmount_all
  log "  $(grep -cE '^Setting up ' "$apt_log") packages upgraded"
}

require_root
require_docker
command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing; run scripts/install-deps.sh"
command -v npm >/dev/null 2>&1 || die "npm missing; run scripts/install-deps.sh"

MIRROR="$(debian_mirror "$SUITE")"
SECURITY_MIRROR="$(debian_security_mirror "$SUITE")"
ARCH="$(dpkg --print-architecture)"
pkg_csv="$(IFS=,; printf '%s' "${PACKAGES[*]}")"
base_key="$(printf '%s|' "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$ARCH" "$pkg_csv" v3 | sha256sum | cut -c1-16)"
recipe="$(recipe_of "${BASH_SOURCE[0]}" "$HERE/../lib.sh")"
exit_if_built "$IMAGE" "$recipe"

started=$SECONDS
mkdir -p "$BOTTLE_CACHE/agent" "$BOTTLE_CACHE/debootstrap/debs" "$NPM_CACHE"
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/bottle-agent-image.XXXXXX")"
trap cleanup EXIT
use_tmpfs_workdir
ROOT="$WORK/rootfs"
BASE_TAR="$BOTTLE_CACHE/agent/base-$SUITE-$ARCH-$base_key.tar"

# ---- 1: base system ----------------------------------------------------------
if [[ -f "$BASE_TAR" ]]; then
  restore_rootfs "$SUITE" "$ROOT" "$BASE_TAR"
else
  step "debootstrap $SUITE (minbase) from $MIRROR: ${PACKAGES[*]}"
  dlog="$WORK/debootstrap.log"
  log "full debootstrap log: $dlog (a few minutes on a cold cache)"
  # Print the milestones only; per-package lines go to the log.
  if ! debootstrap --variant=minbase --arch="$ARCH" --include="$pkg_csv" \
    --cache-dir="$BOTTLE_CACHE/debootstrap/debs" "$SUITE" "$ROOT" "$MIRROR" 2>&1 |
    tee "$dlog" |
    grep --line-buffered -E '^(E:|W:|I: (Retrieving Release|Resolving|Found additional|Retrieving packages|Checking component|Installing core|Unpacking the base|Configuring the base|Base system))'; then
    :
  fi
  if [[ ! -x "$ROOT/usr/bin/node" ]] || ! grep -q '^I: Base system installed successfully' "$dlog"; then
    tail -n 40 "$dlog" >&2 || true
    die "debootstrap failed (log above)"
  fi
  log "apt-get upgrade inside the rootfs (bookworm-updates, bookworm-security)"
  chroot_apt_upgrade
  # Documentation is not needed in an agent sandbox; copyright files stay.
  trim_docs "$ROOT"
  chroot "$ROOT" apt-get clean
  rm -rf "$ROOT"/var/lib/apt/lists/*
  cache_rootfs "$ROOT" "$BASE_TAR"
fi

# ---- 2: user and small fixes -------------------------------------------------
step "creating user node (uid 1000, /home/node, /bin/bash)"
if ! chroot "$ROOT" getent passwd node >/dev/null; then
  chroot "$ROOT" groupadd --gid 1000 node
  chroot "$ROOT" useradd --uid 1000 --gid 1000 --create-home --home-dir /home/node \
    --shell /bin/bash node
fi
# Docker supplies these at run time; do not bake in the build host's.
rm -f "$ROOT/etc/hostname" "$ROOT/etc/resolv.conf"
printf 'bottle\n' >"$ROOT/etc/hostname"

# ---- 3: agent CLIs -----------------------------------------------------------
claude_version="$(resolve_version @anthropic-ai/claude-code "${BOTTLE_CLAUDE_VERSION:-}")"
codex_version="$(resolve_version @openai/codex "${BOTTLE_CODEX_VERSION:-}")"
step "npm install -g claude $claude_version, codex $codex_version, $NPM_SPEC into /usr/local"
# Installed from the host into the rootfs prefix. The packages pick their native
# binary for this platform (linux, glibc, $(host_npm_arch)), which matches the image.
npm_cached install --global --prefix "$ROOT/usr/local" \
  "@anthropic-ai/claude-code@$claude_version" "@openai/codex@$codex_version" "$NPM_SPEC"
# claude's postinstall swaps a small shell stub for the native binary; npm
# versions that hold back install scripts leave the stub, so run it ourselves.
claude_pkg="$ROOT/usr/local/lib/node_modules/@anthropic-ai/claude-code"
if [[ -f "$claude_pkg/install.cjs" && "$(stat -c %s "$claude_pkg/bin/claude.exe")" -lt 4096 ]]; then
  log "claude postinstall did not run; running install.cjs"
  (cd "$claude_pkg" && node install.cjs)
fi
for bin in claude codex npm; do
  [[ -e "$ROOT/usr/local/bin/$bin" ]] || die "npm did not install /usr/local/bin/$bin"
done

# ---- 4: trim -----------------------------------------------------------------
step "trimming caches"
rm -rf "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
  "$ROOT"/var/lib/apt/lists/* "$ROOT"/root/.npm "$ROOT"/tmp/* "$ROOT"/var/tmp/*
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
log "rootfs size: $(du -sh "$ROOT" | cut -f1)"

# ---- 5: import ---------------------------------------------------------------
step "docker import -> $IMAGE"
old_id="$(image_id "$IMAGE")"
mapfile -t changes < <(common_import_changes)
tar --numeric-owner -C "$ROOT" -c . |
  docker import "${changes[@]}" \
    --change "LABEL $RECIPE_LABEL=$recipe" \
    --change "LABEL org.bottle.claude-version=$claude_version" \
    --change "LABEL org.bottle.codex-version=$codex_version" \
    - "$IMAGE" >/dev/null
remove_if_dangling "$old_id"

# ---- 6: verify ---------------------------------------------------------------
step "verifying the agent CLIs run as user node"
for bin in codex claude npm; do
  out="$(docker run --rm "$IMAGE" runuser -u node -- "$bin" --version 2>&1)" ||
    die "$bin --version failed in $IMAGE: $out"
  log "  $bin --version: $out"
done
log "built $IMAGE in $((SECONDS - started))s"
