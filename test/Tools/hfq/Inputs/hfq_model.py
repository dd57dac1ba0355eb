"""Reads the weights of an hfq model directory (no dependencies), for the
test scripts next to it. A linear's weight is decoded from its float tensor
or from its parts, by the encoding config.json names:
  #hfq.bitmask  bitmask U8 [rows, ceil(cols/8)] (lsb first), values F32,
                row_offsets I64 (compressed-tensors' sparse-bitmask)
  #hfq.affine   with integer zeros and no g_idx: codes U8 packed lsb first,
                scales F32 or F16 [rows, groups], zeros I32 [rows, groups]
                or (packed_zeros) bits-wide codes, each row an lsb-first bit
                stream padded to whole bytes
"""
import json
import struct

FORMATS = {"F32": "f", "F64": "d", "I32": "i", "I64": "q", "U8": "B",
           "F16": "e"}


def read_safetensors(path):
    """name -> (shape, values) for every tensor of a supported dtype."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in FORMATS:
            continue
        b, e = info["data_offsets"]
        code = FORMATS[info["dtype"]]
        count = (e - b) // struct.calcsize(code)
        out[name] = (info["shape"], struct.unpack(
            "<%d%s" % (count, code), data[8 + n + b:8 + n + e]))
    return out


def unpack_row(data, count, bits):
    """`count` codes of an lsb-first bit stream."""
    stream = int.from_bytes(bytes(data), "little")
    return [stream >> (bits * i) & ((1 << bits) - 1) for i in range(count)]


class Model:
    def __init__(self, directory):
        self.tensors = read_safetensors(directory + "/model.safetensors")
        self.config = json.load(open(directory + "/config.json"))
        quant = self.config.get("quantization_config", {})
        self.encodings = {name: m["encoding"]
                          for name, m in quant.get("modules", {}).items()}

    def in_features(self, module):
        c = self.config
        if module.endswith("o_proj"):
            heads = c["num_attention_heads"]
            return heads * c.get("head_dim", c["hidden_size"] // heads)
        if module.endswith("down_proj"):
            return c["intermediate_size"]
        return c["hidden_size"]

    def weight(self, module):
        """The [rows][cols] float weight of linear `module`."""
        enc = self.encodings.get(module)
        if enc is None:
            (rows, cols), flat = self.tensors[module + ".weight"]
            return [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]
        part = lambda p: self.tensors[module + ".weight." + p]
        if enc.startswith("#hfq.bitmask"):
            (rows, nbytes), mask = part("bitmask")
            _, values = part("values")
            _, offsets = part("row_offsets")
            cols = self.in_features(module)
            out = []
            for r in range(rows):
                row, at = [], offsets[r]
                for c in range(cols):
                    if mask[r * nbytes + c // 8] >> (c % 8) & 1:
                        row.append(values[at])
                        at += 1
                    else:
                        row.append(0.0)
                out.append(row)
            return out
        if enc.startswith("#hfq.affine") and "act_order = true" not in enc:
            bits = int(enc.split("bits = ")[1].split(",")[0].split(">")[0])
            (rows, packed), codes = part("codes")
            (_, groups), scales = part("scales")
            (_, zero_bytes), zeros = part("zeros")
            if "packed_zeros = true" in enc:
                zeros = [unpack_row(zeros[r * zero_bytes:(r + 1) * zero_bytes],
                                    groups, bits)
                         for r in range(rows)]
                zeros = [z for row in zeros for z in row]
            per_byte = 8 // bits
            cols = packed * per_byte
            group, mask = cols // groups, (1 << bits) - 1
            out = []
            for r in range(rows):
                row = []
                for c in range(cols):
                    q = codes[r * packed + c // per_byte] >> (bits * (c % per_byte)) & mask
                    g = r * groups + c // group
                    row.append(scales[g] * (q - zeros[g]))
                out.append(row)
            return out
        raise ValueError(f"{module}: cannot decode {enc}")
