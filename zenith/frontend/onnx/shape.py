"""Converters of shape queries and views: Shape, Size, Reshape, Transpose, Flatten,
Squeeze, Unsqueeze."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.opdef import lookup


def _slice_bounds(rank: int, start: int, end: int | None) -> tuple[int, int]:
    s = max(0, min(rank, start + rank if start < 0 else start))
    e = rank if end is None else end
    e = max(0, min(rank, e + rank if e < 0 else e))
    return s, e


@converter("Shape", since=1)
def _shape(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    s, e = _slice_bounds(x.type.rank, int(ctx.attr("start", 0)), ctx.attr("end", None))
    dims = x.type.shape[s:e]
    if all(isinstance(d, int) for d in dims):
        return ctx.constant(np.array(dims, dtype=np.int64))
    full = ctx.op("zt.shape_of", x)
    if (s, e) == (0, x.type.rank):
        return full
    return ctx.op("zt.slice", full, starts=(s,), ends=(e,), axes=(0,), steps=(1,))


@converter("Size", since=1)
def _size(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    n = x.type.num_elements
    if n is not None:
        return ctx.constant(np.array(n, dtype=np.int64))
    return ctx.op("zt.size", x)


@converter("Reshape", since=5)
def _reshape(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    allowzero = bool(ctx.attr("allowzero", 0))
    spec = ctx.const_ints(1)
    if spec is None and lookup("zt.reshape_dyn") is not None:
        return ctx.op("zt.reshape_dyn", x, ctx.input(1), allowzero=allowzero)
    spec = ctx.static_ints(1, "the target shape")
    return ctx.op("zt.reshape", x, shape=spec, allowzero=allowzero)


@converter("Transpose", since=1)
def _transpose(ctx: NodeContext) -> Value:
    perm = ctx.attr("perm", None)
    x = ctx.input(0)
    return ctx.op("zt.transpose", x, perm=tuple(perm) if perm is not None else None)
