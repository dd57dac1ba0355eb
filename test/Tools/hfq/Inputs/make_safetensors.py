"""Writes small safetensors files for the hfq CLI tests (no dependencies).

usage: make_safetensors.py OUT KIND, KIND one of:
  nan        one 4x64 float32 linear weight whose element 5 is NaN
  norm-only  a single 1-D norm weight (no linear weights)
"""
import json
import math
import struct
import sys


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, shape, values in tensors:
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


out, kind = sys.argv[1], sys.argv[2]
if kind == "nan":
    values = [0.01 * i for i in range(256)]
    values[5] = math.nan
    write(out, [("model.layers.0.mlp.up_proj.weight", [4, 64], values)])
elif kind == "norm-only":
    write(out, [("model.norm.weight", [64], [1.0] * 64)])
else:
    sys.exit("unknown kind " + kind)
