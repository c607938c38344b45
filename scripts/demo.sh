#!/usr/bin/env bash
# The demo on the embedded default, as far as the pipeline reaches today: the compute core (BLAS
# in use, GEMM throughput), the built-in synthetic corpus, caption embeddings with the default
# encoder, a tiny CLIP trained on the corpus's shards and its zero-shot evaluation. Output goes to ${MODE_DEMO_DIR:-demo-out}.
# Steps already done are skipped (delete the folder to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=.build/release/mode
out=${MODE_DEMO_DIR:-demo-out}
mkdir -p "$out"

"$mode" info
"$mode" bench gemm --m 1024 --n 1024 --k 1024

[ -f "$out/corpus/manifest.json" ] || "$mode" synth --out "$out/corpus" --pairs 20000 --size 32

# Caption embeddings of 300 captions (all-MiniLM-L6-v2, fetched by the setup).
if [ ! -f "$out/captions.safetensors" ]; then
  shard="$out/corpus/train/00000.tar"
  for m in $(tar -tf "$shard" | grep '\.txt$' | head -n 300); do tar -xOf "$shard" "$m"; echo; done > "$out/captions.txt"
  "$mode" embed --text-file "$out/captions.txt" --out "$out/captions.safetensors"
fi

# A tiny CLIP on the corpus (resumes if interrupted).
resume=""
[ -f "$out/run-tiny/params.json" ] && resume="--resume"
"$mode" train --config tiny --data "$out/corpus/train/{00000..00019}.tar" --batch 128 --steps 150 \
  --warmup 15 --lr 1e-3 --save-every 50 --out "$out/run-tiny" $resume

# Zero-shot evaluation of the trained model on the corpus's held-out tasks.
"$mode" eval --checkpoint "$out/run-tiny" --tasks "$out/corpus/tasks" --out "$out/eval"
echo "demo outputs: $out (corpus, caption embeddings, run-tiny with metrics.jsonl and checkpoints, eval/summary.md)"
