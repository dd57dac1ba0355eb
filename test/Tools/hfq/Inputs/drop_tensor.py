"""Copies a safetensors file without one tensor (statistics from an older
hfq, a truncated export).

usage: drop_tensor.py IN OUT NAME
"""
import json
import struct
import sys

src, dst, drop = sys.argv[1:4]
with open(src, "rb") as f:
    data = f.read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
base = 8 + n
out_header, blobs, offset = {}, [], 0
for name, info in header.items():
    if name == "__metadata__":
        out_header[name] = info
        continue
    if name == drop:
        continue
    b, e = info["data_offsets"]
    blobs.append(data[base + b:base + e])
    out_header[name] = dict(info, data_offsets=[offset, offset + e - b])
    offset += e - b
if len(out_header) == len(header):
    sys.exit(f"{src} has no tensor {drop}")
text = json.dumps(out_header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
