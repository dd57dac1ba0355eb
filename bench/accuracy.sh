#!/usr/bin/env bash
# Accuracy of the calibration-free quantizers on the bundled model: one row
# per method and setting with the effective bits per weight of the quantized
# linears (codes + scales + zeros / absmax, as stored), the size of the
# quantized model.safetensors, perplexity, KL divergence and top-1 agreement
# against the float model (hfq kl, same windows), and the quantization time.
#
# usage: bench/accuracy.sh [DOCS [SET]]
#   DOCS: first N documents of the eval text (0 = all; default 10);
#   SET:  free (default: the calibration-free methods), gptq (GPTQ, with
#         act-order and sequential=linears, next to RTN at the same settings),
#         prune (SparseGPT next to magnitude pruning, structured and coupled
#         rows) or calib (RTN, GPTQ and AWQ at 4/3 bits per-channel and g32,
#         SpQR, then the pruning rows: the calibration-based table); all but
#         free need CALIB=statistics from hfq calibrate, or storage (each
#         affine method with the default f16 scales and packed zeros next
#         to f32 scales and i32 zeros; needs CALIB).
# Env: HFQ (the hfq binary), MODEL, TEXT, CALIB, ONLY (an extended regex:
# run only the rows whose label matches).
# The gptq and awq rows spell out the settings the README tables were
# measured with (act-order = desc_act with a g_idx; AWQ scaling by
# activations only); the defaults changed since, and bench/llmcompressor
# measures them.
# Prints a Markdown table on stdout; progress and logs go to stderr/$WORK.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
HFQ=${HFQ:-$here/build/bin/hfq}
MODEL=${MODEL:-$here/models/stories15M}
TEXT=${TEXT:-$here/../shared/corpora/stories-eval.txt}
DOCS=${1:-10}
SET=${2:-free}
WORK=${WORK:-$(mktemp -d)}
[ -x "$HFQ" ] || { echo "build hfq first (bash scripts/build.sh)" >&2; exit 1; }
[ -f "$TEXT" ] || { echo "no evaluation text at $TEXT" >&2; exit 1; }

if [ "$SET" != free ]; then
  [ -f "${CALIB:-}" ] || { echo "SET=$SET needs CALIB=<stats.safetensors>" >&2; exit 1; }
fi
prune_configs=(
  "magnitude 50%|prune --method magnitude --sparsity 0.5"
  "sparsegpt 50%|prune --method sparsegpt --sparsity 0.5 --calib ${CALIB:-}"
  "magnitude 2:4|prune --method magnitude --pattern 2:4"
  "sparsegpt 2:4|prune --method sparsegpt --pattern 2:4 --calib ${CALIB:-}"
  "magnitude 25%|prune --method magnitude --sparsity 0.25"
  "sparsegpt 25%|prune --method sparsegpt --sparsity 0.25 --calib ${CALIB:-}"
  "sparsegpt 50% + 4-bit per-channel|prune --method sparsegpt --sparsity 0.5 --bits 4 --calib ${CALIB:-}"
  "structured: 25% of MLP rows (gate/up)|prune --method structured --sparsity 0.25 --axis 0 --include (gate|up)_proj"
  "structured coupled: 25% of MLP channels|prune --method structured --coupled=mlp --sparsity 0.25"
  "structured coupled: 1 of 6 attention heads per layer (q/k/v/o)|prune --method structured --coupled=heads --sparsity 0.17"
)
# RTN next to GPTQ (and AWQ) at 4/3 bits, per-channel and g32.
quant_configs=()
for bits in 4 3; do
  for g in 0 32; do
    label=$([ $g = 0 ] && echo per-channel || echo g$g)
    quant_configs+=("rtn $bits-bit $label|--method rtn --bits $bits --group-size $g")
    quant_configs+=("gptq $bits-bit $label|--method gptq --calib ${CALIB:-} --bits $bits --group-size $g --act-order=false --static-groups=false")
    quant_configs+=("gptq $bits-bit $label act-order|--method gptq --calib ${CALIB:-} --bits $bits --group-size $g --act-order --static-groups=false")
    quant_configs+=("gptq $bits-bit $label act-order sequential=linears|--method gptq --calib ${CALIB:-} --bits $bits --group-size $g --act-order --static-groups=false --sequential=linears")
    if [ "$SET" = calib ]; then
      quant_configs+=("awq $bits-bit $label|--method awq --calib ${CALIB:-} --bits $bits --group-size $g --duo-scaling=false")
    fi
  done
done
f32="--scale-type f32 --pack-zeros=false"
storage_configs=()
for entry in \
    "rtn 4-bit per-channel|--method rtn --bits 4 --group-size 0" \
    "rtn 4-bit g32|--method rtn --bits 4 --group-size 32" \
    "rtn 3-bit g32|--method rtn --bits 3 --group-size 32" \
    "hqq 4-bit g32|--method hqq --bits 4 --group-size 32" \
    "gptq 4-bit g32 act-order|--method gptq --calib ${CALIB:-} --bits 4 --group-size 32 --act-order --static-groups=false" \
    "gptq 3-bit g32 act-order|--method gptq --calib ${CALIB:-} --bits 3 --group-size 32 --act-order --static-groups=false" \
    "awq 4-bit g32|--method awq --calib ${CALIB:-} --bits 4 --group-size 32 --duo-scaling=false"; do
  storage_configs+=("${entry%%|*}, f32 scales + i32 zeros|${entry#*|} $f32"
                    "${entry%%|*}, f16 scales + packed zeros|${entry#*|}")
