#!/usr/bin/env bash
# Builds the tiny local test images, with no registry:
#
#   bottle-test:latest        busybox-static rootfs: root + user node (1000),
#                             /tmp 1777, the host's CA bundle
#   bottle-test-codex:latest  the same plus the real static codex binary
#                             (from the @openai/codex npm package) at
#                             /usr/local/bin/codex
#   bottle-test-claude:latest the same plus the real claude binary (from the
#                             @anthropic-ai/claude-code-linux-<arch> npm package) at
#                             /usr/local/bin/claude, with the libraries ldd lists
#   bottle-test-git:latest    the same plus the host's git (/usr/bin/git, the
#                             libraries ldd lists with the loader, the builtin
#                             commands of /usr/lib/git-core and the templates):
#                             an agent that can commit in /workspace
#
# Usage: images/test/build.sh [--codex | --claude | --git | --all] [--force]
#   (default)  build bottle-test:latest
#   --codex    build bottle-test-codex:latest
#   --claude   build bottle-test-claude:latest
#   --git      build bottle-test-git:latest
#   --all      build all four
#   --force    rebuild even if the image is current
# Env: BOTTLE_CODEX_VERSION and BOTTLE_CLAUDE_VERSION pin the npm versions
# (default: latest).
#
# An image is reused when it carries the recipe label of the current build
# inputs (this script, busybox, codex and claude versions, git and the libraries);
# otherwise
# it is rebuilt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=test-image
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"

readonly PLAIN_IMAGE=bottle-test:latest
readonly CODEX_IMAGE=bottle-test-codex:latest
readonly CLAUDE_IMAGE=bottle-test-claude:latest
readonly GIT_IMAGE=bottle-test-git:latest
readonly HOST_GIT=/usr/bin/git
readonly GIT_CORE=/usr/lib/git-core
readonly GIT_TEMPLATES=/usr/share/git-core/templates
readonly BUSYBOX=/bin/busybox
readonly HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

want_plain=1
want_codex=0
want_claude=0
want_git=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --codex) want_plain=0; want_codex=1 ;;
    --claude) want_plain=0; want_claude=1 ;;
    --git) want_plain=0; want_git=1 ;;
    --all) want_plain=1; want_codex=1; want_claude=1; want_git=1 ;;
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
  recipe_of "${BASH_SOURCE[0]}" "$HERE/../lib.sh" "$BUSYBOX" "$HOST_CA_BUNDLE"
}

# fresh_rootfs IMAGE RECIPE: false when IMAGE is current (and --force is not
# given); otherwise lays out a new busybox rootfs in $WORK/rootfs for it.
fresh_rootfs() {
  local image="$1" recipe="$2"
  if ((force == 0)) && image_is_current "$image" "$recipe"; then
    log "$image is current (recipe $recipe); skipping (use --force to rebuild)"
    return 1
  fi
  rm -rf "$WORK/rootfs"
  make_rootfs "$WORK/rootfs"
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

# cached_binary PATH WHAT: prints PATH and succeeds when a cached binary is there.
cached_binary() {
  [[ -x "$1" ]] || return 1
  log "$2: cached at $1" >&2
  printf '%s\n' "$1"
}

# store_binary SOURCE PATH: puts an executable copy of SOURCE at PATH (atomically,
# so an interrupted download never leaves a half binary in the cache) and prints PATH.
store_binary() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp"
  chmod 0755 "$2.tmp"
  mv "$2.tmp" "$2"
  printf '%s\n' "$2"
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
  if cached_binary "$dir/codex" "codex $version"; then return 0; fi

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

  store_binary "$found" "$dir/codex"
  rm -rf "$pkgdir"
}

build_plain() {
  local recipe
  recipe="$(base_recipe)"
  fresh_rootfs "$PLAIN_IMAGE" "$recipe" || return 0
  import_rootfs "$WORK/rootfs" "$PLAIN_IMAGE" "$recipe"
  log "built $PLAIN_IMAGE"
}

build_codex() {
  local codex version recipe
  codex="$(codex_binary)"
  version="$("$codex" --version | awk '{print $NF}')"
  recipe="$(base_recipe)-codex-$version"
  fresh_rootfs "$CODEX_IMAGE" "$recipe" || return 0
  log "adding codex $version as /usr/local/bin/codex"
  cp "$codex" "$WORK/rootfs/usr/local/bin/codex"
  chmod 0755 "$WORK/rootfs/usr/local/bin/codex"
  import_rootfs "$WORK/rootfs" "$CODEX_IMAGE" "$recipe"
  log "built $CODEX_IMAGE (codex $version)"
}

# The shared libraries a host binary needs, with the dynamic loader: the
# absolute paths ldd resolves (vdso has none).
host_libraries() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }'
}

# add_libraries ROOT BINARY: copies what host_libraries lists for BINARY into ROOT.
add_libraries() {
  local root="$1" lib
  while IFS= read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(host_libraries "$2")
}

