#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every
# test (gtest suites, the lit suite, the installed-package consumer build)
# through ctest. The last line printed is ctest's summary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
cd "${HFQ_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)"
