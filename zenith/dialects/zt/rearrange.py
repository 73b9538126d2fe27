"""Ops that move elements around within a tensor's dims.

trilu, depth_to_space, space_to_depth, reverse_sequence, with ONNX semantics
(Trilu, DepthToSpace with modes DCR/CRD, SpaceToDepth, ReverseSequence).
"""

from __future__ import annotations

import numpy as np

from zenith.dialects.shape_rules import (
    check_dims_match,
    dim_scale,
    format_shape,
    require_int,
    require_rank,
)
from zenith.ir.opdef import PURE, InferContext, InferError, define_op
from zenith.ir.types import Dim, TensorType

# -- trilu ----------------------------------------------------------------------------


def _trilu_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    if x.rank < 2:
        raise InferError(f"operand must have rank >= 2, got {x}")
    return x


def _trilu_ref(ctx, x):
    rows = np.arange(x.shape[-2])[:, None]
    cols = np.arange(x.shape[-1])[None, :]
    k = ctx.attr("k")
    keep = (cols - rows >= k) if ctx.attr("upper") else (cols - rows <= k)
    return np.where(keep, x, np.zeros((), x.dtype))


define_op(
    "zt.trilu",
    operands=("x",),
    attrs={"upper": ("bool", True), "k": ("int", 0)},
    traits=(PURE,),
    infer=_trilu_infer,
    reference=_trilu_ref,
    doc="Keep the upper (col - row >= k) or lower (col - row <= k) triangle of the last "
        "two dims; zero the rest.",
)

# -- depth_to_space / space_to_depth --------------------------------------------------

D2S_MODES = ("DCR", "CRD")


def _block(ctx: InferContext) -> int:
    b = ctx.attr("blocksize")
    if b < 1:
        raise InferError(f"blocksize must be at least 1, got {b}")
    return b


def _exact_div(d: Dim, k: int, what: str) -> Dim:
    if isinstance(d, int):
        if d % k:
            raise InferError(f"{what} {d} is not divisible by {k}")
        return d // k
    return d if k == 1 else None


def _d2s_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    require_rank(x, 4, "operand (NCHW)")
    b = _block(ctx)
    if ctx.attr("mode") not in D2S_MODES:
        raise InferError(f"mode '{ctx.attr('mode')}' is not one of DCR, CRD")
    n, c, h, w = x.shape
    return x.with_shape((n, _exact_div(c, b * b, "channels"), dim_scale(h, b), dim_scale(w, b)))


def _d2s_ref(ctx, x):
    b = ctx.attr("blocksize")
    n, c, h, w = x.shape
    if ctx.attr("mode") == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


define_op(
    "zt.depth_to_space",
    operands=("x",),
    attrs={"blocksize": "int", "mode": ("str", "DCR")},
    traits=(PURE,),
    infer=_d2s_infer,
    reference=_d2s_ref,
    doc="Move channel blocks into b x b spatial blocks (NCHW); DCR: channel index is "
        "(i*b + j)*C' + c, CRD: c*b*b + i*b + j.",
)


def _s2d_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    require_rank(x, 4, "operand (NCHW)")
    b = _block(ctx)
    n, c, h, w = x.shape
    return x.with_shape((n, dim_scale(c, b * b), _exact_div(h, b, "height"),
                         _exact_div(w, b, "width")))


def _s2d_ref(ctx, x):
    b = ctx.attr("blocksize")
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


define_op(
    "zt.space_to_depth",
    operands=("x",),
    attrs={"blocksize": "int"},
    traits=(PURE,),
    infer=_s2d_infer,
    reference=_s2d_ref,
    doc="Move b x b spatial blocks into channels (NCHW): the inverse of depth_to_space DCR.",
)

# -- reverse_sequence -----------------------------------------------------------------


def _rs_axes(batch_axis: int, time_axis: int) -> None:
    if {batch_axis, time_axis} != {0, 1}:
        raise InferError(f"batch_axis ({batch_axis}) and time_axis ({time_axis}) must be 0 and 1 "
                         "in some order")


def _rs_infer(ctx: InferContext) -> TensorType:
    x, lens = ctx.operand_types
    if x.rank < 2:
        raise InferError(f"operand must have rank >= 2, got {x}")
    ba, ta = ctx.attr("batch_axis"), ctx.attr("time_axis")
    _rs_axes(ba, ta)
    require_int(lens, "sequence_lens")
    require_rank(lens, 1, "sequence_lens")
    check_dims_match(lens.shape[0], x.shape[ba],
                     f"sequence_lens {lens} needs one length per batch entry of {format_shape(x.shape)}")
    return x


def _rs_ref(ctx, x, lens):
    ba, ta = ctx.attr("batch_axis"), ctx.attr("time_axis")
    xt = np.moveaxis(x, (ba, ta), (0, 1))  # [batch, time, ...]
    out = xt.copy()
    for b, n in enumerate(lens.tolist()):
        if not 0 <= n <= xt.shape[1]:
            raise ValueError(f"sequence length {n} of batch entry {b} is outside [0, {xt.shape[1]}]")
        out[b, :n] = xt[b, :n][::-1]
    return np.moveaxis(out, (0, 1), (ba, ta))


define_op(
    "zt.reverse_sequence",
    operands=("x", "sequence_lens"),
    attrs={"batch_axis": ("int", 1), "time_axis": ("int", 0)},
    traits=(PURE,),
    infer=_rs_infer,
    reference=_rs_ref,
    doc="Reverse the first sequence_lens[b] steps along `time_axis` of each batch entry b.",
)
