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

# lit first, so its summary names any UNSUPPORTED (skipped) tests; then
# ctest runs everything else and prints the closing summary line.
lit_status=0
/usr/lib/llvm-22/bin/lit -sv --show-unsupported "$build/test" || lit_status=$?
cd "$build"
ctest_status=0
ctest --output-on-failure -j "$(nproc)" -E '^lit$' || ctest_status=$?
[ "$lit_status" -eq 0 ] && [ "$ctest_status" -eq 0 ]
