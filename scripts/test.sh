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

# Python oracles go into venvs cached outside the clone, keyed by their
# pinned requirements (and the Python version), so a fresh clone reuses
# them; build/pyenv and build/pyenv-torch link to them for the tests. A
# venv that cannot be built leaves its tests UNSUPPORTED, with the reason.
cache="${HFQ_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hfq}"
# oracle_venv LINK CHECK_IMPORTS VENV_FLAGS REQUIREMENTS...
oracle_venv() {
  local link=$1 imports=$2 flags=$3
  shift 3
  local key venv
  key=$(printf '%s\n' "$flags" "$@" "$(/usr/bin/python3 -V 2>&1)" | sha256sum | cut -c1-16)
  venv="$cache/venv-$(basename "$link")-$key"
  if ! "$venv/bin/python" -c "import $imports" > /dev/null 2>&1; then
    rm -rf "$venv"
    mkdir -p "$cache"
    # shellcheck disable=SC2086
    /usr/bin/python3 -m venv $flags "$venv" &&
      timeout 600 "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" ||
      { rm -rf "$venv"; return 1; }
    echo "test: installed $* into $venv"
  fi
  rm -rf "$link"
  ln -s "$venv" "$link"
}

# Hugging Face `tokenizers`, the reference the tokenizer tests compare with.
oracle_venv "$build/pyenv" tokenizers "" "tokenizers==0.21.1" ||
  echo "test: Hugging Face tokenizers unavailable; its comparison tests will be skipped"

# The logits oracle: Hugging Face transformers on Debian's CPU-only torch
# (small, no CUDA libraries) in a venv that sees the system packages.
if HFQ_SETUP_ORACLES=1 bash "$root/scripts/setup.sh"; then
  oracle_venv "$build/pyenv-torch" "torch, transformers, safetensors" \
    --system-site-packages "transformers==4.37.2" "safetensors==0.4.5" ||
    echo "test: torch/transformers unavailable; the logits oracle test will be skipped"
else
  echo "test: Debian's torch could not be installed; the logits oracle test will be skipped"
fi

# lit first, so its summary names any UNSUPPORTED (skipped) tests; then
# ctest runs everything else and prints the closing summary line.
lit_status=0
/usr/lib/llvm-22/bin/lit -sv --show-unsupported "$build/test" || lit_status=$?
cd "$build"
ctest_status=0
ctest --output-on-failure -j "$(nproc)" -E '^lit$' || ctest_status=$?
[ "$lit_status" -eq 0 ] && [ "$ctest_status" -eq 0 ]
