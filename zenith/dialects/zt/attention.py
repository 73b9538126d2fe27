"""Scaled dot-product attention on 4-D [batch, heads, seq, head_dim] tensors (ONNX Attention-25).

The op covers ONNX Attention for 4-D inputs without a KV cache: the ONNX
frontend packs 3-D inputs into heads, concatenates past keys/values, pads a
short mask, and builds the optional extra outputs with other ops. For a cache
whose new keys number ``q_len`` (the usual decoder step), ONNX's offset-aware
causal mask is ``causal_align="lower_right"``.
"""

from __future__ import annotations

import math

import numpy as np

from zenith.dialects.numerics import in_f32
from zenith.dialects.shape_rules import check_broadcasts_to, check_dims_match, require_float
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType

ALIGNS = ("upper_left", "lower_right")


def _attention_infer(ctx: InferContext) -> TensorType:
    q, k, v = ctx.operand_types[:3]
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.rank != 4:
            raise InferError(f"{name} must be 4-D [batch, heads, seq, head_dim], got {t}")
        require_float(t, name)
        if t.dtype is not q.dtype:
            raise InferError(f"{name} has dtype {t.dtype} but q has {q.dtype}")
    b = check_dims_match(q.shape[0], k.shape[0], "q and k batch sizes differ")
    b = check_dims_match(b, v.shape[0], "q and v batch sizes differ")
    check_dims_match(q.shape[3], k.shape[3], "q and k head sizes differ")
    kv_heads = check_dims_match(k.shape[1], v.shape[1], "k and v head counts differ")
    kv_len = check_dims_match(k.shape[2], v.shape[2], "k and v sequence lengths differ")
    hq = q.shape[1]
    if isinstance(hq, int) and isinstance(kv_heads, int) and (kv_heads == 0 or hq % kv_heads):
        raise InferError(f"q heads ({hq}) must be a multiple of k/v heads ({kv_heads})")
    if len(ctx.operand_types) > 3:
        mask = ctx.operand_types[3]
        if not (mask.dtype.is_bool or mask.dtype is q.dtype):
            raise InferError(f"mask must be bool or {q.dtype} like q, got {mask.dtype}")
        check_broadcasts_to(mask.shape, (b, hq, q.shape[2], kv_len), "mask")
    if ctx.attr("softcap") < 0:
        raise InferError(f"softcap must be >= 0 (0: off), got {ctx.attr('softcap')}")
    for key in ("left_window_size", "right_window_size"):
        if ctx.attr(key) < -1:
            raise InferError(f"{key} must be >= -1 (-1: unbounded), got {ctx.attr(key)}")
    if ctx.attr("causal_align") not in ALIGNS:
        raise InferError(f"causal_align must be one of {', '.join(ALIGNS)}, "
                         f"got '{ctx.attr('causal_align')}'")
    return TensorType(q.dtype, (b, hq, q.shape[2], v.shape[3]))


def position_bias(q_len: int, kv_len: int, attrs: dict, dtype: np.dtype) -> np.ndarray | None:
    """The [q_len, kv_len] bias (0 or -inf) of the causal mask and the sliding window, or None."""
    causal = attrs["causal"]
    left, right = attrs["left_window_size"], attrs["right_window_size"]
    if not causal and left < 0 and right < 0:
        return None
    offset = kv_len - q_len if attrs["causal_align"] == "lower_right" else 0
    # diff[i, j] = (offset + i) - j: how far key j lies behind query i's absolute position.
    diff = (np.arange(q_len)[:, None] + offset) - np.arange(kv_len)[None, :]
    allowed = np.ones((q_len, kv_len), dtype=bool)
    if causal:
        allowed &= diff >= 0
    if left >= 0:
        allowed &= diff <= left
    if right >= 0:
        allowed &= -diff <= right
    return np.where(allowed, np.zeros((), dtype), np.full((), -np.inf, dtype))


