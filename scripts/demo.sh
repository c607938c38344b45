#!/usr/bin/env bash
# The demo on the embedded default: the compute core in use, then the whole MoDE pipeline on the
# built-in synthetic corpus (`mode demo`), with its report in ${MODE_DEMO_DIR:-demo-out}.
# Finished steps are skipped on a rerun (pass --force through MODE_DEMO_ARGS to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=.build/release/mode
"$mode" info
"$mode" demo --out "${MODE_DEMO_DIR:-demo-out}" ${MODE_DEMO_ARGS:-}
