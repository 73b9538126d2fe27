"""Samples for reductions, arg-reductions, cumulative ops and top-k.

Oracles move the reduced axes last, flatten them, and reduce one row at a time in
f64 (int64 for integers, then wrapped back to the operand dtype), a different
route from the references' ``np.<ufunc>.reduce`` over an axis tuple.
"""

from __future__ import annotations

import numpy as np

from tests.opsamples import FLOATS, INTS, Arg, Draw, sample
from zenith.ir import TensorType

NUMERIC = FLOATS + INTS


def rows(x: np.ndarray, axes, keepdims: bool) -> tuple[np.ndarray, list[int]]:
    """``x`` with the reduced axes moved last and flattened, and the result shape."""
    rank = x.ndim
    red = list(range(rank)) if axes is None else sorted(a % rank for a in axes)
    keep = [i for i in range(rank) if i not in red]
    flat = np.transpose(x, keep + red).reshape([x.shape[i] for i in keep] + [-1])
    if keepdims:
        shape = [1 if i in red else x.shape[i] for i in range(rank)]
    else:
        shape = [x.shape[i] for i in keep]
    return flat, shape


def _wide(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64) if x.dtype.kind in "iub" else x.astype(np.float64)


def _int_mean(s: np.ndarray, n: int) -> np.ndarray:
    return np.trunc(s / max(n, 1)).astype(np.int64)


ROW_ORACLES = {
    "sum": lambda r: r.sum(-1),
    "mean": lambda r: _int_mean(r.sum(-1), r.shape[-1]) if r.dtype.kind == "i" else r.mean(-1),
    "max": lambda r: r.max(-1),
    "min": lambda r: r.min(-1),
    "prod": lambda r: r.prod(-1),
    "l1": lambda r: np.abs(r).sum(-1),
    "l2": lambda r: np.sqrt((r * r).sum(-1)),
    "log_sum": lambda r: np.log(r.sum(-1)),
    "log_sum_exp": lambda r: np.log(np.exp(r).sum(-1)),
    "sum_square": lambda r: (r * r).sum(-1),
}


def reduce_oracle(name: str):
    def oracle(ins, attrs):
        x = ins[0]
        r, shape = rows(_wide(x), attrs.get("axes"), attrs.get("keepdims", True))
        return np.asarray(ROW_ORACLES[name](r)).reshape(shape).astype(x.dtype)

    return oracle


def draw_type(d: Draw, dtypes, like, min_rank: int = 0, **kw) -> TensorType:
    """A type of rank >= ``min_rank`` with no empty dim; reuses ``like`` when it fits."""
    if like is not None and (like.rank < min_rank or 0 in like.shape):
        like = None
    return d.type(dtypes, like, min_rank=min_rank, **kw)


def draw_axes(d: Draw, rank: int):
    """None, or a subset of the axes in random order, some written negative."""
    if d.int(0, 3) == 0:
        return None
    axes = [a for a in range(rank) if d.bool()]
    if rank and not axes:
        axes = [d.int(0, rank - 1)]
    return tuple(a - rank if d.bool() else a for a in axes)


# name: (dtypes, value range, operand reusable?)
REDUCE_SAMPLES = {
    "sum": (NUMERIC, (-2, 2), True),
    "mean": (NUMERIC, (-2, 2), True),
    "max": (NUMERIC, (-2, 2), True),
    "min": (NUMERIC, (-2, 2), True),
    "prod": (FLOATS + ("i64", "i32"), (0.6, 1.4), False),
    "l1": (NUMERIC, (-2, 2), True),
    "l2": (FLOATS, (-2, 2), True),
    "log_sum": (FLOATS, (0.1, 2), False),
    "log_sum_exp": (FLOATS, (-2, 2), True),
    "sum_square": (NUMERIC, (-2, 2), True),
}


def _reduce_gen(dtypes, rng, reusable):
    def gen(d: Draw, like):
        t = draw_type(d, dtypes, like)
        lo, hi = rng
        if t.dtype.is_int and lo > 0:  # integer products: keep them small
            lo, hi = -1, 2
        attrs = {"axes": draw_axes(d, t.rank)}
        if attrs["axes"] is None and d.bool():
            del attrs["axes"]
        if d.bool():
            attrs["keepdims"] = False
        return [Arg(t, lo, hi, reusable=reusable)], attrs

    return gen