def attention(q, k, v, mask=None, *, attrs: dict) -> np.ndarray:
    """Reference attention; q/k/v are f32 or f64 here."""
    b, hq, q_len, d = q.shape
    hkv, kv_len, dv = k.shape[1], k.shape[2], v.shape[3]
    if kv_len == 0 or q.size == 0:
        return np.zeros((b, hq, q_len, dv), q.dtype)
    scale = attrs["scale"]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    rep = hq // hkv
    q5 = q.reshape(b, hkv, rep, q_len, d)
    scores = np.matmul(q5, np.swapaxes(k, -1, -2)[:, :, None]) * q.dtype.type(scale)
    scores = scores.reshape(b, hq, q_len, kv_len)
    if attrs["softcap"] > 0:
        cap = q.dtype.type(attrs["softcap"])
        scores = cap * np.tanh(scores / cap)
    bias = position_bias(q_len, kv_len, attrs, q.dtype)
    if mask is not None:
        m = mask if mask.dtype != bool else np.where(mask, np.zeros((), q.dtype),
                                                     np.full((), -np.inf, q.dtype))
        bias = m if bias is None else bias + m
    if bias is not None:
        scores = scores + bias
    with np.errstate(invalid="ignore", over="ignore"):
        peak = np.max(scores, axis=-1, keepdims=True)
        dead = ~np.isfinite(peak) & (peak < 0)  # every key masked
        e = np.exp(scores - np.where(dead, np.zeros((), q.dtype), peak))
        probs = e / np.sum(e, axis=-1, keepdims=True)
    if bias is not None:
        # ONNX: a row whose bias is -inf everywhere attends nothing and gives 0.
        bias_dead = np.all(np.isneginf(bias), axis=-1, keepdims=True)
        probs = np.where(bias_dead | dead, np.zeros((), q.dtype), probs)
    out = np.matmul(probs.reshape(b, hkv, rep, q_len, kv_len), v[:, :, None])
    return out.reshape(b, hq, q_len, dv)


def _attention_ref(ctx, q, k, v, mask=None):
    attrs = ctx.attr_values()
    args = (q, k, v) if mask is None else (q, k, v, mask)
    return in_f32(attention)(*args, attrs=attrs)


define_op(
    "zt.attention",
    operands=("q", "k", "v", "mask?"),
    attrs={
        "scale": ("float", None),
        "causal": ("bool", False),
        "causal_align": ("str", "upper_left"),
        "softcap": ("float", 0.0),
        "left_window_size": ("int", -1),
        "right_window_size": ("int", -1),
    },
    traits=(PURE, ANCHOR),
    infer=_attention_infer,
    reference=_attention_ref,
    doc="softmax(softcap(q @ k^T * scale) + bias) @ v over q [B, Hq, Sq, D], k [B, Hkv, Skv, D], "
        "v [B, Hkv, Skv, Dv] -> [B, Hq, Sq, Dv] (ONNX Attention-25 for 4-D inputs). scale None is "
        "1/sqrt(D). Hq must be a multiple of Hkv: kv head j serves q heads j*Hq/Hkv .. "
        "(j+1)*Hq/Hkv - 1 (grouped-query attention). softcap > 0 maps s to softcap * "
        "tanh(s / softcap) before the bias. The bias is the sum of: the mask (bool: true attends, "
        "false adds -inf; float: added; broadcast to [B, Hq, Sq, Skv]); with `causal`, -inf where "
        "key j > offset + i; with left/right_window_size >= 0, -inf where key j < offset + i - left "
        "or j > offset + i + right; offset is 0 for causal_align='upper_left' (ONNX without a "
        "cache, torch is_causal) and Skv - Sq for 'lower_right' (ONNX with past keys when the new "
        "keys number Sq). A query row whose bias is -inf for every key outputs 0. Low-precision "
        "inputs compute everything, softmax included, in f32.",
)
