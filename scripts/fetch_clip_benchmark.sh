#!/usr/bin/env bash
# Installs clip_benchmark (PyPI clip-benchmark 1.6.2, its Python files only: no dependencies, so no
# PyTorch) into .deps/clip-benchmark, where tools/clip_benchmark_build.py runs its `build` command
# over our result files for the tests. The wheel's hash is pinned. Idempotent: returns at once
# when the package is present. Environment: MODE_CLIP_BENCHMARK_DIR overrides the destination.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${MODE_CLIP_BENCHMARK_DIR:-.deps/clip-benchmark}
version=1.6.2
sha256=6fbfd39b454a036a628b7e227b3d4050015009afe418583f21f27886c74e4998

log() { printf '\033[1m[clip_benchmark]\033[0m %s\n' "$*"; }

if [ -f "$dest/clip_benchmark/cli.py" ] && ls "$dest"/clip_benchmark-$version.dist-info >/dev/null 2>&1; then
  log "clip_benchmark $version present in $dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "clip-benchmark==$version --hash=sha256:$sha256" > "$tmp/requirements.txt"
log "installing clip_benchmark $version (about 2 MB, without dependencies) into $dest"
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
  --no-deps --require-hashes --target "$tmp/pkg" -r "$tmp/requirements.txt"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp/pkg" "$dest"
log "clip_benchmark $version ready in $dest"
