"""Samples for reshape and transpose."""

from __future__ import annotations

import numpy as np

from tests.opsamples import NUMERIC, Arg, Draw, sample


def _reshape_oracle(ins, a):
    x = ins[0]
    spec = [x.shape[i] if s == 0 and not a.get("allowzero") else s for i, s in enumerate(a["shape"])]
    return x.reshape(spec)


@sample("zt.reshape", _reshape_oracle)
def _reshape(d: Draw, like):
    t = d.type(NUMERIC + ("bool",), like)
    n = t.num_elements
    dims = [k for k in range(1, n + 1) if n % k == 0] if n else [1]
    first = d.choice(dims)
    spec = [first, -1] if d.bool() else [first, n // first if first else 0]
    if t.rank >= 1 and d.bool() and t.shape[0] == first:
        spec[0] = 0
    return [Arg(t)], {"shape": tuple(spec)}


@sample("zt.transpose", lambda ins, a: np.transpose(ins[0], a.get("perm")))
def _transpose(d: Draw, like):
    t = d.type(NUMERIC + ("bool",), like)
    perm = d(__import__("hypothesis").strategies.permutations(list(range(t.rank))))
    return [Arg(t)], ({"perm": tuple(perm)} if d.bool() else {})
