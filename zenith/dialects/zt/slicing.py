"""Ops that cut and join tensors: concat, split, slice, pad, tile.

Semantics follow ONNX (Concat, Split-18, Slice-13, Pad-19, Tile). ONNX's tensor
parameters (a slice's starts, a pad's pads) are attributes here; the ``_dyn`` ops
in ``dynamic.py`` take them as operands and reuse the helpers below, so a constant
folder that turns one into the other keeps the semantics exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zenith.dialects.shape_rules import (
    check_dims_match,
    dim_add,
    dim_scale,
    format_shape,
    non_negative,
    normalize_axes,
    normalize_axis,
    same_dtype,
)
from zenith.ir.opdef import PURE, InferContext, InferError, define_op
from zenith.ir.types import Dim, TensorType

# A slice end of exactly INT32_MAX or INT64_MAX means "past the last element in the
# step's direction" (numpy's None), as ONNX Runtime reads it and exporters write it;
# with a negative step it reaches index 0. Other bounds follow the ONNX clamping text.
END_SENTINELS = (2**31 - 1, 2**63 - 1)
# With a symbolic dim, a bound at least this large (in magnitude) is taken to lie
# beyond the dim (dims are assumed shorter than 2**31 - 1).
BIG = 2**31 - 1

# -- concat ---------------------------------------------------------------------------


def _concat_infer(ctx: InferContext) -> TensorType:
    types = ctx.operand_types
    if not types:
        raise InferError("needs at least one input")
    dt = same_dtype(ctx)
    rank = types[0].rank
    if rank == 0:
        raise InferError("cannot concatenate scalars (rank 0)")
    for i, t in enumerate(types):
        if t.rank != rank:
            raise InferError(f"input #{i} has rank {t.rank} but input #0 has rank {rank}")
    axis = normalize_axis(ctx.attr("axis"), rank)
    out = list(types[0].shape)
    for i, t in enumerate(types[1:], 1):
        for k in range(rank):
            if k == axis:
                out[k] = dim_add(out[k], t.shape[k])
            else:
                out[k] = check_dims_match(out[k], t.shape[k], f"input #{i} dim {k} differs from input #0")
    return TensorType(dt, tuple(out))


define_op(
    "zt.concat",
    operands=("inputs*",),
    attrs={"axis": "int"},
    traits=(PURE,),
    infer=_concat_infer,
    reference=lambda ctx, *xs: np.concatenate(xs, axis=ctx.attr("axis")),
    doc="Join the inputs along `axis`; other dims must match.",
)

# -- split ----------------------------------------------------------------------------


def split_sizes(dim: Dim, sizes: Sequence[int] | None, num_outputs: int | None) -> list[Dim]:
    """Part lengths: ``sizes``, or ``num_outputs`` parts of ceil(dim / n) with a shorter last."""
    if (sizes is None) == (num_outputs is None):
        raise InferError("give exactly one of 'sizes' and 'num_outputs'")
    if sizes is not None:
        if not sizes:
            raise InferError("'sizes' must not be empty")
        non_negative(sizes, "split sizes")
        if isinstance(dim, int) and sum(sizes) != dim:
            raise InferError(f"split sizes {list(sizes)} sum to {sum(sizes)}, but the dim is {dim}")
        return list(sizes)
    if num_outputs < 1:
        raise InferError(f"num_outputs must be at least 1, got {num_outputs}")
    if not isinstance(dim, int):
        return [None] * num_outputs
    chunk = -(-dim // num_outputs)
    last = dim - chunk * (num_outputs - 1)
    if last < 0:
        raise InferError(f"cannot split {dim} into {num_outputs} parts of {chunk} "
                         "(ONNX rounds the part length up; the last part would be negative)")
    return [chunk] * (num_outputs - 1) + [last]


def _split_infer(ctx: InferContext) -> list[TensorType]:
    x = ctx.operand_types[0]
    if x.rank == 0:
        raise InferError("cannot split a scalar")
    axis = normalize_axis(ctx.attr("axis"), x.rank)
    parts = split_sizes(x.shape[axis], ctx.attr("sizes"), ctx.attr("num_outputs"))
    return [x.with_shape(x.shape[:axis] + (n,) + x.shape[axis + 1:]) for n in parts]


def _split_ref(ctx, x):
    axis = normalize_axis(ctx.attr("axis"), x.ndim)
    parts = split_sizes(x.shape[axis], ctx.attr("sizes"), ctx.attr("num_outputs"))
    return tuple(np.split(x, np.cumsum(parts)[:-1], axis=axis))


define_op(
    "zt.split",
    operands=("x",),
    results=None,
    attrs={"axis": ("int", 0), "sizes": ("ints", None), "num_outputs": ("int", None)},
    traits=(PURE,),
    infer=_split_infer,
    reference=_split_ref,
    doc="Split along `axis` into parts of `sizes`, or into `num_outputs` parts "
        "(ceil-sized, the last shorter), one result per part.",
)

# -- slice ----------------------------------------------------------------------------


def slice_params(rank: int, starts: Sequence[int], ends: Sequence[int],
                 axes: Sequence[int] | None, steps: Sequence[int] | None
                 ) -> list[tuple[int, int, int, int]]:
    """Check a slice's parameters; (axis, start, end, step) per sliced axis."""
    n = len(starts)
    if len(ends) != n:
        raise InferError(f"slice has {n} starts but {len(ends)} ends")
    axes = tuple(range(n)) if axes is None else tuple(axes)
    steps = (1,) * n if steps is None else tuple(steps)
    if len(axes) != n or len(steps) != n:
        raise InferError(f"slice starts, ends, axes and steps must have one entry per sliced axis "
                         f"(got {n}, {len(ends)}, {len(axes)}, {len(steps)})")
    if 0 in steps:
        raise InferError(f"slice steps {list(steps)} contain 0")
    ax = normalize_axes(axes, rank, "slice axes")
    return list(zip(ax, starts, ends, steps))


