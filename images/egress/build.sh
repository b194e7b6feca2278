#!/usr/bin/env bash
# Builds the egress image, bottle-egress:latest, with no container registry and no
# package manager: a rootfs holding bottle-egress at /usr/local/bin/bottle-egress,
# the shared libraries it links (copied from this host, with the dynamic loader)
# and the host's CA bundle, nothing else: no shell, no Python. bottle runs the
# binary explicitly (docker create --entrypoint), and probes readiness with
# `bottle-egress probe`. The routes file, the bottle CA and the host credential
# directories are bind-mounted when bottle creates the container.
#
# The recipe label hashes this script, the binary, its libraries and the CA bundle,
# so a rebuilt bottle-egress always gets a new image: an image that does not match
# is rebuilt without --force (it takes seconds).
#
# Usage: images/egress/build.sh [--force] [--binary PATH]
#   --force        rebuild even if the image is current
#   --binary PATH  the bottle-egress to put in (default: $BOTTLE_EGRESS, else
#                  bottle-egress on PATH)
# Env:
#   BOTTLE_EGRESS_IMAGE     image tag (default bottle-egress:latest)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=egress-image
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"

readonly IMAGE="${BOTTLE_EGRESS_IMAGE:-bottle-egress:latest}"
readonly PROGRAM_PATH=/usr/local/bin/bottle-egress
readonly CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
readonly STEPS=3

binary="${BOTTLE_EGRESS:-}"
while (($#)); do
  case "$1" in
    --force) force=1 ;;
    --binary)
      (($# >= 2)) || die "--binary needs a path"
      binary="$2"
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ -n "$binary" ]] || binary="$(command -v bottle-egress || true)"
[[ -n "$binary" ]] || die "no bottle-egress: pass --binary PATH (e.g. build/cli/bottle-egress) or install bottle"
[[ -f "$binary" && -x "$binary" ]] || die "--binary $binary: not an executable file"
binary="$(readlink -f "$binary")"
[[ -f "$CA_BUNDLE" ]] || die "$CA_BUNDLE missing; run scripts/install-deps.sh (ca-certificates)"

cleanup() { [[ -z "${WORK:-}" ]] || rm -rf --one-file-system "$WORK"; }

require_docker

# The libraries the dynamic loader resolves for the binary, and the loader itself,
# as absolute paths; a library ldd cannot find stops the build.
libraries_of() {
  local out
  out="$(ldd "$1")" || die "ldd $1 failed: is it a dynamic executable?"
  if grep -q 'not found' <<<"$out"; then
    die "ldd $1: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
  fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out" | sort -u
}

mapfile -t libraries < <(libraries_of "$binary")
recipe="$(recipe_of "${BASH_SOURCE[0]}" "$HERE/../lib.sh" "$binary" "$CA_BUNDLE" "${libraries[@]}")"
if ((force == 0)) && image_is_current "$IMAGE" "$recipe"; then
  log "$IMAGE is current (recipe $recipe); skipping (use --force to rebuild)"
  exit 0
fi

started=$SECONDS
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/bottle-egress-image.XXXXXX")"
trap cleanup EXIT
ROOT="$WORK/rootfs"

# ---- 1: rootfs ---------------------------------------------------------------
step "rootfs: $binary and its ${#libraries[@]} libraries, the CA bundle"
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc/ssl/certs" "$ROOT/usr/lib/ssl" "$ROOT/tmp"
chmod 1777 "$ROOT/tmp"
# Debug sections only: symbols stay for backtraces.
strip --strip-debug -o "$ROOT$PROGRAM_PATH" "$binary"
chmod 0755 "$ROOT$PROGRAM_PATH"
for lib in "${libraries[@]}"; do
  # Each library at the path the loader looks it up by (a symlink's own path,
  # holding the file it points to), plus the file's real path for the loader's
  # canonical name (e.g. /lib64/ld-linux-x86-64.so.2).
  for path in "$lib" "$(readlink -f "$lib")"; do
    mkdir -p "$ROOT$(dirname "$path")"
    cp -L "$path" "$ROOT$path"
  done
done
# Debian's usrmerge: /lib, /lib64 are links into /usr; keep them links.
for dir in lib lib64; do
  if [[ -L "/$dir" && -d "$ROOT/$dir" && ! -L "$ROOT/$dir" ]]; then
    mkdir -p "$ROOT/usr/$dir"
    cp -a "$ROOT/$dir/." "$ROOT/usr/$dir/"
    rm -rf "$ROOT/$dir"
    ln -s "usr/$dir" "$ROOT/$dir"
  fi
done
install -m 0644 "$CA_BUNDLE" "$ROOT$CA_BUNDLE"
# The same roots one per file with their subject-hash links, as update-ca-certificates
# leaves /etc/ssl/certs: egress then looks a root up when a chain needs it instead of
# parsing the whole bundle at start (libbottle's system_roots.hpp).
mkdir "$WORK/roots"
awk -v dir="$WORK/roots" '
  /-----BEGIN CERTIFICATE-----/ { if (out) close(out); out = sprintf("%s/root-%03d.pem", dir, ++n) }
  out { print > out }' "$CA_BUNDLE"
openssl rehash "$WORK/roots" || die "openssl rehash of the CA bundle's roots failed"
cp -a "$WORK/roots/." "$ROOT/etc/ssl/certs/"
chmod 0644 "$ROOT"/etc/ssl/certs/root-*.pem
roots="$(find "$ROOT/etc/ssl/certs" -name 'root-*.pem' | wc -l)"
links="$(find "$ROOT/etc/ssl/certs" -regextype posix-extended -regex '.*/[0-9a-f]{8}\.[0-9]+' | wc -l)"
[[ "$roots" -gt 0 && "$links" -eq "$roots" ]] || die "$roots roots but $links hash links in /etc/ssl/certs"
log "  $roots roots, each with its hash link"
# OpenSSL's default verify file on Debian (OPENSSLDIR=/usr/lib/ssl).
ln -s "$CA_BUNDLE" "$ROOT/usr/lib/ssl/cert.pem"
ln -s /etc/ssl/certs "$ROOT/usr/lib/ssl/certs"
printf 'hosts: files dns\n' >"$ROOT/etc/nsswitch.conf"
printf 'root:x:0:0:root:/:/usr/local/bin/bottle-egress\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
log "rootfs size: $(du -sh "$ROOT" | cut -f1)"

# ---- 2: import ---------------------------------------------------------------
step "docker import -> $IMAGE"
old_id="$(image_id "$IMAGE")"
tar --numeric-owner -C "$ROOT" -c . |
  docker import \
    --change 'WORKDIR /' \
    --change "ENTRYPOINT [\"$PROGRAM_PATH\"]" \
    --change 'CMD ["--help"]' \
    --change "LABEL $RECIPE_LABEL=$recipe" \
    - "$IMAGE" >/dev/null
remove_if_dangling "$old_id"

# ---- 3: verify ---------------------------------------------------------------
step "verifying bottle-egress runs"
out="$(docker run --rm --network none "$IMAGE" --help 2>&1)" || die "bottle-egress --help failed in $IMAGE: $out"
log "  $(printf '%s\n' "$out" | head -n 1)"
log "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')) in $((SECONDS - started))s"
