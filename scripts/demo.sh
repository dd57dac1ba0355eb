#!/usr/bin/env bash
# The README's main job, on the bundled stories15M model: installs what is
# missing, builds, then tokenizes, imports and runs the model through hfq's
# compiler (greedy generation), quantizes it with three methods into
# quantized model directories, runs them and reports perplexity, KL and
# top-1 agreement against the float model.
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
echo "== quantize: RTN int4, groups of 32 (hfq-quantize-linears), then run the quantized directory"
"$hfq" quantize "$model" -o "$out/rtn4-g32" --method rtn --bits 4 --group-size 32 2>&1 | tail -n 1
"$hfq" generate "$out/rtn4-g32" --prompt "Once upon a time" --max-tokens 50
"$hfq" kl "$out/rtn4-g32" --reference "$model" --text "$root/test/Tools/hfq/Inputs/two-stories.txt" --quiet
echo
echo "== quantize: bitsandbytes NF4 with double-quantized absmax"
"$hfq" quantize "$model" -o "$out/nf4-dq" --method nf4 --double-quant 2>&1 | tail -n 1
"$hfq" kl "$out/nf4-dq" --reference "$model" --text "$root/test/Tools/hfq/Inputs/two-stories.txt" --quiet
echo
echo "== quantize: LLM.int8 (int8 weights, outlier columns in float at run time)"
"$hfq" quantize "$model" -o "$out/int8" --method int8 2>&1 | tail -n 1
"$hfq" kl "$out/int8" --reference "$model" --text "$root/test/Tools/hfq/Inputs/two-stories.txt" --quiet
echo
echo "== the compiler's own quantizer (hfq.quantize, JIT) cross-checked against the numerics library"
"$hfq" quant-error "$model" --method rtn --bits 4 --group-size 32 --quiet | tail -n 2
