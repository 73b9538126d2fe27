"""Converters of softmax-like ops and normalizations."""

from __future__ import annotations

from zenith.dialects.shape_rules import dims_product
from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.dtypes import DTYPES


def _legacy_axis_op(ctx: NodeContext, zt: str) -> Value:
    """Softmax-family before opset 13: the input is seen as 2-D [prod(:axis), prod(axis:)]."""
    x = ctx.input(0)
    rank = x.type.rank
    axis = int(ctx.attr("axis", 1))
    axis = axis + rank if axis < 0 else axis
    if axis >= rank - 1 or rank <= 1:
        return ctx.op(zt, x, axis=-1)
    head, tail = dims_product(x.type.shape[:axis]), dims_product(x.type.shape[axis:])
    if isinstance(tail, int):
        spec = (-1, tail)
    elif isinstance(head, int):
        spec = (head, -1)
    else:
        ctx.fail(f"axis {axis} of {x.type} folds dims whose sizes are unknown")
    if not x.type.is_static:
        ctx.fail(f"cannot restore the shape {x.type} after a pre-opset-13 {ctx.op_type}")
    y = ctx.op(zt, ctx.op("zt.reshape", x, shape=spec), axis=-1)
    return ctx.op("zt.reshape", y, shape=tuple(x.type.shape))


def _register_softmax(onnx_name: str, zt: str) -> None:
    @converter(onnx_name, since=1, until=13)
    def legacy(ctx: NodeContext) -> Value:
        return _legacy_axis_op(ctx, zt)

    @converter(onnx_name, since=13)
    def modern(ctx: NodeContext) -> Value:
        return ctx.op(zt, ctx.input(0), axis=int(ctx.attr("axis", -1)))


_register_softmax("Softmax", "zt.softmax")
_register_softmax("LogSoftmax", "zt.log_softmax")
_register_softmax("Hardmax", "zt.hardmax")


@converter("BatchNormalization", since=6)
def _batch_norm(ctx: NodeContext) -> Value:
    if ctx.version < 7 and not ctx.attr("is_test", 0):
        ctx.fail("is_test=0 (training) is not supported (Zenith compiles inference graphs)")
    if ctx.attr("training_mode", 0):
        ctx.fail("training_mode=1 is not supported (Zenith compiles inference graphs)")
    if ctx.version < 9 and not ctx.attr("spatial", 1):
        ctx.fail("spatial=0 is not supported")
    x = ctx.input(0)
    params = [ctx.cast_like(ctx.input(i), x) for i in range(1, 5)]
    return ctx.op("zt.batch_norm", x, *params, epsilon=float(ctx.attr("epsilon", 1e-5)))


@converter("InstanceNormalization", since=6)
def _instance_norm(ctx: NodeContext) -> Value:
    return ctx.op("zt.instance_norm", ctx.input(0), ctx.input(1), ctx.input(2),
                  epsilon=float(ctx.attr("epsilon", 1e-5)))


@converter("GroupNormalization", since=21)
def _group_norm(ctx: NodeContext) -> Value:
    return ctx.op("zt.group_norm", ctx.input(0), ctx.input(1), ctx.input(2),
                  num_groups=int(ctx.attr("num_groups")), epsilon=float(ctx.attr("epsilon", 1e-5)))


def _stash(ctx: NodeContext, x: Value) -> Value:
    """``x`` in the stash type (f32 by default) used for statistics."""
    stash = int(ctx.attr("stash_type", 1))
    return ctx.cast(x, DTYPES["f32"] if stash == 1 else ctx.dtype_attr("stash_type"))


@converter("LayerNormalization", since=17)
def _layer_norm(ctx: NodeContext) -> list[Value | None]:
    x = ctx.input(0)
    axis = int(ctx.attr("axis", -1))
    eps = float(ctx.attr("epsilon", 1e-5))
    operands = [x, ctx.input(1)] + ([ctx.input(2)] if ctx.has_input(2) else [])
    y = ctx.op("zt.layer_norm", *operands, axis=axis, epsilon=eps)
    outs: list[Value | None] = [y, None, None]
    if ctx.wants_output(1) or ctx.wants_output(2):
        rank = x.type.rank
        start = axis + rank if axis < 0 else axis
        axes = tuple(range(start, rank))
        xs = _stash(ctx, x)
        mean = ctx.op("zt.reduce_mean", xs, axes=axes, keepdims=True)
        centered = ctx.op("zt.sub", xs, mean)
        var = ctx.op("zt.reduce_mean", ctx.op("zt.mul", centered, centered), axes=axes, keepdims=True)
        inv = ctx.op("zt.rsqrt", ctx.op("zt.add", var, ctx.scalar(eps, var)))
        outs[1], outs[2] = mean, inv
    return outs


@converter("RMSNormalization", since=23)
def _rms_norm(ctx: NodeContext) -> Value:
    return ctx.op("zt.rms_norm", ctx.input(0), ctx.input(1), axis=int(ctx.attr("axis", -1)),
                  epsilon=float(ctx.attr("epsilon", 1e-5)))


@converter("LpNormalization", since=1)
def _lp_norm(ctx: NodeContext) -> Value:
    return ctx.op("zt.lp_normalization", ctx.input(0), axis=int(ctx.attr("axis", -1)),
                  p=int(ctx.attr("p", 2)))


@converter("MeanVarianceNormalization", since=9)
def _mvn(ctx: NodeContext) -> Value:
    return ctx.op("zt.mean_variance_normalization", ctx.input(0),
                  axes=tuple(ctx.attr("axes", (0, 2, 3))))


@converter("LRN", since=1)
def _lrn(ctx: NodeContext) -> Value:
    return ctx.op("zt.lrn", ctx.input(0), size=int(ctx.attr("size")),
                  alpha=float(ctx.attr("alpha", 1e-4)), beta=float(ctx.attr("beta", 0.75)),
                  bias=float(ctx.attr("bias", 1.0)))
