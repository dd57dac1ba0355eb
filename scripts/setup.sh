#!/usr/bin/env bash
# Installs what building and testing hfq needs on Debian bookworm, from
# Debian's archive only (LLVM/MLIR 22 come from bookworm-security).
# Idempotent: when everything is installed it changes nothing.
set -euo pipefail

packages=(
  cmake ninja-build ccache python3 python3-venv
  clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  nlohmann-json3-dev libgtest-dev libicu-dev libclang-rt-22-dev libopenblas-dev libomp-22-dev
)

# With HFQ_SETUP_ORACLES=1 (scripts/test.sh sets it), also Debian's
# CPU-only torch, for the Hugging Face transformers logits oracle.
if [ "${HFQ_SETUP_ORACLES:-0}" = 1 ]; then
  packages+=(python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