# Prints the path of a cached claude binary (glibc build) for
# BOTTLE_CLAUDE_VERSION, downloading its platform package from npm the first time.
claude_binary() {
  local version spec dir pkgdir tarball
  version="${BOTTLE_CLAUDE_VERSION:-$(npm_cached view @anthropic-ai/claude-code version)}"
  [[ -n "$version" ]] || die "could not resolve the @anthropic-ai/claude-code version from npm"
  spec="@anthropic-ai/claude-code-linux-$(host_npm_arch)@$version"
  dir="$BOTTLE_CACHE/claude/$version/$(host_npm_arch)"
  if cached_binary "$dir/claude" "claude $version"; then return 0; fi
  pkgdir="$WORK/claude-pkg"
  mkdir -p "$pkgdir"
  log "claude $version: npm pack $spec" >&2
  tarball="$(cd "$pkgdir" && npm_cached pack --silent "$spec" | tail -n 1)"
  tar -C "$pkgdir" -xzf "$pkgdir/$tarball" package/claude
  [[ -f "$pkgdir/package/claude" ]] || die "no claude binary inside $spec"
  "$pkgdir/package/claude" --version >&2 || die "the claude binary of $spec does not run on this host"
  store_binary "$pkgdir/package/claude" "$dir/claude"
  rm -rf "$pkgdir"
}

build_claude() {
  local claude version recipe lib
  claude="$(claude_binary)"
  version="$("$claude" --version | awk '{print $1}')"
  recipe="$(base_recipe)-claude-$version-$(
    while IFS= read -r lib; do sha256sum "$lib"; done < <(host_libraries "$claude") | sha256sum | cut -c1-16
  )"
  fresh_rootfs "$CLAUDE_IMAGE" "$recipe" || return 0
  log "adding claude $version as /usr/local/bin/claude, with its libraries"
  add_libraries "$WORK/rootfs" "$claude"
  cp "$claude" "$WORK/rootfs/usr/local/bin/claude"
  chmod 0755 "$WORK/rootfs/usr/local/bin/claude"
  import_rootfs "$WORK/rootfs" "$CLAUDE_IMAGE" "$recipe"
  if ! docker run --rm --network none --user 1000:1000 -e HOME=/home/node "$CLAUDE_IMAGE" claude --version; then
    docker image rm "$CLAUDE_IMAGE" >/dev/null 2>&1 || true
    die "claude does not run inside $CLAUDE_IMAGE"
  fi
  log "built $CLAUDE_IMAGE (claude $version)"
}

# The git-core programs that are not builtins but that ordinary commands call
# (submodule and its i18n helper, merge strategies, bisect); the big helpers
# (http, daemon, imap, shell, scalar) stay out.
readonly GIT_CORE_SCRIPTS=(git-sh-setup git-sh-i18n git-submodule git-merge-one-file
  git-merge-octopus git-merge-resolve git-bisect git-sh-i18n--envsubst)

git_recipe() {
  local lib
  {
    sha256sum "$HOST_GIT"
    while IFS= read -r lib; do sha256sum "$lib"; done < <(host_libraries "$HOST_GIT")
    for lib in "${GIT_CORE_SCRIPTS[@]}"; do sha256sum "$GIT_CORE/$lib"; done
    find "$GIT_CORE" -maxdepth 1 -type l -lname git -printf '%f\n' | LC_ALL=C sort
    find "$GIT_TEMPLATES" -type f -exec sha256sum {} + | LC_ALL=C sort
  } | sha256sum | cut -c1-16
}

# Adds the host's git to the rootfs in $1. /usr/lib/git-core/git and every
# builtin's git-<cmd> link point at the one /usr/bin/git.
add_git() {
  local root="$1" name
  log "adding $HOST_GIT, its libraries, the git-core builtins and templates"
  add_libraries "$root" "$HOST_GIT"
  cp "$HOST_GIT" "$root/usr/bin/git"
  mkdir -p "$root$GIT_CORE" "$root$(dirname "$GIT_TEMPLATES")"
  ln -s ../../bin/git "$root$GIT_CORE/git"
  while IFS= read -r name; do
    ln -s git "$root$GIT_CORE/$name"
  done < <(find "$GIT_CORE" -maxdepth 1 -type l -lname git -printf '%f\n')
  for name in "${GIT_CORE_SCRIPTS[@]}"; do cp "$GIT_CORE/$name" "$root$GIT_CORE/$name"; done
  cp -r "$GIT_TEMPLATES" "$root$GIT_TEMPLATES"
}

build_git() {
  local recipe version
  [[ -x "$HOST_GIT" && -d "$GIT_CORE" && -d "$GIT_TEMPLATES" ]] ||
    die "$HOST_GIT, $GIT_CORE or $GIT_TEMPLATES missing; run scripts/install-deps.sh (git)"
  version="$("$HOST_GIT" --version | awk '{print $NF}')"
  recipe="$(base_recipe)-git-$(git_recipe)"
  fresh_rootfs "$GIT_IMAGE" "$recipe" || return 0
  add_git "$WORK/rootfs"
  import_rootfs "$WORK/rootfs" "$GIT_IMAGE" "$recipe"
  # The check that matters: git works in the image as the agent user. A failed
  # image is dropped, so its recipe label cannot make the next run skip it.
  if ! docker run --rm --network none --user 1000:1000 -e HOME=/home/node -w /home/node "$GIT_IMAGE" \
    sh -c 'git init -q r && cd r && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m t'; then
    docker image rm "$GIT_IMAGE" >/dev/null 2>&1 || true
    die "git does not work inside $GIT_IMAGE"
  fi
  log "built $GIT_IMAGE (git $version)"
}

if ((want_plain)); then build_plain; fi
if ((want_codex)); then build_codex; fi
if ((want_claude)); then build_claude; fi
if ((want_git)); then build_git; fi
