#!/usr/bin/env bash
# The demo on the embedded default. Until the end-to-end MoDE pipeline lands, it shows the compute
# core: the BLAS in use and GEMM throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=.build/release/mode
"$mode" info
"$mode" bench gemm --m 1024 --n 1024 --k 1024
