"""Samples for gather/scatter ops. Oracles: PyTorch where it has the op, else index loops."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from tests.opsamples import Arg, Draw, sample
from tests.opsamples.shape import DATA, ranked
from zenith.ir import TensorType

TORCH_DTYPES = ("f32", "f64", "i64", "i32")
REDUCTIONS = ("none", "add", "mul", "max", "min")


def _rng(d: Draw) -> np.random.Generator:
    return np.random.default_rng(d.int(0, 1 << 30))


def _indices(rng, n: int, shape, negative: bool = True) -> np.ndarray:
    """Random valid indices into a dim of n, some written negative."""
    idx = rng.integers(0, n, size=shape) if n else np.zeros(shape, np.int64)
    if negative and n:
        idx = np.where(rng.random(shape) < 0.3, idx - n, idx)
    return idx.astype(rng.choice([np.int64, np.int32]))


def _wrap(idx: np.ndarray, n: int) -> np.ndarray:
    return np.where(idx < 0, idx + n, idx).astype(np.int64)


def _gather_oracle(ins, a):
    x, idx = ins
    axis = a.get("axis", 0) % x.ndim
    return x[(slice(None),) * axis + (_wrap(idx, x.shape[axis]),)]


@sample("zt.gather", _gather_oracle)
def _gather(d: Draw, like):
    t = ranked(d, like, 1, 3)
    axis = d.int(-t.rank, t.rank - 1)
    n = t.shape[axis]
    ishape = d.shape(0, 2, 1, 3) if n else (0,)  # an empty axis takes only empty indices
    return [Arg(t), Arg.constant(_indices(_rng(d), n, ishape))], {"axis": axis}


def _sub_shape(d: Draw, shape, axis: int, axis_len: int) -> tuple[int, ...]:
    """Index shape: at most the data's dims, ``axis_len`` along axis."""
    return tuple(axis_len if i == axis else d.int(min(1, n), n) for i, n in enumerate(shape))


def _gather_elements_oracle(ins, a):
    x, idx = ins
    axis = a.get("axis", 0) % x.ndim
    out = torch.gather(torch.from_numpy(x), axis, torch.from_numpy(_wrap(idx, x.shape[axis])))
    return out.numpy()


@sample("zt.gather_elements", _gather_elements_oracle)
def _gather_elements(d: Draw, like):
    t = ranked(d, like, 1, 3, dtypes=TORCH_DTYPES)
    axis = d.int(0, t.rank - 1)
    n = t.shape[axis]
    ishape = _sub_shape(d, t.shape, axis, d.int(1, 4) if n else 0)
    attrs = {"axis": axis - t.rank} if d.bool() else ({"axis": axis} if axis else {})
    return [Arg(t), Arg.constant(_indices(_rng(d), n, ishape))], attrs


def _gather_nd_oracle(ins, a):
    x, idx = ins
    b = a.get("batch_dims", 0)
    k = idx.shape[-1]
    out = np.empty(idx.shape[:-1] + x.shape[b + k:], x.dtype)
    for pos in itertools.product(*map(range, idx.shape[:-1])):
        tup = tuple(int(v) % x.shape[b + i] for i, v in enumerate(idx[pos]))
        out[pos] = x[pos[:b] + tup]
    return out


@sample("zt.gather_nd", _gather_nd_oracle)
def _gather_nd(d: Draw, like):
    t = ranked(d, like, 1, 4)
    b = d.int(0, t.rank - 1)
    k = d.int(1, t.rank - b)
    rng = _rng(d)
    mid = d.shape(0, 2, 1, 3)
    if 0 in t.shape[b:b + k]:  # an empty dim takes no index tuples
        mid = (0,) + mid
    cols = [_indices(rng, t.shape[b + i], t.shape[:b] + mid + (1,)) for i in range(k)]
    idx = np.concatenate(cols, axis=-1).astype(np.int64)
    return [Arg(t), Arg.constant(idx)], ({"batch_dims": b} if b else {})


_TORCH_REDUCE = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}


def _scatter_elements_oracle(ins, a):
    x, idx, upd = ins
    axis = a.get("axis", 0) % x.ndim
    tx, tu = torch.from_numpy(x.copy()), torch.from_numpy(upd)
    ti = torch.from_numpy(_wrap(idx, x.shape[axis]))
    red = a.get("reduction", "none")
    if red == "none":
        return tx.scatter(axis, ti, tu).numpy()
    return tx.scatter_reduce(axis, ti, tu, _TORCH_REDUCE[red], include_self=True).numpy()


@sample("zt.scatter_elements", _scatter_elements_oracle)
def _scatter_elements(d: Draw, like):
    t = ranked(d, like, 1, 3, dtypes=TORCH_DTYPES)
    axis = d.int(0, t.rank - 1)
    n = t.shape[axis]
    red = d.choice(REDUCTIONS)
    m = d.int(min(1, n), n) if red == "none" else d.int(0, 4)
    ishape = _sub_shape(d, t.shape, axis, m if n else 0)
    rng = _rng(d)
    if red == "none":  # distinct targets along each line: the result is then unambiguous
        keys = rng.random(ishape[:axis] + (n,) + ishape[axis + 1:])
        idx = np.take(np.argsort(keys, axis=axis), np.arange(m), axis=axis)
        idx = np.where(rng.random(idx.shape) < 0.3, idx - n, idx).astype(np.int64)
    else:
        idx = _indices(rng, n, ishape)
    attrs = {"axis": axis}
    if red != "none" or d.bool():
        attrs["reduction"] = red
    return [Arg(t), Arg.constant(idx), Arg(TensorType(t.dtype, ishape))], attrs


def _scatter_nd_oracle(ins, a):
    x, idx, upd = ins
    out = x.copy()
    red = a.get("reduction", "none")
    for pos in itertools.product(*map(range, idx.shape[:-1])):
        tup = tuple(int(v) % x.shape[i] for i, v in enumerate(idx[pos]))
        cur, new = out[tup], upd[pos]
        out[tup] = {"none": new, "add": cur + new, "mul": cur * new,
                    "max": np.maximum(cur, new), "min": np.minimum(cur, new)}[red]
    return out


@sample("zt.scatter_nd", _scatter_nd_oracle)
def _scatter_nd(d: Draw, like):
    t = ranked(d, like, 1, 3, dtypes=DATA[:-1])
    k = d.int(1, t.rank)
    red = d.choice(REDUCTIONS)
    rng = _rng(d)
    if red == "none":  # distinct tuples
        cells = list(itertools.product(*map(range, t.shape[:k])))
        m = d.int(0, min(len(cells), 4))
        pick = [cells[i] for i in rng.permutation(len(cells))[:m]]
        idx = np.array(pick, dtype=np.int64).reshape(m, k)
    else:
        m = 0 if 0 in t.shape[:k] else d.int(0, 5)
        idx = np.stack([_indices(rng, t.shape[i], (m,)) for i in range(k)], axis=-1).astype(np.int64)
    upd = TensorType(t.dtype, (idx.shape[0],) + t.shape[k:])
    attrs = {"reduction": red} if red != "none" or d.bool() else {}
    return [Arg(t), Arg.constant(idx), Arg(upd, -2, 2)], attrs

