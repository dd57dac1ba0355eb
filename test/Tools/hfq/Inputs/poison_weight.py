"""Copies a model directory, setting one element of one tensor to a given
value: nan, inf, ... in an F32 tensor (non-finite weights), an integer in
an I64/I32/U8 one (malformed index parts). No dependencies beyond the
standard library.

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
code, convert = {"F32": ("f", float), "I64": ("q", int), "I32": ("i", int),
                 "U8": ("B", int)}[info["dtype"]]
size = struct.calcsize(code)
at = 8 + header_len + info["data_offsets"][0] + size * int(index)
data[at:at + size] = struct.pack("<" + code, convert(value))
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(data)
