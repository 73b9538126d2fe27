"""Reductions, arg-reductions, cumulative sums/products and top-k (ONNX semantics).

``axes=None`` reduces every axis; ``axes=()`` reduces none (the op is then the
elementwise part alone: ``reduce_l1`` gives ``|x|``), which is ONNX's
``noop_with_empty_axes=1``. Reducing an empty set gives the identity: 0 for
sums, 1 for products, -inf / +inf for float max / min (the dtype's min / max
for integers, False / True for bool), -inf for ``log_sum`` and ``log_sum_exp``,
NaN for a float mean (0 for an integer mean). Integer sums and products wrap in
the operand dtype; an integer mean accumulates in 64 bits and rounds toward
zero. Low-precision floats compute in f32 and round once.
"""

from __future__ import annotations

import numpy as np

from zenith.dialects import numerics as nx
from zenith.dialects.shape_rules import normalize_axis, reduce_shape
from zenith.ir.dtypes import DType, i64
from zenith.ir.opdef import ANCHOR, PURE, REDUCTION, InferContext, InferError, define_op
from zenith.ir.types import TensorType

DTYPE_CLASSES = {
    "float": (lambda d: d.is_float, "floating-point"),
    "numeric": (lambda d: d.is_float or d.is_int, "numeric"),
    "ordered": (lambda d: d.is_float or d.is_int or d.is_bool, "numeric or bool"),
}


def check_dtype(ctx: InferContext, dt: DType, cls: str) -> None:
    ok, words = DTYPE_CLASSES[cls]
    if not ok(dt):
        raise InferError(f"'{ctx.name}' needs a {words} operand, got {dt}")


def _lowest(dt: np.dtype):
    if dt.kind == "b":
        return False
    return np.iinfo(dt).min if dt.kind in "iu" else -np.inf


def _highest(dt: np.dtype):
    if dt.kind == "b":
        return True
    return np.iinfo(dt).max if dt.kind in "iu" else np.inf


def _count(x: np.ndarray, axis) -> int:
    if axis is None:
        return x.size
    return int(np.prod([x.shape[a] for a in axis], dtype=np.int64))


def _sum(x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)


def _mean(x, axis, keepdims):
    n = _count(x, axis)
    if x.dtype.kind == "f":
        with np.errstate(invalid="ignore", divide="ignore"):
            return _sum(x, axis, keepdims) / np.asarray(n, x.dtype)
    wide = np.dtype(np.int64 if x.dtype.kind == "i" else np.uint64)
    s = np.sum(x, axis=axis, keepdims=keepdims, dtype=wide)
    return nx.trunc_div(s, np.asarray(max(n, 1), wide))


def _max(x, axis, keepdims):
    return np.max(x, axis=axis, keepdims=keepdims, initial=_lowest(x.dtype))


def _min(x, axis, keepdims):
    return np.min(x, axis=axis, keepdims=keepdims, initial=_highest(x.dtype))


def _prod(x, axis, keepdims):
    return np.prod(x, axis=axis, keepdims=keepdims, dtype=x.dtype)


def _l1(x, axis, keepdims):
    return _sum(np.abs(x), axis, keepdims)


def _l2(x, axis, keepdims):
    return np.sqrt(_sum(x * x, axis, keepdims))


def _log_sum(x, axis, keepdims):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(_sum(x, axis, keepdims))


def _log_sum_exp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, np.zeros((), x.dtype))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return out


def _sum_square(x, axis, keepdims):
    return _sum(x * x, axis, keepdims)


# name: (function, dtype class, formula for the docs)
REDUCTIONS: dict[str, tuple] = {
    "sum": (_sum, "numeric", "sum(x)"),
    "mean": (_mean, "numeric", "sum(x) / count"),
    "max": (_max, "ordered", "max(x)"),
    "min": (_min, "ordered", "min(x)"),
    "prod": (_prod, "numeric", "prod(x)"),
    "l1": (_l1, "numeric", "sum(|x|)"),
    "l2": (_l2, "float", "sqrt(sum(x^2))"),
    "log_sum": (_log_sum, "float", "log(sum(x))"),
    "log_sum_exp": (_log_sum_exp, "float", "log(sum(exp(x))), computed stably"),
    "sum_square": (_sum_square, "numeric", "sum(x^2)"),
}


def reduce_axes(ctx, rank: int) -> tuple[int, ...] | None:
    """The ``axes`` attribute normalized to non-negative axes (None: all)."""
    axes = ctx.attr("axes")
    if axes is None:
        return None
    return tuple(a + rank if a < 0 else a for a in axes)


def _reduce_infer(cls: str):
    def infer(ctx: InferContext) -> TensorType:
        x = ctx.operand_types[0]
        check_dtype(ctx, x.dtype, cls)
        return x.with_shape(reduce_shape(x.shape, ctx.attr("axes"), ctx.attr("keepdims")))

    return infer


def _define_reduction(name: str, fn, cls: str, formula: str) -> None:
    def ref(ctx, x):
        axis = reduce_axes(ctx, x.ndim)
        return nx.in_f32(fn)(x, axis=axis, keepdims=ctx.attr("keepdims"))

    define_op(
        f"zt.reduce_{name}",
        operands=("x",),
        attrs={"axes": ("ints", None), "keepdims": ("bool", True)},
        traits=(PURE, REDUCTION, ANCHOR),
        infer=_reduce_infer(cls),
        reference=ref,
        doc=f"{formula} over `axes` (None: all axes; (): none), keeping reduced dims as 1 "
            f"when `keepdims` (ONNX Reduce{name.title().replace('_', '')}-18). "
            "An empty reduction gives the identity (see module doc).",
    )


