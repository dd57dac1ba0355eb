"""Checks unstructured magnitude pruning of linears against their float
source: int(weights * FRACTION) weights are zero, none of them larger in
magnitude than a kept one, and the kept ones are unchanged.

usage: check_magnitude.py PRUNED_DIR SOURCE_DIR FRACTION NAME...
"""
import sys

from hfq_model import Model

pruned, source = Model(sys.argv[1]), Model(sys.argv[2])
fraction = float(sys.argv[3])
for name in sys.argv[4:]:
    got = [x for row in pruned.weight(name) for x in row]
    src = [x for row in source.weight(name) for x in row]
    zeroed = [abs(s) for g, s in zip(got, src) if g == 0.0 and s != 0.0]
    kept = [abs(s) for g, s in zip(got, src) if g != 0.0]
    assert len(zeroed) == int(len(src) * fraction), (name, len(zeroed))
    assert max(zeroed) <= min(kept), (name, max(zeroed), min(kept))
    assert all(g == s for g, s in zip(got, src) if g != 0.0), name
    print(f"{name}: {len(zeroed)} of {len(src)} weights zeroed, the smallest |w|; "
          f"kept ones unchanged")
