"""Converters of the loss ops, decomposed into zt ops: NegativeLogLikelihoodLoss and
SoftmaxCrossEntropyLoss (ONNX reductions none / sum / mean, class weights, ignore_index)."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value


def nll_loss(ctx: NodeContext, logp: Value, target: Value, weight: Value | None,
             reduction: str, ignore_index: int | None) -> Value:
    """loss[n, d...] = -logp[n, target[n, d...], d...] * weight[target], reduced.

    The pick along the class axis is a one-hot product, so no gather is needed;
    ignored targets get weight 0 (and do not count in the mean)."""
    if reduction not in ("none", "sum", "mean"):
        ctx.fail(f"unknown reduction {reduction!r}")
    c = logp.type.shape[1]
    if not isinstance(c, int):
        ctx.fail(f"the class dim of {logp.type} must be static")
    dt = logp.type.dtype
    tgt = ctx.cast(target, ctx.type(1).dtype)
    keep = None
    if ignore_index is not None:
        keep = ctx.op("zt.ne", tgt, ctx.scalar(ignore_index, tgt))
        tgt = ctx.op("zt.where", keep, tgt, ctx.scalar(0, tgt))
    onehot = ctx.op("zt.one_hot", tgt, ctx.constant(np.array([0, 1], dt.np_dtype)), depth=c, axis=1)
    picked = ctx.op("zt.reduce_sum", ctx.op("zt.mul", logp, onehot), axes=(1,), keepdims=False)
    w = None
    if weight is not None:
        rank = logp.type.rank
        wb = ctx.op("zt.reshape", weight, shape=(1, c) + (1,) * (rank - 2))
        w = ctx.op("zt.reduce_sum", ctx.op("zt.mul", onehot, wb), axes=(1,), keepdims=False)
    if keep is not None:
        k = ctx.cast(keep, dt)
        w = k if w is None else ctx.op("zt.mul", w, k)
    loss = ctx.op("zt.neg", picked if w is None else ctx.op("zt.mul", picked, w))
    if reduction == "none":
        return loss
    total = ctx.op("zt.reduce_sum", loss, keepdims=False)
    if reduction == "sum":
        return total
    if w is None:
        return ctx.op("zt.reduce_mean", loss, keepdims=False)
    return ctx.op("zt.div", total, ctx.op("zt.reduce_sum", w, keepdims=False))


@converter("NegativeLogLikelihoodLoss", since=12)
def _nll(ctx: NodeContext) -> Value:
    return nll_loss(ctx, ctx.input(0), ctx.input(1), ctx.opt_input(2),
                    ctx.attr("reduction", "mean"), ctx.attr("ignore_index", None))


@converter("SoftmaxCrossEntropyLoss", since=12)
def _sce(ctx: NodeContext) -> list[Value]:
    scores = ctx.input(0)
    logp = ctx.op("zt.log_softmax", scores, axis=1)
    loss = nll_loss(ctx, logp, ctx.input(1), ctx.opt_input(2), ctx.attr("reduction", "mean"),
                    ctx.attr("ignore_index", None))
    return [loss, logp]