def slice_range(dim: int, start: int, end: int, step: int) -> tuple[int, int]:
    """(first index, element count) of an ONNX slice of a dim of length ``dim``.

    Negative bounds count from the end; then ``start`` clamps to [0, dim] for a
    positive step and [0, dim - 1] for a negative one, ``end`` to [0, dim] and
    [-1, dim - 1] respectively. An end in END_SENTINELS goes all the way.
    """
    if start < 0:
        start += dim
    if end in END_SENTINELS:
        end = dim if step > 0 else -1
    elif end < 0:
        end += dim
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        return start, max(0, -(-(end - start) // step))
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return start, max(0, -(-(start - end) // -step))


def slice_dim(dim: Dim, start: int, end: int, step: int) -> Dim:
    """The sliced length; a whole-dim slice (or reversal) keeps a symbolic dim."""
    if isinstance(dim, int):
        return slice_range(dim, start, end, step)[1]
    if step == 1 and (start == 0 or start <= -BIG) and end >= BIG:
        return dim
    if step == -1 and (start == -1 or start >= BIG) and (end <= -BIG or end in END_SENTINELS):
        return dim
    return None


def slice_shape(shape: tuple[Dim, ...], starts, ends, axes, steps) -> tuple[Dim, ...]:
    out = list(shape)
    for a, s, e, st in slice_params(len(shape), starts, ends, axes, steps):
        out[a] = slice_dim(shape[a], s, e, st)
    return tuple(out)


def slice_array(x: np.ndarray, starts, ends, axes, steps) -> np.ndarray:
    idx: list[slice] = [slice(None)] * x.ndim
    for a, s, e, st in slice_params(x.ndim, starts, ends, axes, steps):
        first, n = slice_range(x.shape[a], s, e, st)
        stop = first + n * st
        idx[a] = slice(first, stop if stop >= 0 else None, st) if n else slice(0, 0)
    return x[tuple(idx)].copy()


def _attrs(ctx, *keys: str) -> list:
    return [ctx.attr(k) for k in keys]


SLICE_KEYS = ("starts", "ends", "axes", "steps")

define_op(
    "zt.slice",
    operands=("x",),
    attrs={"starts": "ints", "ends": "ints", "axes": ("ints", None), "steps": ("ints", None)},
    traits=(PURE,),
    infer=lambda ctx: ctx.operand_types[0].with_shape(
        slice_shape(ctx.operand_types[0].shape, *_attrs(ctx, *SLICE_KEYS))),
    reference=lambda ctx, x: slice_array(x, *_attrs(ctx, *SLICE_KEYS)),
    doc="Strided slice of `axes` (default 0..n-1) from `starts` to `ends` by `steps` "
        "(default 1); negative bounds count from the end and bounds clamp, as ONNX Slice.",
)

# -- pad ------------------------------------------------------------------------------

PAD_MODES = ("constant", "reflect", "edge", "wrap")


def pad_params(rank: int, pads: Sequence[int], axes: Sequence[int] | None, mode: str
               ) -> list[tuple[int, int, int]]:
    """(axis, before, after) per padded axis; ``pads`` is all befores, then all afters."""
    if mode not in PAD_MODES:
        raise InferError(f"pad mode '{mode}' is not one of {', '.join(PAD_MODES)}")
    ax = normalize_axes(tuple(range(rank)) if axes is None else axes, rank, "pad axes")
    k = len(ax)
    if len(pads) != 2 * k:
        raise InferError(f"pads {list(pads)} must have {2 * k} entries (begins, then ends, "
                         f"for {k} axes)")
    return [(a, pads[i], pads[k + i]) for i, a in enumerate(ax)]


def pad_dim(dim: Dim, before: int, after: int, mode: str) -> Dim:
    """Padded length. Negative pads crop first; the other modes need a non-empty dim."""
    if not isinstance(dim, int):
        return dim_add(dim, before + after)
    kept = dim + min(before, 0) + min(after, 0)
    if kept < 0:
        raise InferError(f"pads ({before}, {after}) crop more than the dim of {dim}")
    if kept == 0 and mode != "constant" and (before > 0 or after > 0):
        raise InferError(f"'{mode}' padding needs a non-empty dim (pads {before}, {after} "
                         f"of a dim of {dim})")
    return dim + before + after


def pad_shape(shape: tuple[Dim, ...], pads, axes, mode: str) -> tuple[Dim, ...]:
    out = list(shape)
    for a, b, e in pad_params(len(shape), pads, axes, mode):
        out[a] = pad_dim(shape[a], b, e, mode)
    return tuple(out)


def _source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each output position along one axis, the input index it copies."""
    i = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if n == 1:  # reflect of one element repeats it
        return np.zeros_like(i)
    period = 2 * (n - 1)  # reflect about both edges, periodically (as numpy.pad)
    j = np.mod(i, period)
    return np.where(j < n, j, period - j)


def pad_array(x: np.ndarray, pads, axes, mode: str, value: float | int) -> np.ndarray:
    """Pad per ONNX: crop negative pads, then fill positive ones by ``mode``."""
    params = pad_params(x.ndim, pads, axes, mode)
    crop = [slice(None)] * x.ndim
    for a, b, e in params:
        pad_dim(x.shape[a], b, e, mode)  # run-time check of the same rules
        crop[a] = slice(max(-b, 0), x.shape[a] - max(-e, 0))
    x = x[tuple(crop)]
    if mode == "constant":
        shape, inner = list(x.shape), [slice(None)] * x.ndim
        for a, b, e in params:
            shape[a] += max(b, 0) + max(e, 0)
            inner[a] = slice(max(b, 0), max(b, 0) + x.shape[a])
        out = np.full(shape, np.asarray(value).astype(x.dtype), dtype=x.dtype)
        out[tuple(inner)] = x
        return out
    for a, b, e in params:
        x = np.take(x, _source_index(x.shape[a], max(b, 0), max(e, 0), mode), axis=a)
    return x


PAD_KEYS = ("pads", "axes", "mode")

define_op(
    "zt.pad",
    operands=("x",),
    attrs={"pads": "ints", "mode": ("str", "constant"), "value": ("float", 0.0),
           "axes": ("ints", None)},
    traits=(PURE,),
    infer=lambda ctx: ctx.operand_types[0].with_shape(
        pad_shape(ctx.operand_types[0].shape, *_attrs(ctx, *PAD_KEYS))),
    reference=lambda ctx, x: pad_array(x, *_attrs(ctx, *PAD_KEYS), ctx.attr("value")),
    doc="Pad `axes` (default all) by `pads` = [begins..., ends...]; negative pads crop. "
        "Modes: constant (`value`), reflect, edge, wrap.",
)

# -- tile -----------------------------------------------------------------------------


def tile_shape(shape: tuple[Dim, ...], repeats: Sequence[int]) -> tuple[Dim, ...]:
    if len(repeats) != len(shape):
        raise InferError(f"tile repeats {list(repeats)} must have one entry per dim of "
                         f"{format_shape(shape)}")
    non_negative(repeats, "tile repeats")
    return tuple(dim_scale(d, r) for d, r in zip(shape, repeats))


def tile_array(x: np.ndarray, repeats: Sequence[int]) -> np.ndarray:
    tile_shape(x.shape, repeats)
    return np.tile(x, tuple(repeats)).reshape([n * r for n, r in zip(x.shape, repeats)])


define_op(
    "zt.tile",
    operands=("x",),
    attrs={"repeats": "ints"},
    traits=(PURE,),
    infer=lambda ctx: ctx.operand_types[0].with_shape(
        tile_shape(ctx.operand_types[0].shape, ctx.attr("repeats"))),
    reference=lambda ctx, x: tile_array(x, ctx.attr("repeats")),
    doc="Repeat the tensor `repeats[i]` times along each dim i.",
)
