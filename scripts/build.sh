#!/usr/bin/env bash
# Configures (once) and builds hfq into ${HFQ_BUILD_DIR:-build} with the
# fastest toolchain measured for Debian's LLVM 22: clang-22, lld, ccache,
# ninja, linking libMLIR.so.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HFQ_BUILD_DIR:-$root/build}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
fi
cmake --build "$build"
