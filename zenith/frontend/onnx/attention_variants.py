"""Newer attention-style ops, decomposed into zt ops: FlexAttention (score/prob modifier
subgraphs inlined), LinearAttention (the recurrence unrolled over the static sequence
length) and CausalConvWithState (concat + depthwise conv + slice)."""

from __future__ import annotations

import math

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.dtypes import DTYPES


def _static(ctx: NodeContext, d, what: str) -> int:
    if not isinstance(d, int):
        ctx.fail(f"{what} must be static")
    return d


def _repeat_heads(ctx: NodeContext, x: Value, heads: int) -> Value:
    """[B, Hkv, S, D] -> [B, heads, S, D], each kv head serving a contiguous group."""
    hkv = x.type.shape[1]
    if hkv == heads:
        return x
    rep = heads // _static(ctx, hkv, "the kv head count")
    y = ctx.op("zt.expand", ctx.op("zt.unsqueeze", x, axes=(2,)), shape=(1, 1, rep, 1, 1))
    s = _static(ctx, x.type.shape[2], "the sequence length")
    d = _static(ctx, x.type.shape[3], "the head size")
    return ctx.op("zt.reshape", y, shape=(0, heads, s, d))


def _modifier(ctx: NodeContext, name: str, x: Value) -> Value:
    from zenith.frontend.onnx.control import inline_graph

    graph = ctx.attr(name, None)
    if graph is None:
        return x
    (out,) = inline_graph(ctx, graph, [x])
    if not isinstance(out, Value):
        ctx.fail(f"{name} must produce a tensor")
    return out


@converter("FlexAttention", since=1, domain="ai.onnx.preview")
def _flex_attention(ctx: NodeContext) -> Value:
    q, k, v = ctx.input(0), ctx.input(1), ctx.input(2)
    dt = q.type.dtype
    precision = ctx.dtype_attr("softmax_precision") if "softmax_precision" in ctx.attrs else \
        (dt if dt.name == "f64" else DTYPES["f32"])
    hq = _static(ctx, q.type.shape[1], "the query head count")
    head = _static(ctx, q.type.shape[3], "the head size")
    scale = float(ctx.attr("scale", 1.0 / math.sqrt(head)))
    kt = ctx.op("zt.transpose", _repeat_heads(ctx, k, hq), perm=(0, 1, 3, 2))
    scores = ctx.cast(ctx.op("zt.matmul", q, kt), precision)
    scores = ctx.op("zt.mul", scores, ctx.scalar(scale, scores))
    probs = ctx.op("zt.softmax", _modifier(ctx, "score_mod", scores), axis=-1)
    probs = ctx.cast(_modifier(ctx, "prob_mod", probs), dt)
    return ctx.op("zt.matmul", probs, _repeat_heads(ctx, v, hq))


def _heads(ctx: NodeContext, x: Value, heads: int) -> Value:
    """[B, T, H*D] -> [B, T, H, D]."""
    return ctx.op("zt.reshape", x, shape=(0, 0, heads, -1))


def _step(ctx: NodeContext, x: Value | None, t: int) -> Value | None:
    if x is None:
        return None
    return ctx.op("zt.gather", x, ctx.constant(np.array(t, np.int64)), axis=1)


