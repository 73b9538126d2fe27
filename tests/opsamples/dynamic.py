"""Samples for the run-time-parameter ops (``*_dyn``) and the data-dependent ones.

A ``_dyn`` sample draws the same case as its static op's sample and passes each
parameter as a constant (the type rule then sees it) or, when all its entries are
equal, sometimes as a function input (the type rule then sees only its length).
Oracles are the static samples' oracles, fed the parameters' run-time values.
"""

from __future__ import annotations

import itertools

import numpy as np

from tests.opsamples import FLOATS, INTS, Arg, Draw, sample
from tests.opsamples.generate import _fill, _fill_oracle, _range_oracle
from tests.opsamples.shape import DATA, _expand, _reshape, _reshape_oracle, ranked
from tests.opsamples.slicing import _pad, _pad_oracle, _slice, _slice_oracle, _tile, _tile_oracle
from zenith.ir import TensorType, dtype

I64 = dtype("i64")


def _vec(d: Draw, values) -> Arg:
    """An i64 vector operand: a constant, or a run-time input when its entries are equal."""
    values = tuple(int(v) for v in values)
    if values and len(set(values)) == 1 and d.bool():
        return Arg(TensorType(I64, (len(values),)), values[0], values[0], reusable=False)
    return Arg.constant(np.array(values, dtype=np.int64).reshape(len(values)))


def _tup(a: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in a.reshape(-1))


@sample("zt.reshape_dyn", lambda ins, a: _reshape_oracle(ins[:1], {"shape": _tup(ins[1])} | a))
def _reshape_dyn(d: Draw, like):
    args, attrs = _reshape(d, like)
    spec = attrs["shape"]
    if d.bool():
        spec = d.choice([(-1,), (args[0].type.num_elements,)])
    return [args[0], _vec(d, spec)], {}


@sample("zt.expand_dyn", lambda ins, a: (np.zeros(_tup(ins[1]), ins[0].dtype) + ins[0])
        .astype(ins[0].dtype))
def _expand_dyn(d: Draw, like):
    if d.bool():
        args, attrs = _expand(d, like)
        return [args[0], _vec(d, attrs["shape"])], {}
    v = d.int(1, 3)
    t = TensorType(d.dtype(DATA), tuple(d.choice([1, v]) for _ in range(d.int(0, 3))))
    return [Arg(t), _vec(d, (v,) * d.int(1, t.rank + 1))], {}


def _slice_dyn_oracle(ins, a):
    keys = ("starts", "ends", "axes", "steps")
    return _slice_oracle(ins[:1], {k: _tup(v) for k, v in zip(keys, ins[1:])})


@sample("zt.slice_dyn", _slice_dyn_oracle)
def _slice_dyn(d: Draw, like):
    args, attrs = _slice(d, like)
    ops = [args[0], _vec(d, attrs["starts"]), _vec(d, attrs["ends"])]
    n = len(attrs["starts"])
    if "axes" in attrs or "steps" in attrs:
        ops.append(_vec(d, attrs.get("axes", range(n))))
    if "steps" in attrs:
        ops.append(_vec(d, attrs["steps"]))
    return ops, {}


@sample("zt.tile_dyn", lambda ins, a: _tile_oracle(ins[:1], {"repeats": _tup(ins[1])}))
def _tile_dyn(d: Draw, like):
    args, attrs = _tile(d, like)
    reps = attrs["repeats"]
    if d.bool():
        reps = (d.int(0, 2),) * len(reps)
    return [args[0], _vec(d, reps)], {}


def _pad_dyn_oracle(ins, a):
    attrs = dict(a) | {"pads": _tup(ins[1])}
    if len(ins) > 2:
        attrs["value"] = ins[2]
    return _pad_oracle(ins[:1], attrs)


@sample("zt.pad_dyn", _pad_dyn_oracle)
def _pad_dyn(d: Draw, like):
    args, attrs = _pad(d, like)
    x = args[0]
    ops = [x, _vec(d, attrs.pop("pads"))]
    value = attrs.pop("value", None)
    if value is not None:
        ops.append(Arg.constant(np.array(value).astype(x.type.dtype.np_dtype)))
    elif d.bool():
        ops.append(Arg(TensorType(x.type.dtype, ()), reusable=False))
    return ops, attrs


@sample("zt.fill_dyn", lambda ins, a: _fill_oracle([], {"shape": _tup(ins[0])} | a))
def _fill_dyn(d: Draw, like):
    _, attrs = _fill(d, like)
    shape = attrs.pop("shape")
    if d.bool():
        shape = (d.int(0, 3),) * d.int(0, 3)
    return [_vec(d, shape)], attrs


