"""Ops that change a tensor's shape but not its elements, and ops that read its shape.

reshape, transpose, squeeze, unsqueeze, flatten, expand, identity, shape_of, size.
Semantics follow ONNX (Reshape, Transpose, Squeeze-13, Unsqueeze-13, Flatten,
Expand, Identity, Shape-15, Size); ONNX's tensor-valued parameters are attributes.
"""

from __future__ import annotations

import math

import numpy as np

from zenith.dialects.shape_rules import (
    broadcast_shapes,
    dims_product,
    format_shape,
    non_negative,
    normalize_axes,
)
from zenith.ir.dtypes import i64
from zenith.ir.opdef import PURE, VIEW, InferContext, InferError, define_op
from zenith.ir.types import Dim, TensorType


def resolve_reshape(in_shape: tuple[Dim, ...], spec: tuple[int, ...], allowzero: bool) -> tuple:
    """Target shape of a reshape: ``0`` copies the input dim (unless allowzero), ``-1`` is inferred."""
    out: list[Dim] = []
    infer_at = None
    for i, s in enumerate(spec):
        if s == -1:
            if infer_at is not None:
                raise InferError(f"reshape shape {list(spec)} has more than one -1")
            infer_at = i
            out.append(None)
        elif s == 0 and not allowzero:
            if i >= len(in_shape):
                raise InferError(f"reshape shape {list(spec)}: 0 at {i} has no input dim to copy")
            out.append(in_shape[i])
        elif s < -1:
            raise InferError(f"reshape shape {list(spec)} has invalid entry {s}")
        else:
            out.append(s)
    total = dims_product(in_shape)
    if infer_at is not None:
        rest = dims_product([d for i, d in enumerate(out) if i != infer_at])
        if isinstance(total, int) and isinstance(rest, int):
            if rest == 0 or total % rest:
                raise InferError(f"cannot reshape {format_shape(in_shape)} into {list(spec)}")
            out[infer_at] = total // rest
        elif rest == 1:
            out[infer_at] = total
    else:
        new_total = dims_product(out)
        if isinstance(total, int) and isinstance(new_total, int) and total != new_total:
            raise InferError(f"cannot reshape {format_shape(in_shape)} ({total} elements) into "
                             f"{list(spec)} ({new_total} elements)")
    return tuple(out)


def _reshape_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    return x.with_shape(resolve_reshape(x.shape, ctx.attr("shape"), ctx.attr("allowzero")))


def _reshape_ref(ctx, x):
    spec = list(ctx.attr("shape"))
    if not ctx.attr("allowzero"):
        spec = [x.shape[i] if s == 0 else s for i, s in enumerate(spec)]
    return np.reshape(x, spec)


define_op(
    "zt.reshape",
    operands=("x",),
    attrs={"shape": "ints", "allowzero": ("bool", False)},
    traits=(PURE, VIEW),
    infer=_reshape_infer,
    reference=_reshape_ref,
    doc="Reshape to `shape` (ONNX rules: -1 inferred, 0 copies the input dim).",
)


def _perm(ctx: InferContext, rank: int) -> tuple[int, ...]:
    perm = ctx.attr("perm")
    if perm is None:
        return tuple(range(rank - 1, -1, -1))
    if sorted(perm) != list(range(rank)):
        raise InferError(f"perm {list(perm)} is not a permutation of {rank} axes")
    return tuple(perm)


def _transpose_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    return x.with_shape(tuple(x.shape[p] for p in _perm(ctx, x.rank)))


define_op(
    "zt.transpose",
    operands=("x",),
    attrs={"perm": ("ints", None)},
    traits=(PURE,),
    infer=_transpose_infer,
    reference=lambda ctx, x: np.transpose(x, ctx.attr("perm")).copy(),
    doc="Permute axes (default: reverse them).",
)


# -- squeeze / unsqueeze / flatten ---------------------------------------------------


