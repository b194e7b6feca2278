# Helpers shared by the image build scripts. Source it; do not run it.
# shellcheck shell=bash

# Downloads (npm tarballs, debootstrap results) are cached here, outside the repo.
BOTTLE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/bottle"
NPM_CACHE="$BOTTLE_CACHE/npm"

log() { printf '[%s] %s\n' "${LOG_TAG:-build}" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-build}" "$*" >&2; exit 1; }

# Prints the build script's header comment (everything after the #! line up to
# the first line that is not a comment) as its usage text.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# parse_force_args ARG...: the argument handling of the scripts whose only option
# is --force; sets force=1 for it, prints usage for -h/--help.
force=0
parse_force_args() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --force) force=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $arg" ;;
    esac
  done
}

# step MESSAGE: prints "[n/STEPS] MESSAGE"; the script sets STEPS.
step_no=0
step() {
  step_no=$((step_no + 1))
  printf '[%d/%d] %s\n' "$step_no" "$STEPS" "$*"
}

# recipe_of FILE...: a short hash of the files that make an image (the build
# script and this library, at least).
recipe_of() {
  sha256sum "$@" | awk '{print $1}' | sha256sum | cut -c1-16
}

# exit_if_built IMAGE RECIPE: without --force, an existing IMAGE is kept (and the
# script ends), saying whether another version of the script built it.
exit_if_built() {
  local image="$1" recipe="$2"
  if ((force == 0)) && [[ -n "$(image_id "$image")" ]]; then
    if image_is_current "$image" "$recipe"; then
      log "$image exists (recipe $recipe); skipping (use --force to rebuild)"
    else
      log "$image exists but was built by another version of this script; use --force to rebuild"
    fi
    exit 0
  fi
}

require_root() {
  [[ "$(id -u)" -eq 0 ]] || die "must run as root (chroot, docker import)"
}

require_docker() {
  docker info >/dev/null 2>&1 ||
    die "docker engine not reachable; run scripts/start-dockerd.sh first"
}

# The recipe label stamps an image with a hash of what built it, so an image built
# by an older version of a script is rebuilt instead of silently reused.
readonly RECIPE_LABEL=org.bottle.recipe

image_recipe() {
  docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$1" 2>/dev/null || true
}

# image_is_current IMAGE RECIPE: true when IMAGE exists and was built from RECIPE.
image_is_current() {
  [[ "$(image_recipe "$1")" == "$2" ]]
}

# npm with the shared cache; --prefer-offline reuses cached metadata and tarballs.
npm_cached() {
  npm --cache "$NPM_CACHE" --prefer-offline --no-audit --no-fund --loglevel=warn "$@"
}

# Maps the machine to the names npm packages and Rust targets use.
host_npm_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "unsupported architecture: $(uname -m)" ;;
  esac
}

host_musl_triple() {
  case "$(uname -m)" in
    x86_64) echo x86_64-unknown-linux-musl ;;
    aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
    *) die "unsupported architecture: $(uname -m)" ;;
  esac
}

# remove_if_dangling IMAGE_ID: drops the image a rebuild has just untagged.
remove_if_dangling() {
  local id="$1"
  [[ -n "$id" ]] || return 0
  if [[ -z "$(docker image inspect -f '{{join .RepoTags ","}}' "$id" 2>/dev/null)" ]]; then
    docker image rm "$id" >/dev/null 2>&1 || true
  fi
}

image_id() {
  docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true
}

# docker import --change arguments shared by every bottle image.
common_import_changes() {
  printf '%s\n' \
    '--change' 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    '--change' 'WORKDIR /home/node' \
    '--change' 'CMD ["/bin/sh"]'
}

# ---- Debian rootfs (debootstrap) helpers, for the agent and egress images ----

# apt_source_uri SUITE: the first URI of the host's apt source serving exactly SUITE.
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

# debian_mirror SUITE: BOTTLE_DEBIAN_MIRROR, else the host's apt source for SUITE,
# else deb.debian.org.
debian_mirror() {
  local uri="${BOTTLE_DEBIAN_MIRROR:-$(apt_source_uri "$1")}"
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# debian_security_mirror SUITE: likewise for SUITE-security.
debian_security_mirror() {
  local uri="${BOTTLE_DEBIAN_SECURITY_MIRROR:-$(apt_source_uri "$1-security")}"
  printf '%s\n' "${uri:-http://deb.debian.org/debian-security}"
}

# point_apt_at_mirrors ROOT SUITE MIRROR SECURITY_MIRROR: the rootfs's apt sources
# (SUITE, -updates, -security) and the host's resolver, for apt inside a chroot.
point_apt_at_mirrors() {
  local root="$1" suite="$2" mirror="$3" security_mirror="$4"
  printf 'deb %s %s main\n' \
    "$mirror" "$suite" \
    "$mirror" "$suite-updates" \
    "$security_mirror" "$suite-security" >"$root/etc/apt/sources.list"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# mount_pseudo_fs ROOT: binds /proc, /sys and /dev into ROOT for package scripts.
# Every mount is recorded in MOUNTED, which unmount_all undoes.
MOUNTED=()
mount_pseudo_fs() {
  local root="$1" fs
  for fs in proc sys dev; do
    mkdir -p "$root/$fs"
    mount --rbind "/$fs" "$root/$fs"
    mount --make-rslave "$root/$fs"
    MOUNTED+=("$root/$fs")
  done
}

unmount_all() {
  local m
  for m in "${MOUNTED[@]}"; do
    umount -R "$m" 2>/dev/null || umount -lR "$m" 2>/dev/null || true
  done
  MOUNTED=()
}

# trim_docs ROOT: drops documentation (copyright files stay), man and info pages.
trim_docs() {
  local root="$1"
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/*
}

# restore_rootfs SUITE ROOT TAR: the debootstrap step, done by unpacking the
# rootfs cache_rootfs saved earlier.
restore_rootfs() {
  local suite="$1" root="$2" tar="$3"
  step "debootstrap $suite (minbase): reusing cached rootfs $tar"
  mkdir -p "$root"
  tar --numeric-owner -xpf "$tar" -C "$root"
}

# cache_rootfs ROOT TAR: saves ROOT as TAR for the next build (atomically).
cache_rootfs() {
  local root="$1" tar="$2"
  log "caching the base rootfs as $tar"
  tar --numeric-owner -C "$root" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
}
