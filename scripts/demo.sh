#!/usr/bin/env bash
# The README's main job, on the bundled stories15M model: installs what is
# missing, builds, then quantizes every linear weight through the compiler
# with three schemes and reports the error per tensor.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
hfq="${HFQ_BUILD_DIR:-$root/build}/bin/hfq"
model="$root/models/stories15M"

echo "== the checkpoint"
"$hfq" inspect "$model" | tail -n 4
echo
echo "== RTN int4, groups of 32, asymmetric"
"$hfq" quant-error "$model" --method rtn --bits 4 --group-size 32 --quiet
echo
echo "== RTN int8, per output channel, symmetric"
"$hfq" quant-error "$model" --method rtn --bits 8 --group-size 0 --sym --quiet | tail -n 3
echo
echo "== bitsandbytes NF4, blocks of 64, double-quantized absmax"
"$hfq" quant-error "$model" --method nf4 --group-size 64 --double-quant --quiet | tail -n 2
