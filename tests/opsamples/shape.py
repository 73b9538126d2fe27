"""Samples for the shape ops: reshape, transpose, squeeze, unsqueeze, flatten, expand,
identity, shape_of, size."""

from __future__ import annotations

import functools
import operator

import numpy as np
from hypothesis import strategies as st

from tests.opsamples import NUMERIC, Arg, Draw, sample
from zenith.ir import TensorType


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
    spec = [first, -1] if d.bool() or n == 0 else [first, n // first]
    if t.rank >= 1 and d.bool() and t.shape[0] == first:
        spec[0] = 0
    return [Arg(t)], {"shape": tuple(spec)}


@sample("zt.transpose", lambda ins, a: np.transpose(ins[0], a.get("perm")))
def _transpose(d: Draw, like):
    t = d.type(NUMERIC + ("bool",), like)
    perm = d(st.permutations(list(range(t.rank))))
    return [Arg(t)], ({"perm": tuple(perm)} if d.bool() else {})


DATA = NUMERIC + ("bool",)


def ranked(d: Draw, like, min_rank: int = 0, max_rank: int = 4, dtypes=DATA, **kw) -> TensorType:
    """A type from ``dtypes`` with a rank in [min_rank, max_rank] (reusing ``like`` if it fits)."""
    t = d.type(dtypes, like, min_rank=min_rank, max_rank=max_rank, **kw)
    if not min_rank <= t.rank <= max_rank:
        t = TensorType(t.dtype, d.shape(min_rank, max_rank, **kw))
    return t


def _squeeze_oracle(ins, a):
    x = ins[0]
    axes = a.get("axes")
    if not axes:
        return x.reshape([n for n in x.shape if n != 1])
    drop = {ax % x.ndim for ax in axes}
    return x.reshape([n for i, n in enumerate(x.shape) if i not in drop])


@sample("zt.squeeze", _squeeze_oracle)
def _squeeze(d: Draw, like):
    t = d.type(DATA, like) if d.bool() else TensorType(d.dtype(DATA), d.shape(0, 4, 1, 3))
    ones = [i for i, n in enumerate(t.shape) if n == 1]
    if ones and d.bool():
        pick = [i - t.rank if d.bool() else i for i in ones if d.bool()]
        return [Arg(t)], {"axes": tuple(pick)} if pick else {}
    return [Arg(t)], {}


def _unsqueeze_oracle(ins, a):
    x = ins[0]
    rank = x.ndim + len(a["axes"])
    at = {ax % rank for ax in a["axes"]}
    dims = iter(x.shape)
    return x.reshape([1 if i in at else next(dims) for i in range(rank)])


@sample("zt.unsqueeze", _unsqueeze_oracle)
def _unsqueeze(d: Draw, like):
    t = ranked(d, like, max_rank=3)
    k = d.int(1, 2)
    rank = t.rank + k
    pos = d(st.lists(st.integers(0, rank - 1), min_size=k, max_size=k, unique=True))
    return [Arg(t)], {"axes": tuple(p - rank if d.bool() else p for p in pos)}


def _flatten_oracle(ins, a):
    x = ins[0]
    axis = a.get("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    rows = functools.reduce(operator.mul, x.shape[:axis], 1)
    cols = functools.reduce(operator.mul, x.shape[axis:], 1)
    return x.reshape(rows, cols)


@sample("zt.flatten", _flatten_oracle)
def _flatten(d: Draw, like):
    t = ranked(d, like, max_rank=4, min_dim=0)
    return [Arg(t)], ({"axis": d.int(-t.rank, t.rank)} if d.bool() or t.rank == 0 else {})


@sample("zt.expand", lambda ins, a: (np.zeros(a["shape"], ins[0].dtype) + ins[0]).astype(ins[0].dtype))
def _expand(d: Draw, like):
    t = ranked(d, like, max_rank=3)
    target = [d.int(1, 3) if n == 1 and d.bool() else (1 if d.int(0, 3) == 0 else n) for n in t.shape]
    target = [d.int(1, 3) for _ in range(d.int(0, 2))] + target
    if t.rank and d.int(0, 3) == 0:
        target = target[1:]  # shorter than the input: the input's dims pass through
    return [Arg(t)], {"shape": tuple(target)}


@sample("zt.identity", lambda ins, a: ins[0].copy())
def _identity(d: Draw, like):
    return [Arg(d.type(DATA, like))], {}


@sample("zt.shape_of", lambda ins, a: np.array(ins[0].shape, dtype=np.int64)[a.get("start", 0):a.get("end")])
def _shape_of(d: Draw, like):
    t = d.type(DATA, like)
    attrs = {}
    if d.bool():
        attrs["start"] = d.int(-t.rank - 2, t.rank + 2)
    if d.bool():
        attrs["end"] = d.int(-t.rank - 2, t.rank + 2)
    return [Arg(t)], attrs


@sample("zt.size", lambda ins, a: np.array(ins[0].size, dtype=np.int64))
def _size(d: Draw, like):
    return [Arg(d.type(DATA, like, min_dim=0))], {}
