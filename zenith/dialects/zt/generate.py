"""Ops that make new tensors from parameters: fill, range, eye_like, one_hot.

ONNX ConstantOfShape, Range, EyeLike and OneHot, with the parameters ONNX passes
as tensors (a shape, a range's bounds, a depth) held in attributes; ``fill_dyn``
and ``range_dyn`` in ``dynamic.py`` take them as operands and share the helpers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from zenith.dialects.shape_rules import non_negative, normalize_axis, require_rank
from zenith.ir.dtypes import DType, f32, i64
from zenith.ir.opdef import PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType

# -- fill -----------------------------------------------------------------------------


def check_fill_value(value: float | int, dt: DType) -> None:
    """A fill value must be representable: integral for integer dtypes."""
    if dt.kind == "string":
        raise InferError("cannot fill a str tensor")
    if (dt.is_int or dt.is_bool) and not (math.isfinite(value) and float(value) == int(value)):
        raise InferError(f"fill value {value} is not an integer, but the dtype is {dt}")
    if dt.is_int:
        info = np.iinfo(dt.np_dtype)
        if not info.min <= int(value) <= info.max:
            raise InferError(f"fill value {value} does not fit in {dt}")


def fill_array(shape: Sequence[int], value: float | int, dt: DType) -> np.ndarray:
    return np.full(tuple(shape), value, dtype=dt.np_dtype)


def _fill_infer(ctx: InferContext) -> TensorType:
    shape, dt = ctx.attr("shape"), ctx.attr("dtype")
    non_negative(shape, "fill shape")
    check_fill_value(ctx.attr("value"), dt)
    return TensorType(dt, tuple(shape))


define_op(
    "zt.fill",
    attrs={"shape": "ints", "value": ("float", 0.0), "dtype": ("dtype", f32)},
    traits=(PURE,),
    infer=_fill_infer,
    reference=lambda ctx: fill_array(ctx.attr("shape"), ctx.attr("value"), ctx.attr("dtype")),
    doc="A tensor of `shape` and `dtype` with every element `value` (ONNX ConstantOfShape).",
)

# -- range ----------------------------------------------------------------------------


def range_count(start: float, limit: float, delta: float, dt: DType) -> int:
    """ONNX Range length: max(ceil((limit - start) / delta), 0).

    Integer dtypes use exact integer arithmetic; float dtypes first round the three
    values to the dtype, then compute in f64 (as numpy.arange does).
    """
    if not (dt.is_int or dt.is_float):
        raise InferError(f"range needs a numeric dtype, got {dt}")
    vals = [start, limit, delta]
    if dt.is_int:
        if not all(math.isfinite(v) and float(v) == int(v) for v in vals):
            raise InferError(f"range bounds {vals} must be integers for dtype {dt}")
        s, lim, d = (int(v) for v in vals)
        if d == 0:
            raise InferError("range delta must not be 0")
        n = max(0, -((s - lim) // d))
        info = np.iinfo(dt.np_dtype)
        if n and not (info.min <= s <= info.max and info.min <= s + (n - 1) * d <= info.max):
            raise InferError(f"range values from {s} by {d} do not fit in {dt}")
        return n
    s, lim, d = (float(np.asarray(v).astype(dt.np_dtype)) for v in vals)
    if d == 0:
        raise InferError("range delta must not be 0")
    q = (lim - s) / d
    if not math.isfinite(q):
        raise InferError(f"range from {s} to {lim} by {d} has no finite length")
    return max(0, math.ceil(q))


def range_array(start: float, limit: float, delta: float, dt: DType) -> np.ndarray:
    """Element i is start + i * delta, computed exactly (ints) or in f64 and rounded once."""
    n = range_count(start, limit, delta, dt)
    if dt.is_int:
        work = np.int64 if dt.name != "u64" else object  # every value fits (range_count checks)
        return (int(start) + np.arange(n, dtype=work) * int(delta)).astype(dt.np_dtype)
    s, d = (float(np.asarray(v).astype(dt.np_dtype)) for v in (start, delta))
    return (s + np.arange(n, dtype=np.float64) * d).astype(dt.np_dtype)


def _range_infer(ctx: InferContext) -> TensorType:
    dt = ctx.attr("dtype")
    return TensorType(dt, (range_count(ctx.attr("start"), ctx.attr("limit"), ctx.attr("delta"), dt),))


define_op(
    "zt.range",
    attrs={"start": ("float", 0), "limit": "float", "delta": ("float", 1), "dtype": ("dtype", i64)},
    traits=(PURE,),
    infer=_range_infer,
    reference=lambda ctx: range_array(ctx.attr("start"), ctx.attr("limit"), ctx.attr("delta"),
                                      ctx.attr("dtype")),
    doc="1-D tensor start, start + delta, ... up to (excluding) `limit`, of `dtype`.",
)

# -- eye_like -------------------------------------------------------------------------


def _eye_dtype(ctx) -> DType:
    return ctx.attr("dtype") or ctx.operand_types[0].dtype


def _eye_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    require_rank(x, 2)
    dt = _eye_dtype(ctx)
    if dt.kind == "string":
        raise InferError("eye_like cannot make a str tensor")
    return TensorType(dt, x.shape)


def _eye_ref(ctx, x):
    dt = ctx.result_types[0].dtype
    rows, cols = np.arange(x.shape[0])[:, None], np.arange(x.shape[1])[None, :]
    return (cols - rows == ctx.attr("k")).astype(dt.np_dtype)


define_op(
    "zt.eye_like",
    operands=("x",),
    attrs={"k": ("int", 0), "dtype": ("dtype", None)},
    traits=(PURE,),
    infer=_eye_infer,
    reference=_eye_ref,
    doc="A 2-D tensor shaped like `x` with ones on diagonal `k` (col - row = k), zeros "
        "elsewhere; dtype `dtype` or x's.",
)

# -- one_hot --------------------------------------------------------------------------


def _one_hot_infer(ctx: InferContext) -> TensorType:
    idx, values = ctx.operand_types
    if not (idx.dtype.is_int or idx.dtype.is_float):
        raise InferError(f"indices must be numeric, got {idx.dtype}")
    require_rank(values, 1, "values ([off, on])")
    if isinstance(values.shape[0], int) and values.shape[0] != 2:
        raise InferError(f"values must hold 2 elements [off, on], got {values}")
    depth = ctx.attr("depth")
    if depth < 1:
        raise InferError(f"depth must be at least 1, got {depth}")
    axis = normalize_axis(ctx.attr("axis"), idx.rank + 1)
    return TensorType(values.dtype, idx.shape[:axis] + (depth,) + idx.shape[axis:])


def _one_hot_ref(ctx, indices, values):
    depth = ctx.attr("depth")
    axis = normalize_axis(ctx.attr("axis"), indices.ndim + 1)
    idx = np.trunc(indices).astype(np.int64) if indices.dtype.kind == "f" else indices.astype(np.int64)
    idx = np.where(idx < 0, idx + depth, idx)
    hot = idx[..., None] == np.arange(depth)  # out-of-range indices match nothing
    return np.moveaxis(np.where(hot, values[1], values[0]), -1, axis)


define_op(
    "zt.one_hot",
    operands=("indices", "values"),
    attrs={"depth": "int", "axis": ("int", -1)},
    traits=(PURE,),
    infer=_one_hot_infer,
    reference=_one_hot_ref,
    doc="values[1] where a new `depth`-long axis `axis` equals the index, values[0] "
        "elsewhere; negative indices count from depth, out-of-range ones are all off.",
)
