"""Compares the dequantized weights of linears in two hfq quantized models.

usage: compare_affine.py DIR_A DIR_B (--same|--differ) TOL NAME...

Each NAME must be an `#hfq.affine` weight with integer zeros in both
directories (codes U8 packed lsb-first, scales F32 and zeros I32 [rows,
groups], no g_idx). Prints the relative RMS difference of every pair,
‖A - B‖ / ‖B‖; exits 1 when it is not below TOL (--same) or not above TOL
(--differ). No dependencies.
"""
import json
import math
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    fmt = {"F32": "f", "I32": "i", "U8": "B"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in fmt:
            continue
        b, e = info["data_offsets"]
        code = fmt[info["dtype"]]
        count = (e - b) // struct.calcsize(code)
        out[name] = (info["shape"], struct.unpack(
            "<%d%s" % (count, code), data[8 + n + b:8 + n + e]))
    return out


def dequantize(tensors, config, name):
    enc = config["quantization_config"]["modules"][name]["encoding"]
    bits = int(enc.split("bits = ")[1].split(",")[0].split(">")[0])
    (rows, packed), codes = tensors[name + ".weight.codes"]
    (_, groups), scales = tensors[name + ".weight.scales"]
    _, zeros = tensors[name + ".weight.zeros"]
    per_byte = 8 // bits
    cols = packed * per_byte
    group = cols // groups
    mask = (1 << bits) - 1
    out = []
    for r in range(rows):
        for c in range(cols):
            q = (codes[r * packed + c // per_byte] >> (bits * (c % per_byte))) & mask
            g = r * groups + c // group
            out.append(scales[g] * (q - zeros[g]))
    return out


dir_a, dir_b, mode, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
models = [(read_safetensors(d + "/model.safetensors"),
           json.load(open(d + "/config.json"))) for d in (dir_a, dir_b)]
status = 0
for name in sys.argv[5:]:
    a, b = (dequantize(t, c, name) for t, c in models)
    err = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    ref = math.sqrt(sum(y * y for y in b))
    rel = err / ref
    ok = rel < tol if mode == "--same" else rel > tol
    print(f"{name}: relative difference {rel:.2e} "
          f"({'ok' if ok else 'FAIL'}: {mode[2:]}, tolerance {tol:g})")
    status |= not ok
sys.exit(status)
