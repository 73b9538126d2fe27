"""Samples for trilu, depth_to_space, space_to_depth and reverse_sequence.

The block-moving oracles evaluate ONNX's index formulas element by element.
"""

from __future__ import annotations

import itertools

import numpy as np

from tests.opsamples import Arg, Draw, sample
from tests.opsamples.shape import DATA, ranked
from zenith.ir import TensorType


def _trilu_oracle(ins, a):
    fn = np.triu if a.get("upper", True) else np.tril
    return fn(ins[0], a.get("k", 0))


@sample("zt.trilu", _trilu_oracle)
def _trilu(d: Draw, like):
    t = ranked(d, like, 2, 4, min_dim=0)
    attrs = {}
    if d.bool():
        attrs["upper"] = d.bool()
    if d.bool():
        attrs["k"] = d.int(-4, 4)
    return [Arg(t)], attrs


def _d2s_oracle(ins, a):
    x = ins[0]
    b = a["blocksize"]
    n, c, h, w = x.shape
    cc = c // (b * b)
    out = np.empty((n, cc, h * b, w * b), x.dtype)
    crd = a.get("mode", "DCR") == "CRD"
    for ni, ci, y, z in itertools.product(range(n), range(cc), range(h * b), range(w * b)):
        i, j = y % b, z % b
        src = ci * b * b + i * b + j if crd else (i * b + j) * cc + ci
        out[ni, ci, y, z] = x[ni, src, y // b, z // b]
    return out


@sample("zt.depth_to_space", _d2s_oracle)
def _d2s(d: Draw, like):
    b = d.int(1, 3)
    shape = (d.int(1, 2), b * b * d.int(1, 2), d.int(1, 3), d.int(1, 3))
    attrs = {"blocksize": b}
    if d.bool():
        attrs["mode"] = d.choice(["DCR", "CRD"])
    return [Arg(TensorType(d.dtype(DATA), shape))], attrs


def _s2d_oracle(ins, a):
    x = ins[0]
    b = a["blocksize"]
    n, c, h, w = x.shape
    out = np.empty((n, c * b * b, h // b, w // b), x.dtype)
    for ni, ci, y, z in itertools.product(range(n), range(c), range(h), range(w)):
        out[ni, ((y % b) * b + z % b) * c + ci, y // b, z // b] = x[ni, ci, y, z]
    return out


@sample("zt.space_to_depth", _s2d_oracle)
def _s2d(d: Draw, like):
    b = d.int(1, 3)
    shape = (d.int(1, 2), d.int(1, 3), b * d.int(1, 2), b * d.int(1, 3))
    return [Arg(TensorType(d.dtype(DATA), shape))], {"blocksize": b}


def _rs_oracle(ins, a):
    x, lens = ins
    ba, ta = a.get("batch_axis", 1), a.get("time_axis", 0)
    out = x.copy()
    for b in range(x.shape[ba]):
        n = int(lens[b])
        for t in range(n):
            src = [slice(None)] * x.ndim
            dst = [slice(None)] * x.ndim
            src[ba] = dst[ba] = b
            src[ta], dst[ta] = n - 1 - t, t
            out[tuple(dst)] = x[tuple(src)]
    return out


@sample("zt.reverse_sequence", _rs_oracle)
def _rs(d: Draw, like):
    t = ranked(d, like, 2, 4)
    attrs = {}
    ba, ta = 1, 0
    if d.bool():
        ba, ta = 0, 1
        attrs = {"batch_axis": 0, "time_axis": 1}
    rng = np.random.default_rng(d.int(0, 1 << 20))
    lens = rng.integers(0, t.shape[ta] + 1, size=t.shape[ba]).astype(d.choice([np.int64, np.int32]))
    return [Arg(t), Arg.constant(lens)], attrs
