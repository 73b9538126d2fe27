"""Ops whose result shape depends on run-time values.

The ``_dyn`` ops are the static ops of ``shape.py``, ``slicing.py`` and
``generate.py`` with their parameters as operands (ONNX passes them as tensors);
they share the static ops' helpers, so folding one with constant operands into
its static op is exact. Their type rules give exact dims when the parameter
operands are constants, the rank when a 1-D parameter has a static length, and
``?`` dims otherwise. ``nonzero``, ``unique`` and ``compress`` have result
lengths that depend on the data itself.
"""

from __future__ import annotations

import math

import numpy as np

from zenith.dialects.shape_rules import (
    dims_product,
    non_negative,
    normalize_axes,
    normalize_axis,
    require_int,
    require_rank,
    same_dtype,
    static_length,
)
from zenith.dialects.zt.generate import check_fill_value, fill_array, range_array, range_count
from zenith.dialects.zt.shape import expand_shape, resolve_reshape
from zenith.dialects.zt.slicing import (
    PAD_MODES,
    pad_array,
    pad_shape,
    slice_array,
    slice_shape,
    tile_array,
    tile_shape,
)
from zenith.ir.dtypes import f32, i64
from zenith.ir.opdef import PURE, VIEW, InferContext, InferError, define_op
from zenith.ir.types import TensorType


def _int_vector(ctx: InferContext, i: int, what: str) -> tuple[int, ...] | None:
    """Check operand ``i`` is a 1-D integer tensor; its values if a constant defines it."""
    t = ctx.operand_types[i]
    require_int(t, what)
    require_rank(t, 1, what)
    c = ctx.const(i)
    return None if c is None else tuple(int(v) for v in c.reshape(-1))


def _ints(a: np.ndarray | None) -> tuple[int, ...] | None:
    return None if a is None else tuple(int(v) for v in np.asarray(a).reshape(-1))


# -- reshape_dyn / expand_dyn ---------------------------------------------------------


def _reshape_dyn_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    spec = _int_vector(ctx, 1, "shape")
    if spec is not None:
        return x.with_shape(resolve_reshape(x.shape, spec, ctx.attr("allowzero")))
    n = static_length(ctx.operand_types[1], "shape")
    return x.with_shape((dims_product(x.shape),) if n == 1 else (None,) * n)


def _reshape_dyn_ref(ctx, x, shape):
    out = resolve_reshape(x.shape, _ints(shape), ctx.attr("allowzero"))
    return x.reshape(out)


define_op(
    "zt.reshape_dyn",
    operands=("x", "shape"),
    attrs={"allowzero": ("bool", False)},
    traits=(PURE, VIEW),
    infer=_reshape_dyn_infer,
    reference=_reshape_dyn_ref,
    doc="zt.reshape with the target shape (1-D int) as an operand.",
)


def _expand_dyn_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    target = _int_vector(ctx, 1, "shape")
    if target is not None:
        return x.with_shape(expand_shape(x.shape, target))
    n = static_length(ctx.operand_types[1], "shape")
    rank = max(x.rank, n)
    padded = (1,) * (rank - x.rank) + x.shape
    # Where the shape operand reaches, a static input dim other than 1 is kept (the
    # operand must hold 1 or that dim there); a 1 or a symbol may grow to anything.
    out = [d if i < rank - n or (isinstance(d, int) and d != 1) else None
           for i, d in enumerate(padded)]
    return x.with_shape(tuple(out))


def _expand_dyn_ref(ctx, x, shape):
    target = expand_shape(x.shape, _ints(shape))
    return np.broadcast_to(x, target).copy()


define_op(
    "zt.expand_dyn",
    operands=("x", "shape"),
    traits=(PURE,),
    infer=_expand_dyn_infer,
    reference=_expand_dyn_ref,
    doc="zt.expand with the target shape (1-D int) as an operand.",
)

# -- slice_dyn / tile_dyn / pad_dyn ---------------------------------------------------


def _slice_dyn_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    names = ("starts", "ends", "axes", "steps")
    vals = [_int_vector(ctx, i, names[i - 1]) for i in range(1, len(ctx.operand_types))]
    vals += [None] * (4 - len(vals))
    lengths = {t.shape[0] for t in ctx.operand_types[1:] if isinstance(t.shape[0], int)}
    if len(lengths) > 1:
        raise InferError(f"starts, ends, axes and steps must have equal lengths, got "
                         f"{', '.join(str(t) for t in ctx.operand_types[1:])}")
    has_axes, has_steps = len(ctx.operand_types) > 3, len(ctx.operand_types) > 4
    starts, ends, axes, steps = vals
    known = starts is not None and ends is not None and (axes is not None or not has_axes) \
        and (steps is not None or not has_steps)
    if known:
        return x.with_shape(slice_shape(x.shape, starts, ends, axes, steps))
    if axes is not None:
        sliced = set(normalize_axes(axes, x.rank, "slice axes"))
    elif not has_axes and lengths:
        (n,) = lengths
        if n > x.rank:
            raise InferError(f"slice of {n} axes of a rank-{x.rank} tensor")
        sliced = set(range(n))
    else:
        sliced = set(range(x.rank))
    return x.with_shape(tuple(None if i in sliced else d for i, d in enumerate(x.shape)))