for _n, (_dts, _rng, _reuse) in REDUCE_SAMPLES.items():
    sample(f"zt.reduce_{_n}", reduce_oracle(_n), rtol_scale=4.0)(_reduce_gen(_dts, _rng, _reuse))


def _arg_oracle(largest: bool):
    def oracle(ins, attrs):
        x = ins[0]
        axis = attrs.get("axis", 0) % x.ndim
        r, shape = rows(x, (axis,), attrs.get("keepdims", True))
        flat = r.reshape(-1, r.shape[-1]) if r.ndim else r.reshape(1, -1)
        last = attrs.get("select_last_index", False)
        out = []
        for row in flat:
            vals = row.tolist()
            best = max(vals) if largest else min(vals)
            hits = [i for i, v in enumerate(vals) if v == best]
            out.append(hits[-1] if last else hits[0])
        return np.array(out, dtype=np.int64).reshape(shape)

    return oracle


def _arg_gen(d: Draw, like):
    t = draw_type(d, NUMERIC, like, min_rank=1)
    attrs = {"axis": d.int(-t.rank, t.rank - 1)}
    if d.bool():
        attrs["keepdims"] = False
    if d.bool():
        attrs["select_last_index"] = True
    return [Arg(t, -3, 3, reusable=False)], attrs


sample("zt.argmax", _arg_oracle(True), composable=False)(_arg_gen)
sample("zt.argmin", _arg_oracle(False), composable=False)(_arg_gen)


def _cum_oracle(product: bool):
    def oracle(ins, attrs):
        x = ins[0]
        axis = attrs["axis"] % x.ndim
        moved = np.moveaxis(_wide(x), axis, -1)
        out = np.empty_like(moved)
        n = moved.shape[-1]
        order = range(n - 1, -1, -1) if attrs.get("reverse") else range(n)
        acc = np.ones(moved.shape[:-1], moved.dtype) if product else np.zeros(moved.shape[:-1],
                                                                               moved.dtype)
        for j in order:
            if attrs.get("exclusive"):
                out[..., j] = acc
                acc = acc * moved[..., j] if product else acc + moved[..., j]
            else:
                acc = acc * moved[..., j] if product else acc + moved[..., j]
                out[..., j] = acc
        return np.moveaxis(out, -1, axis).astype(x.dtype)

    return oracle


def _cum_gen(product: bool):
    def gen(d: Draw, like):
        t = draw_type(d, NUMERIC, like, min_rank=1)
        attrs = {"axis": d.int(-t.rank, t.rank - 1)}
        if d.bool():
            attrs["exclusive"] = True
        if d.bool():
            attrs["reverse"] = True
        lo, hi = (0.6, 1.4) if product and t.dtype.is_float else (-2, 2)
        return [Arg(t, lo, hi, reusable=not product)], attrs

    return gen


sample("zt.cumsum", _cum_oracle(False), rtol_scale=2.0)(_cum_gen(False))
sample("zt.cumprod", _cum_oracle(True), rtol_scale=2.0)(_cum_gen(True))


def _topk_oracle(ins, attrs):
    x = ins[0]
    axis = attrs.get("axis", -1) % x.ndim
    k = attrs["k"]
    largest = attrs.get("largest", True)
    moved = np.moveaxis(x, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    idx = np.zeros((flat.shape[0], k), np.int64)
    for r, row in enumerate(flat):
        vals = [float(v) for v in row]
        key = (lambda i: (-vals[i], i)) if largest else (lambda i: (vals[i], i))
        idx[r] = sorted(range(len(vals)), key=key)[:k]
    vals = np.take_along_axis(flat, idx, axis=-1)
    shape = moved.shape[:-1] + (k,)
    back = lambda a: np.moveaxis(a.reshape(shape), -1, axis)  # noqa: E731
    return back(vals), back(idx)


@sample("zt.topk", _topk_oracle, composable=False)
def _topk(d: Draw, like):
    t = draw_type(d, NUMERIC, like, min_rank=1)
    axis = d.int(-t.rank, t.rank - 1)
    attrs = {"k": d.int(1, t.shape[axis]), "axis": axis}
    if d.bool():
        attrs["largest"] = False
    if d.bool():
        attrs["sorted"] = False
    return [Arg(t, -3, 3, reusable=False)], attrs

