# Helpers shared by the image build scripts. Source it; do not run it.
# shellcheck shell=bash

# Downloads (npm tarballs, debootstrap results) are cached here, outside the repo.
BOTTLE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/bottle"
NPM_CACHE="$BOTTLE_CACHE/npm"

log() { printf '[%s] %s\n' "${LOG_TAG:-build}" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-build}" "$*" >&2; exit 1; }

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