def _slice_dyn_ref(ctx, x, starts, ends, axes=None, steps=None):
    return slice_array(x, _ints(starts), _ints(ends), _ints(axes), _ints(steps))


define_op(
    "zt.slice_dyn",
    operands=("x", "starts", "ends", "axes?", "steps?"),
    traits=(PURE,),
    infer=_slice_dyn_infer,
    reference=_slice_dyn_ref,
    doc="zt.slice with starts, ends, axes and steps (1-D int) as operands.",
)


def _tile_dyn_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    reps = _int_vector(ctx, 1, "repeats")
    if reps is not None:
        return x.with_shape(tile_shape(x.shape, reps))
    n = ctx.operand_types[1].shape[0]
    if isinstance(n, int) and n != x.rank:
        raise InferError(f"tile repeats {ctx.operand_types[1]} must have one entry per dim of {x}")
    return x.with_shape(tuple(0 if d == 0 else None for d in x.shape))


define_op(
    "zt.tile_dyn",
    operands=("x", "repeats"),
    traits=(PURE,),
    infer=_tile_dyn_infer,
    reference=lambda ctx, x, repeats: tile_array(x, _ints(repeats)),
    doc="zt.tile with repeats (1-D int) as an operand.",
)


def _pad_dyn_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    mode, axes = ctx.attr("mode"), ctx.attr("axes")
    if mode not in PAD_MODES:
        raise InferError(f"pad mode '{mode}' is not one of {', '.join(PAD_MODES)}")
    if len(ctx.operand_types) > 2:
        v = ctx.operand_types[2]
        same_dtype(ctx, [0, 2])
        if v.rank > 1 or (v.rank == 1 and v.shape[0] not in (1, None)):
            raise InferError(f"pad value must be a scalar (or hold one element), got {v}")
    ax = normalize_axes(tuple(range(x.rank)) if axes is None else axes, x.rank, "pad axes")
    pads = _int_vector(ctx, 1, "pads")
    if pads is not None:
        return x.with_shape(pad_shape(x.shape, pads, axes, mode))
    n = ctx.operand_types[1].shape[0]
    if isinstance(n, int) and n != 2 * len(ax):
        raise InferError(f"pads {ctx.operand_types[1]} must have {2 * len(ax)} entries "
                         f"(begins, then ends, for {len(ax)} axes)")
    return x.with_shape(tuple(None if i in ax else d for i, d in enumerate(x.shape)))


def _pad_dyn_ref(ctx, x, pads, value=None):
    v = 0 if value is None else value.reshape(())
    return pad_array(x, _ints(pads), ctx.attr("axes"), ctx.attr("mode"), v)


define_op(
    "zt.pad_dyn",
    operands=("x", "pads", "value?"),
    attrs={"mode": ("str", "constant"), "axes": ("ints", None)},
    traits=(PURE,),
    infer=_pad_dyn_infer,
    reference=_pad_dyn_ref,
    doc="zt.pad with pads (1-D int) and the constant value (a scalar of x's dtype, "
        "default 0) as operands.",
)

# -- fill_dyn / range_dyn -------------------------------------------------------------


def _fill_dyn_infer(ctx: InferContext) -> TensorType:
    dt = ctx.attr("dtype")
    check_fill_value(ctx.attr("value"), dt)
    shape = _int_vector(ctx, 0, "shape")
    if shape is not None:
        non_negative(shape, "fill shape")
        return TensorType(dt, shape)
    return TensorType(dt, (None,) * static_length(ctx.operand_types[0], "shape"))


def _fill_dyn_ref(ctx, shape):
    dims = _ints(shape)
    non_negative(dims, "fill shape")
    return fill_array(dims, ctx.attr("value"), ctx.attr("dtype"))


define_op(
    "zt.fill_dyn",
    operands=("shape",),
    attrs={"value": ("float", 0.0), "dtype": ("dtype", f32)},
    traits=(PURE,),
    infer=_fill_dyn_infer,
    reference=_fill_dyn_ref,
    doc="zt.fill with the shape (1-D int) as an operand (ONNX ConstantOfShape).",
)


def _scalar(a: np.ndarray) -> float | int:
    return int(a) if a.dtype.kind in "iu" else float(a)


def _range_dyn_infer(ctx: InferContext) -> TensorType:
    dt = same_dtype(ctx)
    for name, t in zip(("start", "limit", "delta"), ctx.operand_types):
        if t.rank > 1 or (t.rank == 1 and t.shape[0] not in (1, None)):
            raise InferError(f"{name} must be a scalar, got {t}")
    if not (dt.is_int or dt.is_float):
        raise InferError(f"range needs a numeric dtype, got {dt}")
    consts = [ctx.const(i) for i in range(3)]
    if all(c is not None for c in consts):
        return TensorType(dt, (range_count(*(_scalar(c.reshape(())) for c in consts), dt),))
    return TensorType(dt, (None,))


