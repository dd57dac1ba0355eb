"""Checks coupled structured pruning in a model directory.

usage: check_coupled.py MODEL_DIR FRACTION mlp|heads [SOURCE_DIR]

mlp: in every layer the all-zero rows of gate_proj and up_proj and the
all-zero columns of down_proj are the same channels, int(channels *
FRACTION) of them.
heads: in every layer the all-zero KV heads of k_proj and v_proj (head_dim
rows each), the all-zero query heads of q_proj (rows) and of o_proj
(columns) are the same KV groups (a KV head and the query heads sharing
it), int(kv_heads * FRACTION) of them, and nothing else is zero.
With SOURCE_DIR (the float model): the pruned units are those with the
smallest squared L2 norm summed over all their rows and columns.
"""
import sys

from hfq_model import Model

directory, fraction, kind = sys.argv[1], float(sys.argv[2]), sys.argv[3]
model = Model(directory)
source = Model(sys.argv[4]) if len(sys.argv) > 4 else None
cfg = model.config
layers = cfg["num_hidden_layers"]


def zero_units(matrix, width, columns=False):
    """Indices of units (width consecutive rows/columns) that are all zero."""
    if columns:
        matrix = [list(col) for col in zip(*matrix)]
    units = len(matrix) // width
    return {u for u in range(units)
            if not any(any(r) for r in matrix[u * width:(u + 1) * width])}


def unit_scores(members, units):
    """members: (linear, width, columns); the squared norm of every unit."""
    score = [0.0] * units
    for name, width, columns in members:
        w = source.weight(name)
        for r, row in enumerate(w):
            for c, x in enumerate(row):
                score[(c if columns else r) // width] += x * x
    return score


def check_lowest(pruned, members, units):
    if source is None:
        return
    score = unit_scores(members, units)
    worst_pruned = max(score[u] for u in pruned) if pruned else -1
    best_kept = min(score[u] for u in range(units) if u not in pruned)
    assert worst_pruned <= best_kept, (members[0][0], worst_pruned, best_kept)


for layer in range(layers):
    p = f"model.layers.{layer}."
    if kind == "mlp":
        gate, up = model.weight(p + "mlp.gate_proj"), model.weight(p + "mlp.up_proj")
        down = model.weight(p + "mlp.down_proj")
        zg, zu, zd = zero_units(gate, 1), zero_units(up, 1), zero_units(down, 1, True)
        assert zg == zu == zd, (layer, zg ^ zu, zg ^ zd)
        assert len(zg) == int(len(gate) * fraction), (layer, len(zg))
        check_lowest(zg, [(p + "mlp.gate_proj", 1, False), (p + "mlp.up_proj", 1, False),
                          (p + "mlp.down_proj", 1, True)], len(gate))
        print(f"{p[:-1]}: {len(zg)} of {len(gate)} channels pruned in gate, up and down"
              + (", the lowest-norm ones" if source else ""))
    else:
        heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        dim = cfg.get("head_dim", cfg["hidden_size"] // heads)
        per = heads // kv
        q, k = model.weight(p + "self_attn.q_proj"), model.weight(p + "self_attn.k_proj")
        v, o = model.weight(p + "self_attn.v_proj"), model.weight(p + "self_attn.o_proj")
        zk, zv = zero_units(k, dim), zero_units(v, dim)
        zq, zo = zero_units(q, dim * per), zero_units(o, dim * per, True)
        assert zk == zv == zq == zo, (layer, zk, zv, zq, zo)
        assert len(zk) == int(kv * fraction), (layer, len(zk))
        check_lowest(zk, [(p + "self_attn.q_proj", dim * per, False),
                          (p + "self_attn.k_proj", dim, False),
                          (p + "self_attn.v_proj", dim, False),
                          (p + "self_attn.o_proj", dim * per, True)], kv)
        # Only whole groups are zero: every kept row/column has a non-zero.
        assert len(zero_units(q, 1)) == len(zq) * dim * per, layer
        assert len(zero_units(o, 1, True)) == len(zo) * dim * per, layer
        print(f"{p[:-1]}: KV groups {sorted(zk)} of {kv} pruned in q, k, v and o "
              f"({per} query heads each)" + (", the lowest-norm ones" if source else ""))