@converter("LinearAttention", since=27)
def _linear_attention(ctx: NodeContext) -> list[Value]:
    """S_t per update_rule, o_t = scale * q_t^T S_t, unrolled over T; computed in f32 (f64)."""
    q3, k3, v3 = ctx.input(0), ctx.input(1), ctx.input(2)
    dt = q3.type.dtype
    work = dt if dt.name == "f64" else DTYPES["f32"]
    hq, hkv = int(ctx.attr("q_num_heads")), int(ctx.attr("kv_num_heads"))
    steps = _static(ctx, q3.type.shape[1], "the sequence length")
    rule = ctx.attr("update_rule", "gated_delta")
    if rule not in ("linear", "gated", "delta", "gated_delta"):
        ctx.fail(f"unknown update_rule {rule!r}")
    q = _heads(ctx, ctx.cast(q3, work), hq)
    k = _heads(ctx, ctx.cast(k3, work), hkv)
    v = _heads(ctx, ctx.cast(v3, work), hkv)
    dk = _static(ctx, q.type.shape[3], "the key size")
    dv = _static(ctx, v.type.shape[3], "the value size")
    scale = float(ctx.attr("scale", 0.0)) or 1.0 / math.sqrt(dk)
    decay = ctx.cast(ctx.input(4), work) if ctx.has_input(4) else None
    beta = ctx.cast(ctx.input(5), work) if ctx.has_input(5) else None
    if rule in ("gated", "gated_delta") and decay is None:
        ctx.fail(f"update_rule {rule!r} needs decay")
    if rule in ("delta", "gated_delta") and beta is None:
        ctx.fail(f"update_rule {rule!r} needs beta")
    per_key = decay is not None and decay.type.shape[2] == hkv * dk and dk != 1
    if ctx.has_input(3):
        state = ctx.cast(ctx.input(3), work)
    else:
        b = _static(ctx, q3.type.shape[0], "the batch size")
        state = ctx.op("zt.fill", shape=(b, hkv, dk, dv), dtype=work)
    mul = lambda a, c: ctx.op("zt.mul", a, c)  # noqa: E731
    add = lambda a, c: ctx.op("zt.add", a, c)  # noqa: E731
    group = hq // hkv
    outs = []
    for t in range(steps):
        qt, kt, vt = _step(ctx, q, t), _step(ctx, k, t), _step(ctx, v, t)  # [B, H, d]
        kcol = ctx.op("zt.unsqueeze", kt, axes=(3,))                          # [B, Hkv, dk, 1]
        if decay is not None and rule in ("gated", "gated_delta"):
            g = ctx.op("zt.exp", _step(ctx, decay, t))
            g = ctx.op("zt.reshape", g, shape=(0, hkv, dk, 1) if per_key else (0, -1, 1, 1))
            state = mul(g, state)
        if rule in ("delta", "gated_delta"):
            recalled = ctx.op("zt.reduce_sum", mul(state, kcol), axes=(2,), keepdims=False)
            bt = ctx.op("zt.reshape", _step(ctx, beta, t), shape=(0, -1, 1))  # [B, H|1, 1]
            delta = mul(bt, ctx.op("zt.sub", vt, recalled))                     # [B, Hkv, dv]
            state = add(state, mul(kcol, ctx.op("zt.unsqueeze", delta, axes=(2,))))
        else:
            state = add(state, mul(kcol, ctx.op("zt.unsqueeze", vt, axes=(2,))))
        shared = state if group == 1 else ctx.op("zt.reshape", ctx.op(
            "zt.expand", ctx.op("zt.unsqueeze", state, axes=(2,)), shape=(1, 1, group, 1, 1)),
            shape=(0, hq, dk, dv))
        o = ctx.op("zt.reduce_sum", mul(ctx.op("zt.unsqueeze", qt, axes=(3,)), shared), axes=(2,),
                   keepdims=False)                                             # [B, Hq, dv]
        outs.append(ctx.op("zt.unsqueeze", mul(o, ctx.scalar(scale, o)), axes=(1,)))
    y = outs[0] if len(outs) == 1 else ctx.op("zt.concat", *outs, axis=1)    # [B, T, Hq, dv]
    y = ctx.op("zt.reshape", y, shape=(0, 0, hq * dv))
    return [ctx.cast(y, dt), ctx.cast(state, dt)]


@converter("CausalConvWithState", since=27)
def _causal_conv(ctx: NodeContext) -> list[Value]:
    x, w = ctx.input(0), ctx.input(1)
    c = _static(ctx, x.type.shape[1], "the channel count")
    k = _static(ctx, w.type.shape[2], "the kernel size")
    if ctx.has_input(3):
        past = ctx.input(3)
    else:
        b = _static(ctx, x.type.shape[0], "the batch size")
        past = ctx.op("zt.fill", shape=(b, c, k - 1), dtype=x.type.dtype)
    padded = ctx.op("zt.concat", past, x, axis=2) if k > 1 else x
    operands = [padded, w] + ([ctx.input(2)] if ctx.has_input(2) else [])
    y = ctx.op("zt.conv", *operands, group=c)
    if ctx.attr("activation", "none") in ("silu", "swish"):
        y = ctx.op("zt.silu", y)
    length = _static(ctx, padded.type.shape[2], "the sequence length")
    present = ctx.op("zt.slice", padded, starts=(length - (k - 1),), ends=(length,), axes=(2,))
    return [y, present]
