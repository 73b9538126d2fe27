"""Samples for fill, range, eye_like and one_hot."""

from __future__ import annotations

import numpy as np

from tests.opsamples import NUMERIC, Arg, Draw, sample
from tests.opsamples.shape import ranked
from zenith.ir import dtype


def _fill_oracle(ins, a):
    dt = a.get("dtype", dtype("f32")).np_dtype
    return (np.zeros(a["shape"]) + a.get("value", 0.0)).astype(dt)


@sample("zt.fill", _fill_oracle)
def _fill(d: Draw, like):
    attrs = {"shape": d.shape(0, 3, 0, 4)}
    dt = d.dtype(NUMERIC + ("bool",))
    if dt.name != "f32" or d.bool():
        attrs["dtype"] = dt
    if d.bool():
        attrs["value"] = d.choice([1, 0, 3]) if dt.is_int or dt.is_bool else d.choice([1.5, -0.25, 2])
    return [], attrs


def _range_oracle(ins, a):
    """Accumulate start + delta + delta... while before the limit (exact for the sampled values)."""
    dt = a.get("dtype", dtype("i64"))
    start, limit, delta = a.get("start", 0), a["limit"], a.get("delta", 1)
    out, v = [], start
    while (delta > 0 and v < limit) or (delta < 0 and v > limit):
        out.append(v)
        v += delta
    return np.array(out, dtype=np.float64).astype(dt.np_dtype).reshape(len(out))


@sample("zt.range", _range_oracle)
def _range(d: Draw, like):
    dt = d.dtype(("i64", "i32", "f32", "f64", "f16"))
    scale = 1 if dt.is_int else d.choice([1, 0.5, 0.25])
    attrs = {"limit": d.int(-8, 8) * scale}
    if dt.name != "i64":
        attrs["dtype"] = dt
    if d.bool():
        attrs["start"] = d.int(-8, 8) * scale
    if d.bool():
        attrs["delta"] = d.choice([1, 2, 3, -1, -2]) * scale
    return [], attrs


@sample("zt.eye_like", lambda ins, a: np.eye(*ins[0].shape, k=a.get("k", 0),
                                             dtype=(a.get("dtype", None) and a["dtype"].np_dtype)
                                             or ins[0].dtype))
def _eye_like(d: Draw, like):
    t = ranked(d, like, 2, 2, dtypes=NUMERIC + ("bool",), min_dim=0)
    attrs = {}
    if d.bool():
        attrs["k"] = d.int(-3, 3)
    if d.bool():
        attrs["dtype"] = d.dtype(NUMERIC)
    return [Arg(t)], attrs


def _one_hot_oracle(ins, a):
    idx, values = ins
    depth = a["depth"]
    flat = [int(v) for v in idx.reshape(-1)]
    out = np.empty((len(flat), depth), values.dtype)
    for r, v in enumerate(flat):
        for c in range(depth):
            out[r, c] = values[1] if v == c or v + depth == c else values[0]
    out = out.reshape(idx.shape + (depth,))
    axis = a.get("axis", -1)
    axis = axis + idx.ndim + 1 if axis < 0 else axis
    return np.moveaxis(out, -1, axis)


@sample("zt.one_hot", _one_hot_oracle)
def _one_hot(d: Draw, like):
    depth = d.int(1, 5)
    t = ranked(d, like, 0, 3, dtypes=("i64", "i32", "i8", "u8"))
    vals = np.array([d.choice([0, -1]), d.choice([1, 3])]).astype(d.dtype(NUMERIC).np_dtype)
    attrs = {"depth": depth}
    if d.bool():
        attrs["axis"] = d.int(-t.rank - 1, t.rank)
    lo = 0 if t.dtype.kind == "uint" else -depth - 1
    return [Arg(t, lo, depth + 1, reusable=False), Arg.constant(vals)], attrs
