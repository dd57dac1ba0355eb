#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every
# test: the lit suite (directly, so skipped tests are listed), then through
# ctest the gtest suites, the fuzz tier and the installed-package consumer
# build. The last lines printed are ctest's summary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
build="${HFQ_BUILD_DIR:-$root/build}"

# Hugging Face `tokenizers`, the reference the tokenizer tests compare with,
# goes into a venv in the build tree when PyPI is reachable; without it those
# tests are reported UNSUPPORTED.
venv="$build/pyenv"
if ! "$venv/bin/python" -c "import tokenizers" 2>/dev/null; then
  if python3 -m venv "$venv" &&
     timeout 300 "$venv/bin/pip" install -q --disable-pip-version-check "tokenizers==0.21.1"; then
    echo "test: installed tokenizers 0.21.1 into $venv"
  else
    echo "test: Hugging Face tokenizers unavailable; its comparison tests will be skipped"
  fi
fi

# The logits oracle: Hugging Face transformers on Debian's CPU-only torch
# (small, no CUDA libraries) in a venv that sees the system packages.
tvenv="$build/pyenv-torch"
if ! "$tvenv/bin/python" -c "import torch, transformers, safetensors" 2>/dev/null; then
  if HFQ_SETUP_ORACLES=1 bash "$root/scripts/setup.sh" &&
     /usr/bin/python3 -m venv --system-site-packages "$tvenv" &&
     timeout 600 "$tvenv/bin/pip" install -q --disable-pip-version-check \
       "transformers==4.37.2" "safetensors==0.4.5"; then
    echo "test: transformers 4.37.2 on Debian's torch ready in $tvenv"
  else
    echo "test: torch/transformers unavailable; the logits oracle test will be skipped"
  fi
fi

# lit first, so its summary names any UNSUPPORTED (skipped) tests; then
# ctest runs everything else and prints the closing summary line.
lit_status=0
/usr/lib/llvm-22/bin/lit -sv --show-unsupported "$build/test" || lit_status=$?
cd "$build"
ctest_status=0
ctest --output-on-failure -j "$(nproc)" -E '^lit$' || ctest_status=$?
[ "$lit_status" -eq 0 ] && [ "$ctest_status" -eq 0 ]
