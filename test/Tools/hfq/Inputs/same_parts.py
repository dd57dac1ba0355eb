"""Compares the stored parts of linears in two hfq model directories.

usage: same_parts.py DIR_A DIR_B (--same|--differ) NAME...

For each linear NAME, prints whether every tensor NAME.weight* of DIR_A
equals DIR_B's value for value (any encoding: the parts themselves are
compared); exits 1 when they are not all equal (--same) or all equal
(--differ).
"""
import sys

from hfq_model import read_safetensors

dir_a, dir_b, mode = sys.argv[1], sys.argv[2], sys.argv[3]
a, b = (read_safetensors(d + "/model.safetensors") for d in (dir_a, dir_b))
status = 0
for name in sys.argv[4:]:
    prefix = name + ".weight"
    parts = sorted(k for k in a if k.startswith(prefix))
    same = bool(parts) and parts == sorted(
        k for k in b if k.startswith(prefix)) and all(a[k] == b[k] for k in parts)
    ok = same if mode == "--same" else not same
    print(f"{name}: {len(parts)} parts {'identical' if same else 'differ'} "
          f"({'ok' if ok else 'FAIL'}: {mode[2:]})")
    status |= not ok
sys.exit(status)
