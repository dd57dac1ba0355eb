"""Copies a model directory with its model.safetensors header padded by N
spaces, which moves every tensor's data N bytes later in the file (still a
valid safetensors file: the header may end in whitespace).

usage: pad_header.py SRC_DIR DST_DIR N
"""
import os
import shutil
import struct
import sys

src, dst, pad = sys.argv[1], sys.argv[2], int(sys.argv[3])
shutil.copytree(src, dst)
path = os.path.join(dst, "model.safetensors")
with open(path, "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    header, data = f.read(n), f.read()
with open(path, "wb") as f:
    f.write(struct.pack("<Q", n + pad) + header + b" " * pad + data)