done
if [ "$SET" = storage ]; then
  configs=("${storage_configs[@]}")
elif [ "$SET" = calib ]; then
  configs=("${quant_configs[@]}"
           "spqr 3-bit g16, 3-bit statistics, outliers|--method spqr --calib ${CALIB:-}"
           "${prune_configs[@]}")
elif [ "$SET" = prune ]; then
  configs=("${prune_configs[@]}")
elif [ "$SET" = gptq ]; then
  configs=("${quant_configs[@]}")
else
configs=(
  "rtn 8-bit per-channel|--method rtn --bits 8 --group-size 0"
  "rtn 8-bit g32|--method rtn --bits 8 --group-size 32"
  "rtn 4-bit per-channel|--method rtn --bits 4 --group-size 0"
  "rtn 4-bit g32|--method rtn --bits 4 --group-size 32"
  "rtn 4-bit g32 mse-clip|--method rtn --bits 4 --group-size 32 --mse-clip"
  "rtn 3-bit per-channel|--method rtn --bits 3 --group-size 0"
  "rtn 3-bit g32|--method rtn --bits 3 --group-size 32"
  "nf4 (block 64)|--method nf4"
  "nf4 + double quant|--method nf4 --double-quant"
  "fp4 (block 64)|--method fp4"
  "fp4 + double quant|--method fp4 --double-quant"
  "LLM.int8 (threshold 6)|--method int8"
  "hqq 4-bit g32|--method hqq --bits 4 --group-size 32"
  "hqq 3-bit g32|--method hqq --bits 3 --group-size 32"
  "hqq 2-bit g32|--method hqq --bits 2 --group-size 32"
  "fp8 E4M3 per-channel|--method fp8"
  "fp8 E4M3 g32|--method fp8 --group-size 32"
  "mxfp8 (E4M3, E8M0 per 32)|--method mxfp8"
  "mxfp4 (E2M1, E8M0 per 32)|--method mxfp4"
  "nvfp4 (E2M1, E4M3 per 16, f32 per tensor)|--method nvfp4"
)
fi

echo "| method | sparsity | bits/weight | model bytes | perplexity | KL vs float | top-1 | seconds |"
echo "|---|---|---|---|---|---|---|---|"
float_bytes=$(stat -c %s "$MODEL/model.safetensors")
i=0
for entry in "${configs[@]}"; do
  name=${entry%%|*}; args=${entry#*|}; i=$((i + 1))
  [[ -z "${ONLY:-}" || "$name" =~ $ONLY ]] || continue
  out="$WORK/q$i"
  rm -rf "$out"
  echo "[$i/${#configs[@]}] $name" >&2
  case "$args" in prune*) tool=prune; args=${args#prune } ;; *) tool=quantize ;; esac
  # shellcheck disable=SC2086
  summary=$("$HFQ" $tool "$MODEL" -o "$out" $args 2>&1 | grep "^hfq $tool: ")
  bits=$(sed -n 's/.* \([0-9.]*\) bits per weight.*/\1/p' <<<"$summary")
  bytes=$(stat -c %s "$out/model.safetensors")
  secs=$(sed -n 's/.*(\([0-9.]*\) s in the pass).*/\1/p' <<<"$summary")
  zeros=$(sed -n 's/.*: \([0-9.]*\)% zeros.*/\1/p' <<<"$summary" | head -1)
  case "$args" in
    *--pattern*|*2:4*) sparsity="50% (2:4)" ;;
    *--sparsity*) s=${args#*--sparsity }; s=${s%% *}
                  sparsity=${zeros:-$(awk "BEGIN{print $s*100}")}%
                  [ -n "$zeros" ] || sparsity="$sparsity (kept weights quantized)" ;;
    *) sparsity="" ;;
  esac
  kl=$("$HFQ" kl "$out" --reference "$MODEL" --text "$TEXT" --docs "$DOCS" --quiet)
  klv=$(sed -n 's/^kl: \([0-9.]*\) top1: \([0-9.]*\)%.*/\1/p' <<<"$kl")
  top1=$(sed -n 's/^kl: \([0-9.]*\) top1: \([0-9.]*\)%.*/\2/p' <<<"$kl")
  ppl=$(sed -n 's/^perplexity: \([0-9.]*\) (reference \([0-9.]*\))/\1/p' <<<"$kl")
  ref=$(sed -n 's/^perplexity: \([0-9.]*\) (reference \([0-9.]*\))/\2/p' <<<"$kl")
  positions=$(sed -n 's/.*(\([0-9]*\) positions).*/\1/p' <<<"$kl")
  echo "| $name | ${sparsity:--} | ${bits:-32 (dense)} | $bytes | $ppl | $klv | $top1% | ${secs:--} |"
  rm -rf "$out"
done
echo "| float32 (reference) | 0 | 32 | $float_bytes | $ref | 0 | 100% | - |"
echo
echo "Evaluated on ${positions} positions (first ${DOCS} documents of $(basename "$TEXT"); 0 = all)."
if [ "$SET" = free ]; then
  g128=$("$HFQ" quantize "$MODEL" -o "$WORK/g128" --method rtn --bits 4 --group-size 128 2>&1 || true)
  echo "Group size 128: \`$(tail -1 <<<"$g128")\`"
fi