for _name, (_fn, _cls, _formula) in REDUCTIONS.items():
    _define_reduction(_name, _fn, _cls, _formula)


# --- argmax / argmin ---------------------------------------------------------------------------


def _arg_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    check_dtype(ctx, x.dtype, "ordered")
    axis = normalize_axis(ctx.attr("axis"), x.rank)
    if x.shape[axis] == 0:
        raise InferError(f"cannot take '{ctx.name}' over axis {axis} of size 0")
    return TensorType(i64, reduce_shape(x.shape, (axis,), ctx.attr("keepdims")))


def _arg_ref(find):
    def ref(ctx, x):
        axis = ctx.attr("axis") % x.ndim
        if ctx.attr("select_last_index"):
            flipped = np.flip(x, axis=axis)
            idx = x.shape[axis] - 1 - find(flipped, axis=axis, keepdims=True)
        else:
            idx = find(x, axis=axis, keepdims=True)
        if not ctx.attr("keepdims"):
            idx = np.squeeze(idx, axis=axis)
        return idx.astype(np.int64)

    return ref


for _name, _find in (("argmax", np.argmax), ("argmin", np.argmin)):
    define_op(
        f"zt.{_name}",
        operands=("x",),
        attrs={"axis": ("int", 0), "keepdims": ("bool", True), "select_last_index": ("bool", False)},
        traits=(PURE, REDUCTION),
        infer=_arg_infer,
        reference=_arg_ref(_find),
        doc=f"i64 index of the {_name[3:]}imum along `axis` (ONNX {_name.title()}-13): the first "
            "occurrence, or the last when `select_last_index`; a NaN counts as the extreme. "
            "The axis must not be empty.",
    )


# --- cumsum / cumprod ---------------------------------------------------------------------------


def _cum_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    check_dtype(ctx, x.dtype, "numeric")
    if x.rank == 0:
        raise InferError(f"'{ctx.name}' needs an operand of rank >= 1")
    normalize_axis(ctx.attr("axis"), x.rank)
    return x


def _cum_ref(scan, identity: int):
    def compute(x, axis, exclusive, reverse):
        if reverse:
            x = np.flip(x, axis=axis)
        out = scan(x, axis=axis, dtype=x.dtype)
        if exclusive:
            first = np.full_like(np.take(x, [0], axis=axis), identity)
            rest = np.take(out, np.arange(x.shape[axis] - 1), axis=axis)
            out = np.concatenate([first, rest], axis=axis)
        return np.flip(out, axis=axis) if reverse else out

    def ref(ctx, x):
        axis = ctx.attr("axis") % x.ndim
        if x.shape[axis] == 0:
            return x.copy()
        return nx.in_f32(compute)(x, axis=axis, exclusive=ctx.attr("exclusive"),
                                  reverse=ctx.attr("reverse"))

    return ref


for _name, _scan, _ident, _word in (("cumsum", np.cumsum, 0, "sum"),
                                    ("cumprod", np.cumprod, 1, "product")):
    define_op(
        f"zt.{_name}",
        operands=("x",),
        attrs={"axis": "int", "exclusive": ("bool", False), "reverse": ("bool", False)},
        traits=(PURE,),
        infer=_cum_infer,
        reference=_cum_ref(_scan, _ident),
        doc=f"Running {_word} along `axis` (ONNX {'CumSum' if _ident == 0 else 'CumProd'}, axis "
            f"as an attribute): element j is the {_word} of elements 0..j, of 0..j-1 when "
            f"`exclusive` (the first is {_ident}), scanning from the end when `reverse`.",
    )


# --- topk ---------------------------------------------------------------------------------------


def _topk_infer(ctx: InferContext) -> list[TensorType]:
    x = ctx.operand_types[0]
    check_dtype(ctx, x.dtype, "numeric")
    if x.rank == 0:
        raise InferError("'zt.topk' needs an operand of rank >= 1")
    k = ctx.attr("k")
    if k < 0:
        raise InferError(f"k must be >= 0, got {k}")
    axis = normalize_axis(ctx.attr("axis"), x.rank)
    n = x.shape[axis]
    if isinstance(n, int) and k > n:
        raise InferError(f"k={k} is larger than axis {axis} of size {n}")
    shape = x.shape[:axis] + (k,) + x.shape[axis + 1:]
    return [x.with_shape(shape), TensorType(i64, shape)]


def topk_indices(x: np.ndarray, k: int, axis: int, largest: bool) -> np.ndarray:
    """Indices of the k largest (smallest) along ``axis``, ties to the lower index, NaN largest."""
    if largest:
        n = x.shape[axis]
        # Stable ascending sort of the reversed axis, read backwards: descending values
        # with equal values in ascending index order.
        order = np.argsort(np.flip(x, axis=axis), axis=axis, kind="stable")
        order = (n - 1) - np.flip(order, axis=axis)
    else:
        order = np.argsort(x, axis=axis, kind="stable")
    return np.take(order, np.arange(k), axis=axis)


def _topk_ref(ctx, x):
    axis = ctx.attr("axis") % x.ndim
    idx = topk_indices(x, ctx.attr("k"), axis, ctx.attr("largest"))
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


define_op(
    "zt.topk",
    operands=("x",),
    results=2,
    attrs={"k": "int", "axis": ("int", -1), "largest": ("bool", True), "sorted": ("bool", True)},
    traits=(PURE,),
    infer=_topk_infer,
    reference=_topk_ref,
    doc="The `k` largest (smallest unless `largest`) elements along `axis` and their i64 indices "
        "(ONNX TopK, K as an attribute). Results are always sorted (best first; `sorted=false` "
        "allows any order, so this is valid for it too); equal values keep the lower index first; "
        "NaN counts as larger than every number.",
)
