#!/usr/bin/env bash
# Installs every Debian package bottle needs to build, test and run.
# Idempotent: when everything is already installed, apt is not touched at all.
set -euo pipefail

readonly BUILD_PKGS=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libfmt-dev catch2 libncurses-dev
  libyaml-cpp-dev libssl-dev zlib1g-dev
)
readonly RUNTIME_PKGS=(
  docker.io iptables tmux tinyproxy
  debootstrap debian-archive-keyring busybox-static
  ca-certificates openssl nodejs npm curl procps util-linux git xz-utils
  python3 python3-yaml
)
# clang's libFuzzer and sanitizer runtimes are only a recommendation of clang.
readonly FUZZ_PKGS=(clang libclang-rt-14-dev)
# scripts/check-format.sh and scripts/check-tidy.sh (both run by scripts/test.sh).
readonly STYLE_PKGS=(clang-format clang-tidy)
# The podman backend and its tests (rootful). Without recommends, podman pulls in
# conmon, containers-common/-image, containernetworking-plugins, libsubid4 and
# libgpgme11 (runc comes with docker.io); catatonit is only a recommendation, but
# podman builds its pod infra image (localhost/podman-pause) from it.
readonly PODMAN_PKGS=(podman catatonit)

log() { printf '[install-deps] %s\n' "$*"; }

# A package counts as present when it is installed, or when an installed package
# provides it (e.g. a nodejs build from NodeSource that bundles npm and conflicts
# with Debian's npm package).
is_installed() {
  local pkg="$1" status
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" == ii* ]]; then
    return 0
  fi
  dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
    awk -F'|' -v p="$pkg" '
      $1 ~ /^ii/ {
        n = split($2, provs, /, */)
        for (i = 1; i <= n; i++) { sub(/ .*/, "", provs[i]); if (provs[i] == p) found = 1 }
      }
      END { exit !found }'
}

if [[ "$(id -u)" -ne 0 ]]; then
  log "must run as root (apt-get); try: sudo $0" >&2
  exit 1
fi

missing=()
for pkg in "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${FUZZ_PKGS[@]}" "${STYLE_PKGS[@]}" "${PODMAN_PKGS[@]}"; do
  if ! is_installed "$pkg"; then
    missing+=("$pkg")
  fi
done

# The kube tests read the generated objects back through kubectl's own decoder
# (client-side only). Any kubectl on PATH does; else Debian's client.
if ! command -v kubectl >/dev/null 2>&1 && ! is_installed kubernetes-client; then
  missing+=(kubernetes-client)
fi

if [[ "${#missing[@]}" -eq 0 ]]; then
  log "all packages already installed; nothing to do"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
log "missing: ${missing[*]}"
log "apt-get update"
apt-get update -q
log "apt-get install ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"
log "done"
