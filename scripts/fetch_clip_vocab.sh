#!/usr/bin/env bash
# Places open_clip's CLIP BPE vocabulary at .deps/clip/bpe_simple_vocab_16e6.txt.gz.
# The file ships inside the open_clip_torch wheel on PyPI; this downloads that wheel (about 1.5 MB,
# no dependencies) into a temporary folder and extracts the one file. Idempotent: returns at once
# when the file is already there. Environment: MODE_OPEN_CLIP_VERSION overrides the wheel version.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${MODE_OPEN_CLIP_VERSION:-3.3.0}"
name=bpe_simple_vocab_16e6.txt.gz
dest=.deps/clip
log() { printf '\033[1m[clip-vocab]\033[0m %s\n' "$*"; }

if [ -s "$dest/$name" ]; then
  log "present: $dest/$name"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "downloading open_clip_torch==$version from PyPI (for $name)"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :none: \
  -d "$tmp" "open_clip_torch==$version"
wheel=$(ls "$tmp"/open_clip_torch-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "no open_clip_torch wheel was downloaded" >&2; exit 1; }

# Extract only open_clip/<name>; python's zipfile avoids needing unzip.
python3 - "$wheel" "$tmp/$name" "open_clip/$name" <<'PY'
import sys, zipfile
wheel, out, member = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(member))
PY
# A gzip stream starts with 1f 8b; anything else means the wheel layout changed.
python3 -c 'import gzip,sys; n=len(gzip.open(sys.argv[1]).read().split(b"\n")); sys.exit(0 if n > 49000 else 1)' "$tmp/$name" \
  || { echo "extracted $name is not a valid vocabulary" >&2; exit 1; }
mkdir -p "$dest"
mv "$tmp/$name" "$dest/$name.partial"
mv "$dest/$name.partial" "$dest/$name"
log "installed $dest/$name"
