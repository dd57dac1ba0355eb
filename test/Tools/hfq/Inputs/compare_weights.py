"""Compares the weights of linears in two hfq models, decoded by hfq_model.py.

usage: compare_weights.py DIR_A DIR_B (--same|--differ) TOL NAME...

Prints the relative RMS difference of every pair, ‖A - B‖ / ‖B‖, of the
weights as hfq_model.py decodes them; exits 1 when it is not below TOL
(--same) or not above TOL (--differ).
"""
import math
import sys

from hfq_model import Model

dir_a, dir_b, mode, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
models = [Model(d) for d in (dir_a, dir_b)]
status = 0
for name in sys.argv[5:]:
    a, b = ([v for row in m.weight(name) for v in row] for m in models)
    err = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    rel = err / math.sqrt(sum(y * y for y in b))
    ok = rel < tol if mode == "--same" else rel > tol
    print(f"{name}: relative difference {rel:.2e} "
          f"({'ok' if ok else 'FAIL'}: {mode[2:]}, tolerance {tol:g})")
    status |= not ok
sys.exit(status)
