"""The ONNX Attention converter (opsets 23-25) onto ``zt.attention``.

3-D inputs are split into heads, past keys and values are concatenated (the
present outputs), a mask shorter than the key length is padded (with false /
-inf). Causal and sliding-window masks whose offset ``zt.attention`` cannot
express (a per-batch ``nonpad_kv_seqlen``, a cache whose new keys do not number
the queries) become an explicit additive bias, as does everything when the
``qk_matmul_output`` output is asked for.
"""

from __future__ import annotations

import math

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.dtypes import boolean


def _heads(ctx: NodeContext, x: Value, n_heads: int | None, what: str) -> Value:
    """[B, S, H*D] -> [B, H, S, D] (4-D inputs pass through)."""
    if x.type.rank == 4:
        return x
    if x.type.rank != 3 or not n_heads:
        ctx.fail(f"{what} must be 4-D, or 3-D with q_num_heads/kv_num_heads given; got {x.type}")
    y = ctx.op("zt.reshape", x, shape=(0, 0, int(n_heads), -1))
    return ctx.op("zt.transpose", y, perm=(0, 2, 1, 3))


def _static(ctx: NodeContext, d, what: str) -> int:
    if not isinstance(d, int):
        ctx.fail(f"{what} must be static")
    return d


class _Plan:
    """What the converter knows about one Attention node."""

    def __init__(self, ctx: NodeContext, q: Value, k: Value, past_len: int) -> None:
        self.sq = _static(ctx, q.type.shape[2], "the query length")
        self.skv = _static(ctx, k.type.shape[2], "the key length")
        self.past = past_len
        self.causal = bool(ctx.attr("is_causal", 0))
        self.left = int(ctx.attr("left_window_size", -1))
        self.right = int(ctx.attr("right_window_size", -1))
        self.dtype = q.type.dtype


def _allowed_positions(ctx: NodeContext, plan: _Plan, nonpad: Value | None) -> Value | None:
    """Bool [.., Sq, Skv]: keys each query may attend (causal, windows, padding)."""
    diff = np.arange(plan.sq)[:, None] - np.arange(plan.skv)[None, :]  # i - j
    if nonpad is None:
        offset = None
        diff = diff + plan.past
    else:
        # Per-batch offset nonpad[b] - Sq: compare (i - j) against Sq - nonpad[b].
        offset = ctx.op("zt.reshape", ctx.op("zt.sub", ctx.scalar(plan.sq, nonpad.type.dtype),
                                              nonpad), shape=(-1, 1, 1, 1))
    allowed = None

    def both(a: Value | None, b: Value) -> Value:
        return b if a is None else ctx.op("zt.and", a, b)

    def cmp(limit_of_diff: np.ndarray, bound: int, upper: bool) -> Value:
        """d <= bound (upper) or -d <= bound, d = (i + offset) - j."""
        if offset is None:
            ok = limit_of_diff <= bound if upper else -limit_of_diff <= bound
            return ctx.constant(ok)
        d = ctx.constant(limit_of_diff.astype(np.int64))
        off = ctx.cast(offset, d.type.dtype)
        # diff_b = (i - j) - (Sq - nonpad) = diff - off
        diff_b = ctx.op("zt.sub", d, off)
        if upper:
            return ctx.op("zt.le", diff_b, ctx.scalar(bound, diff_b))
        return ctx.op("zt.le", ctx.op("zt.neg", diff_b), ctx.scalar(bound, diff_b))

    if plan.causal:
        allowed = both(allowed, cmp(diff, 0, False))  # j <= i + offset
    if plan.left >= 0:
        allowed = both(allowed, cmp(diff, plan.left, True))
    if plan.right >= 0:
        allowed = both(allowed, cmp(diff, plan.right, False))
    if nonpad is not None:
        keys = ctx.constant(np.arange(plan.skv, dtype=np.int64))
        lens = ctx.op("zt.reshape", ctx.cast(nonpad, keys.type.dtype), shape=(-1, 1, 1, 1))
        allowed = both(allowed, ctx.op("zt.lt", keys, lens))
    return allowed


def _bias(ctx: NodeContext, plan: _Plan, mask: Value | None, allowed: Value | None) -> Value | None:
    """The additive float bias of mask and allowed positions."""
    dt = plan.dtype
    ninf = ctx.scalar(-np.inf, dt)
    zero = ctx.scalar(0, dt)
    bias = None
    if mask is not None:
        bias = ctx.op("zt.where", mask, zero, ninf) if mask.type.dtype is boolean else mask
    if allowed is not None:
        gate = ctx.op("zt.where", allowed, zero, ninf)
        bias = gate if bias is None else ctx.op("zt.add", bias, gate)
    return bias


