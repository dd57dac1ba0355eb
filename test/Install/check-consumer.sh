#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then configures, builds and
# runs test/Install/consumer against it with find_package(HFQ).
# Usage: check-consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
work="$build/test/install-check"
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work.install.log" 2>&1 ||
  { cat "$work.install.log"; exit 1; }
cmake -G Ninja -S "$src/test/Install/consumer" -B "$work/consumer" \
  -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_COMPILER=clang++-22 -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/consumer" > "$work.build.log" 2>&1 ||
  { cat "$work.build.log"; exit 1; }
"$work/consumer/hfq-consumer"
