"""Matrix products: batched, broadcasting ``matmul`` and ``gemm``/``linear``."""

from __future__ import annotations

import numpy as np

from zenith.dialects.numerics import in_f32
from zenith.dialects.shape_rules import broadcast_shapes, check_dims_match, same_dtype
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType


def matmul_shape(a: tuple, b: tuple) -> tuple:
    """``np.matmul`` shape rule: 1-D operands are promoted and the dim dropped."""
    if len(a) == 0 or len(b) == 0:
        raise InferError("matmul operands must have rank >= 1")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    check_dims_match(a2[-1], b2[-2], "matmul contraction dims differ")
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _matmul_infer(ctx: InferContext) -> TensorType:
    dt = same_dtype(ctx)
    if dt.is_bool or dt.kind == "string":
        raise InferError(f"matmul does not support dtype {dt}")
    a, b = ctx.operand_types
    return TensorType(dt, matmul_shape(a.shape, b.shape))


def _matmul_ref(ctx, a, b):
    if a.dtype.kind in "iu":
        return np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(a.dtype)
    return in_f32(np.matmul)(a, b)


define_op(
    "zt.matmul",
    operands=("lhs", "rhs"),
    traits=(PURE, ANCHOR),
    infer=_matmul_infer,
    reference=_matmul_ref,
    doc="Matrix product with NumPy matmul semantics (batched, broadcasting, 1-D promotion).",
)


def _gemm_infer(ctx: InferContext) -> TensorType:
    dt = same_dtype(ctx)
    a, b = ctx.operand_types[:2]
    if a.rank != 2 or b.rank != 2:
        raise InferError(f"gemm operands must be 2-D, got {a} and {b}")
    m, ka = (a.shape[1], a.shape[0]) if ctx.attr("trans_a") else a.shape
    kb, n = (b.shape[1], b.shape[0]) if ctx.attr("trans_b") else b.shape
    check_dims_match(ka, kb, "gemm contraction dims differ")
    if len(ctx.operand_types) == 3:
        broadcast_shapes(ctx.operand_types[2].shape, (m, n))
    return TensorType(dt, (m, n))


def _gemm_ref(ctx, a, b, c=None):
    at = a.T if ctx.attr("trans_a") else a
    bt = b.T if ctx.attr("trans_b") else b
    alpha, beta = ctx.attr("alpha"), ctx.attr("beta")

    def f(at, bt, *c):
        y = alpha * np.matmul(at, bt) if alpha != 1.0 else np.matmul(at, bt)
        if c:
            y = y + (beta * c[0] if beta != 1.0 else c[0])
        return y

    if a.dtype.kind in "iu":
        y = f(at.astype(np.int64), bt.astype(np.int64), *([] if c is None else [c]))
        return np.asarray(y).astype(a.dtype)
    return in_f32(f)(at, bt, *([] if c is None else [c]))


define_op(
    "zt.gemm",
    operands=("a", "b", "c?"),
    attrs={
        "alpha": ("float", 1.0),
        "beta": ("float", 1.0),
        "trans_a": ("bool", False),
        "trans_b": ("bool", False),
    },
    traits=(PURE, ANCHOR),
    infer=_gemm_infer,
    reference=_gemm_ref,
    doc="alpha * op(a) @ op(b) + beta * c, with optional transposes (ONNX Gemm).",
)


def _linear_infer(ctx: InferContext) -> TensorType:
    dt = same_dtype(ctx)
    x, w = ctx.operand_types[:2]
    if w.rank != 2:
        raise InferError(f"linear weight must be 2-D [out, in], got {w}")
    if x.rank < 1:
        raise InferError("linear input must have rank >= 1")
    check_dims_match(x.shape[-1], w.shape[1], "linear input features differ from weight")
    if len(ctx.operand_types) == 3:
        bias = ctx.operand_types[2]
        if bias.rank != 1:
            raise InferError(f"linear bias must be 1-D, got {bias}")
        check_dims_match(bias.shape[0], w.shape[0], "linear bias size differs from out features")
    return TensorType(dt, x.shape[:-1] + (w.shape[0],))


def _linear_ref(ctx, x, w, b=None):
    def f(x, w, *b):
        y = np.matmul(x, w.T)
        return y + b[0] if b else y

    return in_f32(f)(x, w, *([] if b is None else [b]))


define_op(
    "zt.linear",
    operands=("x", "weight", "bias?"),
    traits=(PURE, ANCHOR),
    infer=_linear_infer,
    reference=_linear_ref,
    doc="x @ weight.T + bias, weight laid out [out_features, in_features] (torch Linear).",
)