def _repeat_heads(ctx: NodeContext, k: Value, hq: int) -> Value:
    _, hkv, s, d = k.type.shape
    if hkv == hq:
        return k
    rep = hq // _static(ctx, hkv, "the kv head count")
    y = ctx.op("zt.unsqueeze", k, axes=(2,))
    y = ctx.op("zt.expand", y, shape=(1, 1, rep, 1, 1))
    return ctx.op("zt.reshape", y, shape=(-1, hq, s, d))


def _qk_output(ctx: NodeContext, q: Value, k: Value, scale: float, bias: Value | None,
               mode: int) -> Value:
    """ONNX's qk_matmul_output: raw scores (0), softcapped (1), + bias (2), softmax (3)."""
    hq = _static(ctx, q.type.shape[1], "the query head count")
    kk = _repeat_heads(ctx, k, hq)
    root = ctx.scalar(math.sqrt(scale), q)
    s = ctx.op("zt.matmul", ctx.op("zt.mul", q, root),
               ctx.op("zt.transpose", ctx.op("zt.mul", kk, root), perm=(0, 1, 3, 2)))
    cap = float(ctx.attr("softcap", 0.0))
    if cap > 0 and mode >= 1:
        c = ctx.scalar(cap, s)
        s = ctx.op("zt.mul", ctx.op("zt.tanh", ctx.op("zt.div", s, c)), c)
    if mode >= 2 and bias is not None:
        s = ctx.op("zt.add", s, bias)
    if mode == 3:
        p = ctx.op("zt.softmax", s, axis=-1)
        if bias is not None:
            dead = ctx.op("zt.isinf", ctx.op("zt.reduce_max", bias, axes=(-1,), keepdims=True),
                          detect_positive=False)
            p = ctx.op("zt.where", dead, ctx.scalar(0, p), p)
        s = p
    return s


@converter("Attention", since=23)
def _attention(ctx: NodeContext) -> list[Value | None]:
    q3, k3, v3 = ctx.input(0), ctx.input(1), ctx.input(2)
    q = _heads(ctx, q3, ctx.attr("q_num_heads", None), "Q")
    k = _heads(ctx, k3, ctx.attr("kv_num_heads", None), "K")
    v = _heads(ctx, v3, ctx.attr("kv_num_heads", None), "V")
    past_len = 0
    if ctx.has_input(4):
        pk = ctx.input(4)
        past_len = _static(ctx, pk.type.shape[2], "the past length")
        k = ctx.op("zt.concat", pk, k, axis=2)
        v = ctx.op("zt.concat", ctx.input(5), v, axis=2)
    present_k, present_v = k, v
    plan = _Plan(ctx, q, k, past_len)
    mask = ctx.opt_input(3)
    if mask is not None:
        short = plan.skv - _static(ctx, mask.type.shape[-1], "the mask length")
        if short > 0:
            pads = [0] * (2 * mask.type.rank)
            pads[-1] = short
            fill = 0.0 if mask.type.dtype is boolean else -math.inf
            mask = ctx.op("zt.pad", mask, pads=tuple(pads), value=fill)
    nonpad = ctx.opt_input(6)
    scale = ctx.attr("scale", None)
    scale = float(scale) if scale is not None else 1.0 / math.sqrt(
        _static(ctx, q.type.shape[3], "the head size"))
    cap = float(ctx.attr("softcap", 0.0))
    want_qk = ctx.wants_output(3)
    new_keys = plan.skv - plan.past
    explicit = nonpad is not None or want_qk or (
        (plan.causal or plan.left >= 0 or plan.right >= 0) and plan.past and new_keys != plan.sq)
    attrs = {"scale": scale, "softcap": cap}
    if explicit:
        bias = _bias(ctx, plan, mask, _allowed_positions(ctx, plan, nonpad))
        y = ctx.op("zt.attention", q, k, v, *([bias] if bias is not None else []), **attrs)
    else:
        bias = None
        attrs.update(causal=plan.causal, left_window_size=plan.left,
                     right_window_size=plan.right,
                     causal_align="lower_right" if plan.past else "upper_left")
        y = ctx.op("zt.attention", q, k, v, *([mask] if mask is not None else []), **attrs)
    if q3.type.rank == 3:
        y = ctx.op("zt.reshape", ctx.op("zt.transpose", y, perm=(0, 2, 1, 3)), shape=(0, 0, -1))
    qk = _qk_output(ctx, q, k, scale, bias, int(ctx.attr("qk_matmul_output_mode", 0))) \
        if want_qk else None
    return [y, present_k, present_v, qk]