def squeeze_shape(shape: tuple[Dim, ...], axes: tuple[int, ...] | None) -> tuple[Dim, ...]:
    """Drop ``axes`` (which must be 1), or every static 1 when ``axes`` is None or empty.

    Without axes a symbolic or unknown dim is kept: it is assumed not to be 1 (a
    run-time 1 there changes the rank, and the interpreter reports it).
    """
    if not axes:
        return tuple(d for d in shape if d != 1)
    ax = normalize_axes(axes, len(shape))
    for a in ax:
        if isinstance(shape[a], int) and shape[a] != 1:
            raise InferError(f"cannot squeeze axis {a} of size {shape[a]} in {format_shape(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in ax)


def _squeeze_ref(ctx, x):
    axes = ctx.attr("axes")
    if not axes:
        return x.reshape([n for n in x.shape if n != 1])
    ax = normalize_axes(axes, x.ndim)
    bad = [a for a in ax if x.shape[a] != 1]
    if bad:
        raise ValueError(f"axis {bad[0]} has size {x.shape[bad[0]]} at run time, not 1")
    return x.reshape([n for i, n in enumerate(x.shape) if i not in ax])


define_op(
    "zt.squeeze",
    operands=("x",),
    attrs={"axes": ("ints", None)},
    traits=(PURE, VIEW),
    infer=lambda ctx: ctx.operand_types[0].with_shape(
        squeeze_shape(ctx.operand_types[0].shape, ctx.attr("axes"))),
    reference=_squeeze_ref,
    doc="Remove size-1 `axes` (absent or empty: every size-1 dim, as ONNX).",
)


def unsqueeze_shape(shape: tuple[Dim, ...], axes: tuple[int, ...]) -> tuple[Dim, ...]:
    """Insert 1s at ``axes``, which index the result (ONNX Unsqueeze-13)."""
    rank = len(shape) + len(axes)
    ax = set(normalize_axes(axes, rank))
    it = iter(shape)
    return tuple(1 if i in ax else next(it) for i in range(rank))


define_op(
    "zt.unsqueeze",
    operands=("x",),
    attrs={"axes": "ints"},
    traits=(PURE, VIEW),
    infer=lambda ctx: ctx.operand_types[0].with_shape(
        unsqueeze_shape(ctx.operand_types[0].shape, ctx.attr("axes"))),
    reference=lambda ctx, x: x.reshape(unsqueeze_shape(x.shape, ctx.attr("axes"))),
    doc="Insert size-1 dims at `axes` (positions in the result; negative counts from its end).",
)


def _flatten_axis(axis: int, rank: int) -> int:
    if not -rank <= axis <= rank:
        raise InferError(f"flatten axis {axis} is out of range for rank {rank} "
                         f"(expected {-rank} to {rank})")
    return axis + rank if axis < 0 else axis


def _flatten_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    a = _flatten_axis(ctx.attr("axis"), x.rank)
    return x.with_shape((dims_product(x.shape[:a]), dims_product(x.shape[a:])))


def _flatten_ref(ctx, x):
    a = _flatten_axis(ctx.attr("axis"), x.ndim)
    return x.reshape(math.prod(x.shape[:a]), math.prod(x.shape[a:]))


define_op(
    "zt.flatten",
    operands=("x",),
    attrs={"axis": ("int", 1)},
    traits=(PURE, VIEW),
    infer=_flatten_infer,
    reference=_flatten_ref,
    doc="Flatten to 2-D: dims before `axis` form the rows, the rest the columns.",
)


# -- expand / identity ---------------------------------------------------------------


def expand_shape(shape: tuple[Dim, ...], target: tuple[int, ...]) -> tuple[Dim, ...]:
    """ONNX Expand: the two-way broadcast of the input shape and ``target``."""
    non_negative(target, "expand shape")
    try:
        return broadcast_shapes(shape, target)
    except InferError:
        raise InferError(f"cannot expand {format_shape(shape)} to {list(target)}: "
                         "dims must be equal or 1") from None


def _expand_ref(ctx, x):
    out = np.broadcast_shapes(x.shape, tuple(ctx.attr("shape")))
    return np.broadcast_to(x, out).copy()


define_op(
    "zt.expand",
    operands=("x",),
    attrs={"shape": "ints"},
    traits=(PURE,),
    infer=lambda ctx: ctx.operand_types[0].with_shape(
        expand_shape(ctx.operand_types[0].shape, ctx.attr("shape"))),
    reference=_expand_ref,
    doc="Broadcast to `shape` (two-way, as ONNX Expand: 1s in `shape` keep the input's dim).",
)

define_op(
    "zt.identity",
    operands=("x",),
    traits=(PURE, VIEW),
    infer=lambda ctx: ctx.operand_types[0],
    reference=lambda ctx, x: x,
    doc="The operand, unchanged.",
)


# -- shape_of / size ------------------------------------------------------------------


def shape_of_bounds(rank: int, start: int, end: int | None) -> tuple[int, int]:
    """ONNX Shape-15 bounds: negative counts from the end, then clamp to [0, rank]."""
    def clamp(v: int) -> int:
        return min(max(v + rank if v < 0 else v, 0), rank)

    s, e = clamp(start), rank if end is None else clamp(end)
    return s, max(s, e)


def _shape_of_infer(ctx: InferContext) -> TensorType:
    s, e = shape_of_bounds(ctx.operand_types[0].rank, ctx.attr("start"), ctx.attr("end"))
    return TensorType(i64, (e - s,))


def _shape_of_ref(ctx, x):
    s, e = shape_of_bounds(x.ndim, ctx.attr("start"), ctx.attr("end"))
    return np.array(x.shape[s:e], dtype=np.int64).reshape(e - s)


define_op(
    "zt.shape_of",
    operands=("x",),
    attrs={"start": ("int", 0), "end": ("int", None)},
    traits=(PURE,),
    infer=_shape_of_infer,
    reference=_shape_of_ref,
    doc="The operand's dims `start`..`end` as a 1-D i64 tensor (ONNX Shape-15 clamping).",
)

define_op(
    "zt.size",
    operands=("x",),
    traits=(PURE,),
    infer=lambda ctx: TensorType(i64, ()),
    reference=lambda ctx, x: np.array(x.size, dtype=np.int64),
    doc="The operand's number of elements as an i64 scalar.",
)
