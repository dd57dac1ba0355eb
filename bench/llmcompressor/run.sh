#!/usr/bin/env bash
# hfq beside llm-compressor on the bundled model: both quantize stories15M
# with the same calibration tokens (the first SAMPLES documents of
# stories-calib, BOS + at most 512 tokens each, tokenized once by hfq), and
# one evaluator (`hfq kl` against the float model, the first DOCS documents
# of stories-eval) measures both. llm-compressor runs on CPU from its pinned
# PyPI release in a venv cached outside the clone (keyed by
# requirements.txt); its result is written as the float weights its
# checkpoint decodes to (quantize.py), so no format conversion sits between
# the tools.
#
# Rows per setting: each tool at its defaults, hfq configured as
# llm-compressor's default (its actorder "static" = "weight" is hfq's
# --act-order --static-groups; its sequential pipeline, each layer
# calibrated on the quantized layers below, is --sequential=layers), hfq
# with act-order and a g_idx (GPTQ's desc_act; llm-compressor 0.14 refuses
# actorder "group" for GPTQ), then both without act-order. AWQ: both defaults, then each with the other's
# scaling (duo scaling on in hfq, off in llm-compressor).
#
# usage: bench/llmcompressor/run.sh [DOCS [SAMPLES]]   (defaults 6 and 32)
# Env: HFQ, MODEL, CALIB_TEXT, EVAL_TEXT, ONLY (extended regex of row
# labels), HFQ_CACHE_DIR (venv cache; default ~/.cache/hfq).
# Prints a Markdown table on stdout; logs go to $WORK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
HFQ=${HFQ:-$root/build/bin/hfq}
MODEL=${MODEL:-$root/models/stories15M}
CALIB_TEXT=${CALIB_TEXT:-$root/../shared/corpora/stories-calib.txt}
EVAL_TEXT=${EVAL_TEXT:-$root/../shared/corpora/stories-eval.txt}
DOCS=${1:-6}
SAMPLES=${2:-32}
WORK=${WORK:-$(mktemp -d)}
[ -x "$HFQ" ] || { echo "build hfq first (bash scripts/build.sh)" >&2; exit 1; }
for f in "$CALIB_TEXT" "$EVAL_TEXT"; do
  [ -f "$f" ] || { echo "no text at $f" >&2; exit 1; }
done

cache=${HFQ_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hfq}
key=$(cat "$here/requirements.txt" <(python3 -V 2>&1) | sha256sum | cut -c1-16)
venv=$cache/venv-llmcompressor-$key
if ! "$venv/bin/python" -c "import llmcompressor" > /dev/null 2>&1; then
  echo "llmcompressor: installing requirements.txt into $venv (several GB)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$here/requirements.txt" >&2 ||
    { echo "llm-compressor could not be installed; no comparison" >&2; exit 1; }
fi
py=$venv/bin/python

# The calibration samples: as hfq calibrate takes them.
head -n "$SAMPLES" <(grep -v '^$' "$CALIB_TEXT") > "$WORK/calib.txt"
"$HFQ" tokenize "$MODEL" --file "$WORK/calib.txt" --lines |
  awk '{ n = NF > 512 ? 512 : NF; s = $1; for (i = 2; i <= n; i++) s = s " " $i; print s }' \
    > "$WORK/calib.ids"
"$HFQ" calibrate "$MODEL" --text "$WORK/calib.txt" --samples "$SAMPLES" \
  --seq-len 512 -o "$WORK/calib.safetensors" --quiet

kl() { # MODEL_DIR -> "kl top1"
  "$HFQ" kl "$1" --reference "$MODEL" --text "$EVAL_TEXT" --docs "$DOCS" --quiet |
    awk '/^kl:/ { print $2, $4 }'
}
n=0
row() { # LABEL | TOOL | ARGS...
  local label=$1 tool=$2; shift 2
  n=$((n + 1))
  if [ -n "${ONLY:-}" ] && ! [[ $label =~ $ONLY ]]; then return; fi
  local out=$WORK/m$n start=$SECONDS
  if [ "$tool" = hfq ]; then
    "$HFQ" quantize "$MODEL" -o "$out" --calib "$WORK/calib.safetensors" --quiet \
      "$@" 2> "$out.log" || { echo "| $label | $tool | failed: $(tail -1 "$out.log") |"; return; }
  else
    "$py" "$here/quantize.py" --model "$MODEL" --ids "$WORK/calib.ids" --out "$out" \
      "$@" > "$out.log" 2>&1 || { echo "| $label | $tool | failed: $(tail -1 "$out.log") |"; return; }
  fi
  local secs=$((SECONDS - start))
  read -r k t < <(kl "$out")
  echo "| $label | $tool | $* | $k | $t | $secs |"
}

echo "| setting | tool | options | KL | top-1 | quantize s |"
echo "|---|---|---|---|---|---|"
for cfg in "W4 g32 asym|4 32|" "W4 g32 sym|4 32|--sym" \
           "W4 per-channel asym|4 0|" "W3 g32 asym|3 32|"; do
  IFS='|' read -r label bg sym <<< "$cfg"
  read -r b g <<< "$bg"
  row "$label" hfq --method gptq --bits "$b" --group-size "$g" $sym
  row "$label" llm-compressor --method gptq --bits "$b" --group-size "$g" $sym
  row "$label (as llmc's default)" hfq --method gptq --bits "$b" --group-size "$g" $sym --act-order --static-groups --sequential=layers
  row "$label (act-order, g_idx)" hfq --method gptq --bits "$b" --group-size "$g" $sym --act-order --static-groups=false
  row "$label (no act-order)" hfq --method gptq --bits "$b" --group-size "$g" $sym --act-order=false --static-groups
  row "$label (no act-order)" llm-compressor --method gptq --bits "$b" --group-size "$g" $sym --actorder none
done
row "AWQ W4 g32 asym" hfq --method awq --bits 4 --group-size 32
row "AWQ W4 g32 asym" llm-compressor --method awq --bits 4 --group-size 32
row "AWQ W4 g32 asym (duo scaling)" hfq --method awq --bits 4 --group-size 32 --duo-scaling
row "AWQ W4 g32 asym (no duo scaling)" llm-compressor --method awq --bits 4 --group-size 32 --duo-scaling off
echo "logs and models: $WORK" >&2