define_op(
    "zt.range_dyn",
    operands=("start", "limit", "delta"),
    traits=(PURE,),
    infer=_range_dyn_infer,
    reference=lambda ctx, *v: range_array(*(_scalar(a.reshape(())) for a in v),
                                          ctx.result_types[0].dtype),
    doc="zt.range with start, limit and delta as scalar operands of the result's dtype.",
)

# -- nonzero / compress ---------------------------------------------------------------


def _nonzero_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    if x.dtype.kind == "string":
        raise InferError("nonzero needs a numeric or bool operand")
    return TensorType(i64, (max(x.rank, 1), 0 if 0 in x.shape else None))


define_op(
    "zt.nonzero",
    operands=("x",),
    traits=(PURE,),
    infer=_nonzero_infer,
    reference=lambda ctx, x: np.array(np.nonzero(np.atleast_1d(x)), dtype=np.int64)
    .reshape(max(x.ndim, 1), -1),
    doc="Coordinates of the non-zero elements, i64 [rank, count], in row-major order "
        "(a scalar counts as a 1-element vector, as ONNX Runtime).",
)


def _compress_infer(ctx: InferContext) -> TensorType:
    x, cond = ctx.operand_types
    if not cond.dtype.is_bool:
        raise InferError(f"condition must be bool, got {cond.dtype}")
    require_rank(cond, 1, "condition")
    axis = ctx.attr("axis")
    dim = x.num_elements if axis is None else x.shape[normalize_axis(axis, x.rank)]
    c = ctx.const(1)
    n = int(np.count_nonzero(c[:dim])) if c is not None and isinstance(dim, int) else None
    if axis is None:
        return x.with_shape((n,))
    a = normalize_axis(axis, x.rank)
    return x.with_shape(x.shape[:a] + (n,) + x.shape[a + 1:])


def _compress_ref(ctx, x, cond):
    axis = ctx.attr("axis")
    if axis is None:
        flat = x.reshape(-1)
        return flat[np.flatnonzero(cond[:flat.size])]
    a = normalize_axis(axis, x.ndim)
    return np.take(x, np.flatnonzero(cond[:x.shape[a]]), axis=a)


define_op(
    "zt.compress",
    operands=("x", "condition"),
    attrs={"axis": ("int", None)},
    traits=(PURE,),
    infer=_compress_infer,
    reference=_compress_ref,
    doc="Keep the slices along `axis` (default: the flattened elements) where condition "
        "(1-D bool) is true; condition entries past the dim are ignored (as ONNX Runtime).",
)

# -- unique ---------------------------------------------------------------------------


def _unique_infer(ctx: InferContext) -> list[TensorType]:
    x = ctx.operand_types[0]
    axis = ctx.attr("axis")
    if x.dtype.kind in ("string", "complex"):
        raise InferError(f"unique needs an ordered dtype, got {x.dtype}")
    if axis is None:
        y, n = x.with_shape((None,)), dims_product(x.shape)
    else:
        a = normalize_axis(axis, x.rank)
        y, n = x.with_shape(x.shape[:a] + (None,) + x.shape[a + 1:]), x.shape[a]
    return [y, TensorType(i64, (None,)), TensorType(i64, (n,)), TensorType(i64, (None,))]


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first index, inverse, counts) of the distinct rows of a 2-D array, sorted.

    Rows sort lexicographically; NaNs sort last and equal each other (as numpy.unique).
    """
    n = rows.shape[0]
    keys = rows if rows.dtype.kind in "biuf" else rows.astype(np.float64)  # bf16, f8: exact in f64
    order = np.lexsort(keys.T[::-1]) if keys.shape[1] else np.arange(n)
    srt = keys[order]
    differ = srt[1:] != srt[:-1]
    if srt.dtype.kind == "f":
        differ &= ~(np.isnan(srt[1:]) & np.isnan(srt[:-1]))
    new = np.ones(n, dtype=bool)
    new[1:] = differ.any(axis=1)
    starts = np.flatnonzero(new)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    counts = np.diff(np.append(starts, n)).astype(np.int64)
    return order[starts].astype(np.int64), inverse, counts


def _unique_ref(ctx, x):
    axis = ctx.attr("axis")
    a = 0 if axis is None else normalize_axis(axis, x.ndim)
    moved = x.reshape(-1) if axis is None else np.moveaxis(x, a, 0)
    rows = moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))
    first, inverse, counts = unique_rows(rows)
    if not ctx.attr("sorted"):  # order the groups by first occurrence
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        first, counts, inverse = first[order], counts[order], rank[inverse]
    y = np.take(moved, first, axis=0)
    y = y if axis is None else np.moveaxis(y, 0, a)
    return y, first, inverse.astype(np.int64), counts


define_op(
    "zt.unique",
    operands=("x",),
    results=4,
    attrs={"sorted": ("bool", True), "axis": ("int", None)},
    traits=(PURE,),
    infer=_unique_infer,
    reference=_unique_ref,
    doc="ONNX Unique: distinct elements (or slices along `axis`), sorted or in order of "
        "first occurrence; results: values, first indices, inverse indices, counts (i64).",
)
