"""Converters of reductions, arg-reductions, cumulative scans and TopK."""

from __future__ import annotations

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value

# ONNX op -> (zt op, opset from which axes is an input)
REDUCTIONS = {
    "ReduceSum": ("reduce_sum", 13), "ReduceMean": ("reduce_mean", 18),
    "ReduceMax": ("reduce_max", 18), "ReduceMin": ("reduce_min", 18),
    "ReduceProd": ("reduce_prod", 18), "ReduceL1": ("reduce_l1", 18),
    "ReduceL2": ("reduce_l2", 18), "ReduceLogSum": ("reduce_log_sum", 18),
    "ReduceLogSumExp": ("reduce_log_sum_exp", 18), "ReduceSumSquare": ("reduce_sum_square", 18),
}


def reduction_axes(ctx: NodeContext, from_input: bool) -> tuple[int, ...] | None:
    """The zt ``axes`` of an ONNX reduction: None reduces all, () none."""
    noop = bool(ctx.attr("noop_with_empty_axes", 0))
    if from_input:
        if not ctx.has_input(1):
            return () if noop else None
        axes = ctx.static_ints(1, "axes")
    else:
        axes = ctx.attr("axes", None)
        if axes is None:
            return () if noop else None
    if not axes:
        return () if noop else None
    return tuple(axes)


def _register_reduction(onnx_name: str, zt: str, input_since: int) -> None:
    def make(from_input: bool):
        def conv(ctx: NodeContext) -> Value:
            axes = reduction_axes(ctx, from_input)
            return ctx.op(f"zt.{zt}", ctx.input(0), axes=axes,
                          keepdims=bool(ctx.attr("keepdims", 1)))
        return conv

    converter(onnx_name, since=1, until=input_since)(make(False))
    converter(onnx_name, since=input_since)(make(True))


for _k, (_z, _s) in REDUCTIONS.items():
    _register_reduction(_k, _z, _s)


def _arg(zt: str):
    def conv(ctx: NodeContext) -> Value:
        return ctx.op(zt, ctx.input(0), axis=int(ctx.attr("axis", 0)),
                      keepdims=bool(ctx.attr("keepdims", 1)),
                      select_last_index=bool(ctx.attr("select_last_index", 0)))
    return conv


converter("ArgMax", since=1)(_arg("zt.argmax"))
converter("ArgMin", since=1)(_arg("zt.argmin"))


def _scan(zt: str):
    def conv(ctx: NodeContext) -> Value:
        axis = ctx.static_ints(1, "axis")
        return ctx.op(zt, ctx.input(0), axis=axis[0], exclusive=bool(ctx.attr("exclusive", 0)),
                      reverse=bool(ctx.attr("reverse", 0)))
    return conv


converter("CumSum", since=11)(_scan("zt.cumsum"))
converter("CumProd", since=26)(_scan("zt.cumprod"))


@converter("TopK", since=1)
def _topk(ctx: NodeContext) -> list[Value]:
    if ctx.version < 10:
        k = int(ctx.attr("k"))
    else:
        k = ctx.static_ints(1, "K")[0]
    values, indices = ctx.op("zt.topk", ctx.input(0), k=k, axis=int(ctx.attr("axis", -1)),
                             largest=bool(ctx.attr("largest", 1)),
                             sorted=bool(ctx.attr("sorted", 1)))
    return [values, indices]
