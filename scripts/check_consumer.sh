#!/usr/bin/env bash
# Builds and runs Examples/Consumer, a package that depends on MoDE BY VERSION, as a user's package
# would: SwiftPM refuses unsafe compiler flags in such a dependency, which a path dependency or
# this repository's own build would not reveal. The repository's current state (HEAD plus changes
# to tracked files) is pushed to a bare repository under .build-consumer/ with a version tag, and
# the example resolves MoDE from there. Checks the example's output; exits non-zero on failure.
# Environment: MODE_CONSUMER_CONFIG=debug|release (default debug: compiles faster; the run is tiny).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch="$root/.build-consumer"
bare="$scratch/MoDE.git"
config="${MODE_CONSUMER_CONFIG:-debug}"

log() { printf '\033[1m[consumer]\033[0m %s\n' "$*"; }

# A fresh bare repository holding one tag. The patch number grows with time, so SwiftPM's cached
# clone of an earlier run resolves the newest tag without forcing tags over old ones.
rev=$(git stash create 2>/dev/null || true)
rev=${rev:-HEAD}
version="0.1.$(date +%s)"
mkdir -p "$scratch"
rm -rf "$bare"
git init -q --bare "$bare"
git push -q "$bare" "$rev:refs/tags/$version"
log "MoDE $version ($(git rev-parse --short "$rev")) from $bare"

export MODE_PACKAGE_URL="file://$bare"
rm -f Examples/Consumer/Package.resolved
if ! swift package --package-path Examples/Consumer --scratch-path "$scratch" update >"$scratch/resolve.log" 2>&1; then
  cat "$scratch/resolve.log" >&2
  echo "consumer: resolving the example's dependencies failed" >&2
  exit 1
fi
resolved=$(grep -o '"version" *: *"[^"]*"' Examples/Consumer/Package.resolved | grep -c "\"$version\"" || true)
[ "$resolved" = 1 ] || { echo "consumer: MoDE did not resolve to $version" >&2; cat Examples/Consumer/Package.resolved >&2; exit 1; }

log "building the example ($config)"
if ! swift build -c "$config" --package-path Examples/Consumer --scratch-path "$scratch" >"$scratch/build.log" 2>&1; then
  grep -v -E '^\[[0-9]+/[0-9]+\]' "$scratch/build.log" >&2
  echo "consumer: build failed" >&2
  exit 1
fi
bin="$scratch/$config/Consumer"

out=$("$bin")
echo "$out"
expect() { grep -qxF "$1" <<<"$out" || { echo "consumer: expected the line: $1" >&2; exit 1; }; }
expect "image features [4, 128] text features [4, 128] finite true"
expect "kmeans k 8 points 512 sizes [64, 64, 64, 64, 64, 64, 64, 64]"
log "ok"
