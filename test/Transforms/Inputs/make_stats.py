"""Writes a calibration statistics file (the layout hfq calibrate writes,
hfq/IO/Statistics.h: its format tag, NAME.xtx F64 [in, in], NAME.tokens
I64 [1]) for one linear, from a fixed
set of correlated activations. Standard library only.

usage: make_stats.py OUT NAME IN [TOKENS]
"""
import json
import math
import struct
import sys

out, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 16
xs = [[math.sin(0.7 * t + 1.3 * j) + 0.5 * math.cos(0.3 * t * (j % 3 + 1))
       for j in range(n)] for t in range(tokens)]
xtx = [sum(x[i] * x[j] for x in xs) for i in range(n) for j in range(n)]
blobs = [struct.pack("<%dd" % len(xtx), *xtx), struct.pack("<q", tokens)]
header = {
    "__metadata__": {"format": "hfq-calibration-v1"},
    name + ".tokens": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]},
    name + ".xtx": {"dtype": "F64", "shape": [n, n],
                    "data_offsets": [8, 8 + len(blobs[0])]},
}
data = blobs[1] + blobs[0]
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
