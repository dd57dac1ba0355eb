"""Checks `hfq calibrate` output against statistics computed independently.

usage: check_calibration.py STATS MODEL_DIR IDS_FILE
IDS_FILE: the token ids of each calibration sample, one sample per line (as
`hfq tokenize --lines` prints them, already truncated to the sequence length).

Layer 0's attention input is RMSNorm(embedding rows): it is recomputed here in
double precision from the checkpoint and compared with the recorded XᵀX,
mean |x|, max |x| and token count (relative tolerance 1e-5: the model computes
in float32). For every linear, invariants are checked: XᵀX symmetric with a
non-negative diagonal, mean(x²) >= (mean|x|)², max|x|² >= mean(x²), and
linears sharing an input carry identical statistics. The sample lengths and
token ids stored for sequential GPTQ must be the samples'.
"""
import json
import math
import sys

from hfq_model import read_safetensors


stats_path, model_dir, ids_path = sys.argv[1:4]
stats = read_safetensors(stats_path)
weights = read_safetensors(model_dir + "/model.safetensors")
config = json.load(open(model_dir + "/config.json"))
hidden, eps = config["hidden_size"], config["rms_norm_eps"]
embed = weights["model.embed_tokens.weight"][1]
norm = weights["model.layers.0.input_layernorm.weight"][1]

rows = []
ids = [list(map(int, line.split())) for line in open(ids_path)]
if list(stats["calibration.sequence_lengths"][1]) != [len(s) for s in ids]:
    sys.exit("calibration.sequence_lengths differ from the samples")
if list(stats["calibration.token_ids"][1]) != [t for s in ids for t in s]:
    sys.exit("calibration.token_ids differ from the samples' tokens")
for sample in ids:
    for tok in sample:
        x = embed[tok * hidden:(tok + 1) * hidden]
        r = 1 / math.sqrt(sum(v * v for v in x) / hidden + eps)
        rows.append([norm[i] * (x[i] * r) for i in range(hidden)])

xtx = [[0.0] * hidden for _ in range(hidden)]
for row in rows:
    for i in range(hidden):
        ri = row[i]
        xi = xtx[i]
        for j in range(hidden):
            xi[j] += ri * row[j]


def close(a, b, scale):
    return abs(a - b) <= 1e-5 * scale + 1e-12


name = "model.layers.0.self_attn.q_proj"
got_xtx = stats[name + ".xtx"][1]
scale = max(abs(v) for v in got_xtx)
bad = [(i, j) for i in range(hidden) for j in range(hidden)
       if not close(got_xtx[i * hidden + j], xtx[i][j], scale)]
if bad:
    i, j = bad[0]
    sys.exit(f"{name}.xtx[{i},{j}] = {got_xtx[i * hidden + j]}, expected {xtx[i][j]}")
mean = [sum(abs(r[c]) for r in rows) / len(rows) for c in range(hidden)]
mx = [max(abs(r[c]) for r in rows) for c in range(hidden)]
for c in range(hidden):
    if not close(stats[name + ".abs_mean"][1][c], mean[c], max(mean)):
        sys.exit(f"abs_mean[{c}] differs")
    if not close(stats[name + ".abs_max"][1][c], mx[c], max(mx)):
        sys.exit(f"abs_max[{c}] differs")
if stats[name + ".tokens"][1][0] != len(rows):
    sys.exit(f"tokens {stats[name + '.tokens'][1][0]} != {len(rows)}")

linears = sorted({k.rsplit(".", 1)[0] for k in stats if not k.startswith("calibration.")})
for lin in linears:
    shape, m = stats[lin + ".xtx"]
    k = shape[0]
    t = stats[lin + ".tokens"][1][0]
    for i in range(k):
        if m[i * k + i] < 0:
            sys.exit(f"{lin}: negative diagonal")
        for j in range(i):
            if m[i * k + j] != m[j * k + i]:
                sys.exit(f"{lin}: xtx not symmetric")
        ms = m[i * k + i] / t
        am = stats[lin + ".abs_mean"][1][i]
        ax = stats[lin + ".abs_max"][1][i]
        if ms < am * am * (1 - 1e-5) or ax * ax < ms * (1 - 1e-5):
            sys.exit(f"{lin}: channel {i} violates mean(x^2) >= mean|x|^2 or max|x|^2 >= mean(x^2)")
for a, b in [("self_attn.q_proj", "self_attn.v_proj"), ("mlp.gate_proj", "mlp.up_proj")]:
    for layer in range(config["num_hidden_layers"]):
        pa, pb = f"model.layers.{layer}.{a}", f"model.layers.{layer}.{b}"
        if stats[pa + ".xtx"][1] != stats[pb + ".xtx"][1]:
            sys.exit(f"{pa} and {pb} read the same input but differ")
print(f"calibration statistics check: {len(linears)} linears, {len(rows)} tokens, "
      f"layer 0 input matches an independent computation")
