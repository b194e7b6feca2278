#!/usr/bin/env bash
# Builds the tiny local test images, with no registry:
#
#   bottle-test:latest        busybox-static rootfs: root + user node (1000),
#                             /tmp 1777, the host's CA bundle
#   bottle-test-codex:latest  the same plus the real static codex binary
#                             (from the @openai/codex npm package) at
#                             /usr/local/bin/codex
#
# Usage: images/test/build.sh [--codex | --all] [--force]
#   (default)  build bottle-test:latest
#   --codex    build bottle-test-codex:latest
#   --all      build both
#   --force    rebuild even if the image is current
# Env: BOTTLE_CODEX_VERSION pins the codex npm version (default: latest).
#
# An image is reused when it carries the recipe label of the current build
# inputs (this script, busybox, codex version); otherwise it is rebuilt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=test-image
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"

readonly PLAIN_IMAGE=bottle-test:latest
readonly CODEX_IMAGE=bottle-test-codex:latest
readonly BUSYBOX=/bin/busybox
readonly HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

force=0
want_plain=1
want_codex=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --codex) want_plain=0; want_codex=1 ;;
    --all) want_plain=1; want_codex=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

require_root
require_docker
[[ -x "$BUSYBOX" ]] || die "$BUSYBOX missing; run scripts/install-deps.sh (busybox-static)"
[[ -r "$HOST_CA_BUNDLE" ]] || die "$HOST_CA_BUNDLE missing; run scripts/install-deps.sh (ca-certificates)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bottle-test-image.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

base_recipe() {
  { sha256sum "${BASH_SOURCE[0]}" "$HERE/../lib.sh" "$BUSYBOX" "$HOST_CA_BUNDLE"; } |
    awk '{print $1}' | sha256sum | cut -c1-16
}

# Lays out the busybox rootfs in $1.
make_rootfs() {
  local root="$1"
  log "creating busybox rootfs in $root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc/ssl/certs,root,home/node,tmp,var/tmp,proc,sys,dev,run}
  cp "$BUSYBOX" "$root/bin/busybox"
  chroot "$root" /bin/busybox --install -s
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000:node:/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
  cp "$HOST_CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  chmod 0700 "$root/root"
  chown 1000:1000 "$root/home/node"
  chmod 1777 "$root/tmp" "$root/var/tmp"
}

# import_rootfs ROOT IMAGE RECIPE
import_rootfs() {
  local root="$1" image="$2" recipe="$3" changes old_id
  old_id="$(image_id "$image")"
  mapfile -t changes < <(common_import_changes)
  log "docker import -> $image"
  tar --numeric-owner -C "$root" -c . |
    docker import "${changes[@]}" --change "LABEL $RECIPE_LABEL=$recipe" - "$image" >/dev/null
  remove_if_dangling "$old_id"
}

# Prints the path of a cached static codex binary for BOTTLE_CODEX_VERSION,
# downloading the platform package from npm the first time.
codex_binary() {
  local version triple npm_arch dir spec pkgdir tarball found
  version="${BOTTLE_CODEX_VERSION:-$(npm_cached view @openai/codex version)}"
  [[ -n "$version" ]] || die "could not resolve the @openai/codex version from npm"
  triple="$(host_musl_triple)"
  npm_arch="$(host_npm_arch)"
  dir="$BOTTLE_CACHE/codex/$version/$triple"
  if [[ -x "$dir/codex" ]]; then
    log "codex $version: cached at $dir/codex" >&2
    printf '%s\n' "$dir/codex"
    return 0
  fi

  # Newer releases put the binaries in per-platform packages (aliases such as
  # "npm:@openai/codex@0.171.0-linux-x64"); older ones vendored them all.
  spec="$(npm_cached view --json "@openai/codex@$version" optionalDependencies |
    node -e '
      let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
        const deps = s.trim() ? JSON.parse(s) : {};
        const v = deps["@openai/codex-linux-" + process.argv[1]] || "";
        process.stdout.write(v.replace(/^npm:/, ""));
      });' "$npm_arch")"
  [[ -n "$spec" ]] || spec="@openai/codex@$version"

  pkgdir="$WORK/codex-pkg"
  mkdir -p "$pkgdir"
  log "codex $version: npm pack $spec" >&2
  tarball="$(cd "$pkgdir" && npm_cached pack --silent "$spec" | tail -n 1)"
  tar -C "$pkgdir" -xzf "$pkgdir/$tarball"
  found="$(find "$pkgdir/package" -type f -name codex -path "*/$triple/*" | head -n 1)"
  [[ -n "$found" ]] || die "no $triple codex binary inside $spec"
  "$found" --version >&2 || die "$found does not run on this host"

  mkdir -p "$dir"
  cp "$found" "$dir/codex.tmp"
  chmod 0755 "$dir/codex.tmp"
  mv "$dir/codex.tmp" "$dir/codex"
  rm -rf "$pkgdir"
  printf '%s\n' "$dir/codex"
}

build_plain() {
  local recipe
  recipe="$(base_recipe)"
  if ((force == 0)) && image_is_current "$PLAIN_IMAGE" "$recipe"; then
    log "$PLAIN_IMAGE is current (recipe $recipe); skipping (use --force to rebuild)"
    return 0
  fi
  rm -rf "$WORK/rootfs"
  make_rootfs "$WORK/rootfs"
  import_rootfs "$WORK/rootfs" "$PLAIN_IMAGE" "$recipe"
  log "built $PLAIN_IMAGE"
}

build_codex() {
  local codex version recipe
  codex="$(codex_binary)"
  version="$("$codex" --version | awk '{print $NF}')"
  recipe="$(base_recipe)-codex-$version"
  if ((force == 0)) && image_is_current "$CODEX_IMAGE" "$recipe"; then
    log "$CODEX_IMAGE is current (recipe $recipe); skipping (use --force to rebuild)"
    return 0
  fi
  rm -rf "$WORK/rootfs"
  make_rootfs "$WORK/rootfs"
  log "adding codex $version as /usr/local/bin/codex"
  cp "$codex" "$WORK/rootfs/usr/local/bin/codex"
  chmod 0755 "$WORK/rootfs/usr/local/bin/codex"
  import_rootfs "$WORK/rootfs" "$CODEX_IMAGE" "$recipe"
  log "built $CODEX_IMAGE (codex $version)"
}

if ((want_plain)); then build_plain; fi
if ((want_codex)); then build_codex; fi
