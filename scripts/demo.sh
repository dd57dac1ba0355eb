#!/usr/bin/env bash
# The README's main job, on the bundled stories15M model: installs what is
# missing, builds, then tokenizes, imports and runs the model through hfq's
# compiler (greedy generation), and quantizes every linear weight through
# the compiler with three schemes, reporting the error per tensor.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
hfq="${HFQ_BUILD_DIR:-$root/build}/bin/hfq"
model="$root/models/stories15M"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== tokenize"
"$hfq" tokenize "$model" --text "Once upon a time"
echo
echo "== import (weights stay in model.safetensors; the .mlir references them)"
"$hfq" import "$model" -o "$out/stories15M.mlir"
echo "$(grep -c 'hfq.linear' "$out/stories15M.mlir") hfq.linear ops, $(wc -c < "$out/stories15M.mlir") bytes of IR"
echo
echo "== generate (greedy; reference lowering, JIT)"
"$hfq" generate "$model" --prompt "Once upon a time" --max-tokens 50
echo
echo "== RTN int4, groups of 32, asymmetric"
"$hfq" quant-error "$model" --method rtn --bits 4 --group-size 32 --quiet
echo
echo "== RTN int8, per output channel, symmetric"
"$hfq" quant-error "$model" --method rtn --bits 8 --group-size 0 --sym --quiet | tail -n 3
echo
echo "== bitsandbytes NF4, blocks of 64, double-quantized absmax"
"$hfq" quant-error "$model" --method nf4 --group-size 64 --double-quant --quiet | tail -n 2