def _range_dyn_oracle(ins, a):
    start, limit, delta = (v.reshape(()).item() for v in ins)
    return _range_oracle([], {"start": start, "limit": limit, "delta": delta,
                              "dtype": dtype(_name(ins[0].dtype))})


def _name(np_dtype) -> str:
    from zenith.ir import from_numpy

    return from_numpy(np_dtype).name


@sample("zt.range_dyn", _range_dyn_oracle)
def _range_dyn(d: Draw, like):
    dt = d.dtype(("i64", "i32", "f32", "f64"))
    scale = 1 if dt.is_int else d.choice([1, 0.5, 0.25])
    vals = [d.int(-6, 6) * scale, d.int(-6, 6) * scale, d.choice([1, 2, -1, -3]) * scale]
    ops = []
    for v in vals:
        if d.bool():
            ops.append(Arg.constant(np.array(v).astype(dt.np_dtype)))
        else:
            ops.append(Arg(TensorType(dt, ()), v, v, reusable=False))
    return ops, {}


def _nonzero_oracle(ins, a):
    x = np.atleast_1d(ins[0])
    coords = [idx for idx in itertools.product(*map(range, x.shape)) if x[idx] != 0]
    return np.array(coords, dtype=np.int64).reshape(len(coords), x.ndim).T


@sample("zt.nonzero", _nonzero_oracle)
def _nonzero(d: Draw, like):
    t = ranked(d, like, 0, 3, min_dim=0)
    if t.dtype.is_float:
        rng = np.random.default_rng(d.int(0, 1 << 20))
        vals = rng.integers(-1, 2, size=t.shape).astype(t.dtype.np_dtype)
        return [Arg.constant(vals)], {}
    return [Arg(t, -1, 1, reusable=False)], {}


def _unique_oracle(ins, a):
    """First-seen dictionary over row tuples; sorted keys when asked."""
    x = ins[0]
    axis = a.get("axis")
    moved = x.reshape(-1) if axis is None else np.moveaxis(x, axis % x.ndim, 0)
    rows = [tuple(r.reshape(-1).tolist()) for r in moved]
    first: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        first.setdefault(r, i)
    keys = sorted(first) if a.get("sorted", True) else list(first)
    pos = {k: j for j, k in enumerate(keys)}
    idx = np.array([first[k] for k in keys], dtype=np.int64)
    y = np.take(moved, idx, axis=0)
    y = y if axis is None else np.moveaxis(y, 0, axis % x.ndim)
    inverse = np.array([pos[r] for r in rows], dtype=np.int64)
    counts = np.array([rows.count(k) for k in keys], dtype=np.int64)
    return y, idx, inverse, counts


@sample("zt.unique", _unique_oracle)
def _unique(d: Draw, like):
    t = ranked(d, like, 0, 3, dtypes=INTS + ("bool",) + FLOATS)
    if t.dtype.is_float:
        rng = np.random.default_rng(d.int(0, 1 << 20))
        x = Arg.constant(rng.integers(-2, 3, size=t.shape).astype(t.dtype.np_dtype) / 2)
    else:
        x = Arg(t, -2, 2, reusable=False)
    attrs = {}
    if t.rank and d.bool():
        attrs["axis"] = d.int(-t.rank, t.rank - 1)
    if d.bool():
        attrs["sorted"] = d.bool()
    return [x], attrs


def _compress_oracle(ins, a):
    x, cond = ins
    axis = a.get("axis")
    if axis is None:
        flat = x.reshape(-1)
        return np.array([flat[i] for i in range(min(flat.size, cond.size)) if cond[i]],
                        dtype=x.dtype).reshape(-1)
    axis %= x.ndim
    keep = [i for i in range(min(x.shape[axis], cond.size)) if cond[i]]
    return np.take(x, np.array(keep, dtype=np.int64), axis=axis)


@sample("zt.compress", _compress_oracle)
def _compress(d: Draw, like):
    t = ranked(d, like, 0, 3)
    attrs = {}
    n = t.num_elements
    if t.rank and d.bool():
        attrs["axis"] = d.int(-t.rank, t.rank - 1)
        n = t.shape[attrs["axis"]]
    length = d.int(0, n + 2)
    cond = TensorType(dtype("bool"), (length,))
    if d.bool():
        rng = np.random.default_rng(d.int(0, 1 << 20))
        return [Arg(t), Arg.constant(rng.random(length) < 0.5)], attrs
    return [Arg(t), Arg(cond, reusable=False)], attrs
