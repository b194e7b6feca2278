#!/usr/bin/env bash
# Clone mode: create time and disk for 1 and N clone-mode bottles of one repository
# with about 50 MB of history, against a plain `git clone --no-hardlinks` of it.
# Figures only: nothing here asserts a target.
#
#   bash bench/clone_bench.sh [BOTTLE_CLI] [N]
#
# BOTTLE_CLI defaults to build/bin/bottle-cli, N to 10. Needs root, a Docker engine
# and the bottle-test-git:latest image (images/test/build.sh --git). Bottles are
# named bench-clone-*, their state lives in a temporary BOTTLE_HOME, and everything
# is removed on exit, whatever happens.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=${1:-$ROOT/build/bin/bottle-cli}
N=${2:-10}
IMAGE=bottle-test-git:latest
WORK=$(mktemp -d /tmp/bottle-clone-bench.XXXXXX)
export BOTTLE_HOME=$WORK/home
names=()

cleanup() {
  for n in "${names[@]}"; do "$CLI" rm --force "$n" >/dev/null 2>&1 || true; done
  # The repository's object cache outlives its bottles; this one goes with the run.
  docker volume ls -q --filter "label=io.bottle.repo=$WORK/repo" | xargs -r docker volume rm >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '[clone-bench] %s\n' "$*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
volume_mib() {
  local dir
  dir=$(docker volume inspect --format '{{.Mountpoint}}' "$1")
  du -sm "$dir" | cut -f1
}

say "making a repository with ~50 MB of history (50 commits of 1 MiB incompressible data)"
repo=$WORK/repo
git init -q -b main "$repo"
for i in $(seq 1 50); do
  head -c 1048576 /dev/urandom >"$repo/blob$((i % 5)).bin"
  git -C "$repo" add -A
  git -C "$repo" -c user.name=b -c user.email=b@b commit -q -m "commit $i"
done
git -C "$repo" gc -q
repo_mib=$(du -sm "$repo/.git" | cut -f1)

t0=$(now)
git clone -q --no-hardlinks "$repo" "$WORK/plain"
t1=$(now)
plain_mib=$(du -sm "$WORK/plain/.git" | cut -f1)

printf '| what | time (s) | disk (MiB) |\n|---|---|---|\n'
printf '| host repository (.git) | - | %s |\n' "$repo_mib"
printf '| `git clone --no-hardlinks` | %s | %s |\n' "$(secs "$t0" "$t1")" "$plain_mib"

total_start=$(now)
total_mib=0
for i in $(seq 1 "$N"); do
  n=bench-clone-$i
  names+=("$n")
  s=$(now)
  "$CLI" create --name "$n" --image "$IMAGE" --no-egress --repo "$repo" >/dev/null 2>&1
  e=$(now)
  mib=$(volume_mib "bottle-$n-repo")
  total_mib=$((total_mib + mib))
  if [[ $i -eq 1 ]]; then
    # Disk counts the repository's object cache volume once, plus each clone volume.
    cache=$(docker volume ls -q --filter "label=io.bottle.repo=$repo")
    cache_mib=$(volume_mib "$cache")
    total_mib=$((total_mib + cache_mib))
    printf '| 1 clone-mode bottle (`create`) | %s | %s (cache %s + clone %s) |\n' "$(secs "$s" "$e")" \
      "$((cache_mib + mib))" "$cache_mib" "$mib"
  fi
done
total_end=$(now)
printf '| %s clone-mode bottles, one after another | %s | %s (cache %s + clones %s) |\n' "$N" \
  "$(secs "$total_start" "$total_end")" "$total_mib" "$cache_mib" "$((total_mib - cache_mib))"
