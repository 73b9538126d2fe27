"""Normalizations and the softmax family (ONNX semantics, float dtypes only).

All operands of an op share the input's dtype. Statistics (mean, variance) are
computed in f32 for low-precision floats and in the input dtype otherwise; the
variance is the biased one, ``mean((x - mean)^2)``.
"""

from __future__ import annotations

import numpy as np

from zenith.dialects.numerics import in_f32
from zenith.dialects.shape_rules import (
    check_broadcasts_to,
    check_dims_match,
    normalize_axes,
    normalize_axis,
    require_float,
    same_dtype,
)
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType


def _float_input(ctx: InferContext, min_rank: int = 0) -> TensorType:
    x = ctx.operand_types[0]
    require_float(x, f"'{ctx.name}' input")
    same_dtype(ctx)
    if x.rank < min_rank:
        raise InferError(f"'{ctx.name}' needs an input of rank >= {min_rank}, got {x}")
    return x


def _nonempty(fn):
    """A reference that returns an empty input unchanged and otherwise computes ``fn``."""

    def ref(ctx, x, *rest):
        return x.copy() if x.size == 0 else fn(ctx, x, *rest)

    return ref


# --- softmax, log_softmax, hardmax -------------------------------------------------------------


def _axis_infer(ctx: InferContext) -> TensorType:
    x = _float_input(ctx, 1)
    normalize_axis(ctx.attr("axis"), x.rank)
    return x


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    s = x - np.max(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def _hardmax(x, axis):
    out = np.zeros_like(x)
    if x.size:
        idx = np.argmax(x, axis=axis, keepdims=True)
        np.put_along_axis(out, idx, 1, axis=axis)
    return out


def _axis_ref(fn):
    @_nonempty
    def ref(ctx, x):
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return in_f32(fn)(x, axis=ctx.attr("axis") % x.ndim)

    return ref


for _name, _fn, _doc in (
    ("softmax", _softmax, "exp(x - max) / sum(exp(x - max)) along `axis` (ONNX Softmax-13); a "
     "row of only -inf gives NaN."),
    ("log_softmax", _log_softmax, "x - max - log(sum(exp(x - max))) along `axis` "
     "(ONNX LogSoftmax-13)."),
    ("hardmax", _hardmax, "1 at the first maximum along `axis`, 0 elsewhere (ONNX Hardmax-13)."),
):
    define_op(f"zt.{_name}", operands=("x",), attrs={"axis": ("int", -1)}, traits=(PURE, ANCHOR),
              infer=_axis_infer, reference=_axis_ref(_fn), doc=_doc)


# --- batch_norm, instance_norm, group_norm -----------------------------------------------------


def _channel_params(ctx: InferContext, names: tuple[str, ...], min_rank: int = 2) -> TensorType:
    """Type rule of ops whose operands after x are per-channel vectors of size C."""
    x = _float_input(ctx, min_rank)
    for name, t in zip(names, ctx.operand_types[1:]):
        if t.rank != 1:
            raise InferError(f"{name} must be 1-D [C], got {t}")
        check_dims_match(t.shape[0], x.shape[1], f"{name} size differs from channels (dim 1 of x)")
    return x


def _per_channel(v: np.ndarray, rank: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (rank - 2))


def _batch_norm(x, scale, bias, mean, var, epsilon):
    c = lambda v: _per_channel(v, x.ndim)  # noqa: E731
    return (x - c(mean)) / np.sqrt(c(var) + epsilon) * c(scale) + c(bias)


define_op(
    "zt.batch_norm",
    operands=("x", "scale", "bias", "mean", "var"),
    attrs={"epsilon": ("float", 1e-5)},
    traits=(PURE, ANCHOR),
    infer=lambda ctx: _channel_params(ctx, ("scale", "bias", "mean", "var")),
    reference=_nonempty(lambda ctx, *a: in_f32(_batch_norm)(*a, epsilon=ctx.attr("epsilon"))),
    doc="Inference batch normalization over channel axis 1 of x [N, C, ...] (ONNX "
        "BatchNormalization-15, training_mode=0): (x - mean) / sqrt(var + epsilon) * scale + bias, "
        "all four parameters 1-D [C].",
)


def _standardize(x, axes, epsilon):
    mean = np.mean(x, axis=axes, keepdims=True)
    d = x - mean
    var = np.mean(d * d, axis=axes, keepdims=True)
    return d / np.sqrt(var + epsilon)


def _instance_norm(x, scale, bias, epsilon):
    y = _standardize(x, tuple(range(2, x.ndim)), epsilon)
    return y * _per_channel(scale, x.ndim) + _per_channel(bias, x.ndim)


define_op(
    "zt.instance_norm",
    operands=("x", "scale", "bias"),
    attrs={"epsilon": ("float", 1e-5)},
    traits=(PURE, ANCHOR),
    infer=lambda ctx: _channel_params(ctx, ("scale", "bias"), min_rank=3),
    reference=_nonempty(lambda ctx, *a: in_f32(_instance_norm)(*a, epsilon=ctx.attr("epsilon"))),
    doc="Normalize each (n, c) slice of x [N, C, D1, ...] over its spatial dims, then scale and "
        "shift per channel (ONNX InstanceNormalization): y = (x - mean) / sqrt(var + epsilon) * "
        "scale[c] + bias[c].",
)


def _group_norm_infer(ctx: InferContext) -> TensorType:
    x = _channel_params(ctx, ("scale", "bias"))
    g = ctx.attr("num_groups")
    if g <= 0:
        raise InferError(f"num_groups must be positive, got {g}")
    c = x.shape[1]
    if isinstance(c, int) and c % g:
        raise InferError(f"num_groups {g} does not divide the {c} channels")
    return x


def _group_norm(x, scale, bias, num_groups, epsilon):
    grouped = x.reshape((x.shape[0], num_groups, -1))
    y = _standardize(grouped, (2,), epsilon).reshape(x.shape)
    return y * _per_channel(scale, x.ndim) + _per_channel(bias, x.ndim)


define_op(
    "zt.group_norm",
    operands=("x", "scale", "bias"),
    attrs={"num_groups": "int", "epsilon": ("float", 1e-5)},
    traits=(PURE, ANCHOR),
    infer=_group_norm_infer,
    reference=_nonempty(lambda ctx, *a: in_f32(_group_norm)(
        *a, num_groups=ctx.attr("num_groups"), epsilon=ctx.attr("epsilon"))),
    doc="Split the C channels of x [N, C, ...] into `num_groups` consecutive groups, normalize each "
        "(n, group) over its channels and spatial dims, then scale and shift per channel (ONNX "
        "GroupNormalization-21: scale and bias are 1-D [C]).",
)


# --- layer_norm, rms_norm ----------------------------------------------------------------------


def _last_axes_infer(ctx: InferContext) -> TensorType:
    x = _float_input(ctx, 1)
    normalize_axis(ctx.attr("axis"), x.rank)
    for name, t in zip(("scale", "bias"), ctx.operand_types[1:]):
        check_broadcasts_to(t.shape, x.shape, name)
    return x


def _layer_norm(x, *affine, axis, epsilon):
    y = _standardize(x, tuple(range(axis, x.ndim)), epsilon)
    if affine:
        y = y * affine[0]
    if len(affine) > 1:
        y = y + affine[1]
    return y


def _rms_norm(x, *affine, axis, epsilon):
    ms = np.mean(x * x, axis=tuple(range(axis, x.ndim)), keepdims=True)
    y = x / np.sqrt(ms + epsilon)
    return y * affine[0] if affine else y


def _last_axes_ref(fn):
    @_nonempty
    def ref(ctx, x, *affine):
        axis = ctx.attr("axis") % x.ndim
        return in_f32(fn)(x, *affine, axis=axis, epsilon=ctx.attr("epsilon"))

    return ref


define_op(
    "zt.layer_norm",
    operands=("x", "scale?", "bias?"),
    attrs={"axis": ("int", -1), "epsilon": ("float", 1e-5)},
    traits=(PURE, ANCHOR),
    infer=_last_axes_infer,
    reference=_last_axes_ref(_layer_norm),
    doc="Normalize x over axes [axis, rank): (x - mean) / sqrt(var + epsilon), then * scale and "
        "+ bias when given (ONNX LayerNormalization-17 first output; scale and bias broadcast to x "
        "unidirectionally).",
)

define_op(
    "zt.rms_norm",
    operands=("x", "scale?"),
    attrs={"axis": ("int", -1), "epsilon": ("float", 1e-5)},
    traits=(PURE, ANCHOR),
    infer=_last_axes_infer,
    reference=_last_axes_ref(_rms_norm),
    doc="x / sqrt(mean(x^2 over axes [axis, rank)) + epsilon), then * scale when given (ONNX "
        "RMSNormalization-23; scale broadcasts to x unidirectionally).",
)


# --- lp_normalization, mean_variance_normalization, lrn ----------------------------------------


def _lp_infer(ctx: InferContext) -> TensorType:
    x = _axis_infer(ctx)
    if ctx.attr("p") not in (1, 2):
        raise InferError(f"p must be 1 or 2, got {ctx.attr('p')}")
    return x


def _lp_normalization(x, axis, p):
    a = np.abs(x)
    norm = np.sum(a, axis=axis, keepdims=True) if p == 1 else \
        np.sqrt(np.sum(a * a, axis=axis, keepdims=True))
    safe = np.where(norm == 0, np.ones((), x.dtype), norm)
    return np.where(norm == 0, np.zeros((), x.dtype), x / safe)


define_op(
    "zt.lp_normalization",
    operands=("x",),
    attrs={"axis": ("int", -1), "p": ("int", 2)},
    traits=(PURE, ANCHOR),
    infer=_lp_infer,
    reference=_nonempty(lambda ctx, x: in_f32(_lp_normalization)(
        x, axis=ctx.attr("axis") % x.ndim, p=ctx.attr("p"))),
    doc="x / ||x||_p along `axis`, p in {1, 2} (ONNX LpNormalization); a zero norm gives 0.",
)

MVN_EPSILON = 1e-9


def _mvn_infer(ctx: InferContext) -> TensorType:
    x = _float_input(ctx)
    normalize_axes(ctx.attr("axes"), x.rank)
    return x


def _mvn(x, axes):
    mean = np.mean(x, axis=axes, keepdims=True)
    d = x - mean
    std = np.sqrt(np.mean(d * d, axis=axes, keepdims=True))
    return d / (std + MVN_EPSILON)


define_op(
    "zt.mean_variance_normalization",
    operands=("x",),
    attrs={"axes": ("ints", (0, 2, 3))},
    traits=(PURE, ANCHOR),
    infer=_mvn_infer,
    reference=_nonempty(lambda ctx, x: in_f32(_mvn)(
        x, axes=tuple(a % x.ndim for a in ctx.attr("axes")))),
    doc="(x - mean) / (std + 1e-9) with mean and (biased) std over `axes` (ONNX "
        "MeanVarianceNormalization-13, whose function body adds 1e-9 to the std).",
)


def _lrn_infer(ctx: InferContext) -> TensorType:
    x = _float_input(ctx, 2)
    if ctx.attr("size") <= 0:
        raise InferError(f"size must be positive, got {ctx.attr('size')}")
    return x


def _lrn(x, size, alpha, beta, bias):
    before, after = (size - 1) // 2, size // 2
    sq = x * x
    pad = [(0, 0)] * x.ndim
    pad[1] = (before, after)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(sq, pad), size, axis=1)
    square_sum = windows.sum(axis=-1)
    return x / (bias + (alpha / size) * square_sum) ** beta


define_op(
    "zt.lrn",
    operands=("x",),
    attrs={"size": "int", "alpha": ("float", 1e-4), "beta": ("float", 0.75), "bias": ("float", 1.0)},
    traits=(PURE, ANCHOR),
    infer=_lrn_infer,
    reference=_nonempty(lambda ctx, x: in_f32(_lrn)(
        x, **{k: ctx.attr(k) for k in ("size", "alpha", "beta", "bias")})),
    doc="Local response normalization across channels of x [N, C, ...] (ONNX LRN): "
        "x / (bias + alpha / size * square_sum)^beta, square_sum over channels "
        "[c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to [0, C).",
)
