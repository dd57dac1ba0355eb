"""Copies a model directory, setting one float32 element of one tensor to a
given value (nan, inf, ...), to test how hfq handles non-finite weights.
No dependencies beyond the standard library.

usage: poison_weight.py SRC_DIR OUT_DIR TENSOR INDEX VALUE
"""
import json
import os
import shutil
import struct
import sys

src, out, tensor, index, value = sys.argv[1:6]
os.makedirs(out, exist_ok=True)
for name in os.listdir(src):
    if name != "model.safetensors":
        shutil.copy(os.path.join(src, name), out)
with open(os.path.join(src, "model.safetensors"), "rb") as f:
    data = bytearray(f.read())
(header_len,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + header_len])
info = header[tensor]
assert info["dtype"] == "F32", info
at = 8 + header_len + info["data_offsets"][0] + 4 * int(index)
data[at:at + 4] = struct.pack("<f", float(value))
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(data)
