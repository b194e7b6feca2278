#!/usr/bin/env bash
# One-command set-up of a fresh Debian 12 machine for bottle (run as root):
# packages, build, install, Docker engine, default agent image.
#
# Env: PREFIX     install prefix (default /usr/local)
#      BUILD_DIR  build directory (default build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

readonly PREFIX="${PREFIX:-/usr/local}"
readonly BUILD_DIR="${BUILD_DIR:-build}"

heading() { printf '\n==== %s ====\n' "$*"; }

heading "1/5 install Debian packages"
bash scripts/install-deps.sh

heading "2/5 configure and build ($BUILD_DIR, RelWithDebInfo, without the tests)"
# Only what step 3 installs: the tests, fakes and benchmarks are scripts/test.sh's
# business and would more than double the build.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOTTLE_WERROR=OFF -DBOTTLE_SANITIZE=OFF \
  -DBOTTLE_BUILD_TESTS=OFF -DBOTTLE_FUZZ=OFF
cmake --build "$BUILD_DIR" -j2

heading "3/5 install to $PREFIX"
cmake --install "$BUILD_DIR" --prefix "$PREFIX"

heading "4/5 start the Docker engine"
bash scripts/start-dockerd.sh

heading "5/5 build the agent and egress images"
bash images/agent/build.sh
bash images/egress/build.sh --binary "$PREFIX/bin/bottle-egress"
# The podman backend runs the same images from Podman's own store.
if command -v podman >/dev/null; then
  docker save bottle-agent:latest bottle-egress:latest | podman load -q
fi

heading "done: bottle installed under $PREFIX"
