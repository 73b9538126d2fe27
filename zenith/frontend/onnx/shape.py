"""Converters of shape queries and views: Shape, Size, Reshape, Transpose, Flatten,
Squeeze, Unsqueeze, Expand."""

from __future__ import annotations

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.opdef import lookup


def dyn_available(name: str) -> bool:
    """Whether the ``_dyn`` variant ``name`` of an op is registered."""
    return lookup(name) is not None


@converter("Shape", since=1)
def _shape(ctx: NodeContext) -> Value:
    kw = {}
    if ctx.version >= 15:
        kw = {"start": int(ctx.attr("start", 0)), "end": ctx.attr("end", None)}
    return ctx.op("zt.shape_of", ctx.input(0), **kw)


@converter("Size", since=1)
def _size(ctx: NodeContext) -> Value:
    return ctx.op("zt.size", ctx.input(0))


@converter("Reshape", since=5)
def _reshape(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    allowzero = bool(ctx.attr("allowzero", 0))
    spec = ctx.const_ints(1)
    if spec is None and dyn_available("zt.reshape_dyn"):
        return ctx.op("zt.reshape_dyn", x, ctx.input(1), allowzero=allowzero)
    spec = ctx.static_ints(1, "the target shape")
    return ctx.op("zt.reshape", x, shape=spec, allowzero=allowzero)


@converter("Transpose", since=1)
def _transpose(ctx: NodeContext) -> Value:
    perm = ctx.attr("perm", None)
    return ctx.op("zt.transpose", ctx.input(0), perm=tuple(perm) if perm is not None else None)


@converter("Flatten", since=1)
def _flatten(ctx: NodeContext) -> Value:
    return ctx.op("zt.flatten", ctx.input(0), axis=int(ctx.attr("axis", 1)))


def _axes(ctx: NodeContext, what: str) -> tuple[int, ...] | None:
    """Axes given as an attribute (before opset 13) or as input #1."""
    if ctx.version < 13:
        axes = ctx.attr("axes", None)
        return tuple(axes) if axes is not None else None
    return ctx.static_ints(1, what)


@converter("Squeeze", since=1)
def _squeeze(ctx: NodeContext) -> Value:
    axes = _axes(ctx, "the axes")
    return ctx.op("zt.squeeze", ctx.input(0), axes=axes if axes else None)


@converter("Unsqueeze", since=1)
def _unsqueeze(ctx: NodeContext) -> Value:
    axes = _axes(ctx, "the axes")
    if axes is None:
        ctx.fail("axes are required")
    return ctx.op("zt.unsqueeze", ctx.input(0), axes=axes)


@converter("Expand", since=8)
def _expand(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    shape = ctx.const_ints(1)
    if shape is None and dyn_available("zt.expand_dyn"):
        return ctx.op("zt.expand_dyn", x, ctx.input(1))
    return ctx.op("zt.expand", x, shape=ctx.static_ints(1, "the target shape"))
