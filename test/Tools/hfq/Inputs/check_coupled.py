"""Checks coupled MLP pruning in a model directory: in every layer the
all-zero rows of gate_proj and up_proj and the all-zero columns of
down_proj are the same channels, and there are as many as asked.

usage: check_coupled.py MODEL_DIR FRACTION
"""
import json
import struct
import sys

path, fraction = sys.argv[1] + "/model.safetensors", float(sys.argv[2])
data = open(path, "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])


def matrix(name):
    info = header[name]
    rows, cols = info["shape"]
    a, b = info["data_offsets"]
    flat = struct.unpack("<%df" % (rows * cols), data[8 + n + a:8 + n + b])
    return [flat[r * cols:(r + 1) * cols] for r in range(rows)]


layers = sorted({k.split(".mlp.")[0] for k in header if ".mlp." in k})
for layer in layers:
    gate, up = matrix(layer + ".mlp.gate_proj.weight"), matrix(layer + ".mlp.up_proj.weight")
    down = matrix(layer + ".mlp.down_proj.weight")
    zg = {i for i, row in enumerate(gate) if not any(row)}
    zu = {i for i, row in enumerate(up) if not any(row)}
    zd = {j for j in range(len(down[0])) if not any(r[j] for r in down)}
    assert zg == zu == zd, layer
    assert len(zg) == int(len(gate) * fraction), (layer, len(zg))
    print(f"{layer}: {len(zg)} of {len(gate)} channels pruned in gate, up and down")
