"""Export rules of the data-movement, indexing and generator ``zt`` ops."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.dtypes import array_to_tensor, to_onnx_type
from zenith.frontend.onnx.exporter import ExportContext, export_rule
from zenith.ir.core import Operation


def _ins(ctx: ExportContext, op: Operation) -> list[str]:
    return [ctx.name(v) for v in op.operands]


def _x(ctx: ExportContext, op: Operation) -> str:
    return ctx.name(op.operand(0))


@export_rule("zt.identity")
def _identity(ctx: ExportContext, op: Operation):
    return ctx.node("Identity", _ins(ctx, op))


@export_rule("zt.concat", opset=13)
def _concat(ctx: ExportContext, op: Operation):
    return ctx.node("Concat", _ins(ctx, op), axis=op.attr("axis"))


@export_rule("zt.split", opset=18)
def _split(ctx: ExportContext, op: Operation):
    sizes = op.attr("sizes")
    ins = [_x(ctx, op)] + ([ctx.ints(sizes, "split")] if sizes is not None else [])
    return ctx.node("Split", ins, outputs=len(op.results), axis=op.attr("axis"),
                    num_outputs=None if sizes is not None else op.attr("num_outputs"))


@export_rule("zt.slice", opset=13)
def _slice(ctx: ExportContext, op: Operation):
    ins = [_x(ctx, op), ctx.ints(op.attr("starts"), "starts"), ctx.ints(op.attr("ends"), "ends")]
    axes, steps = op.attr("axes"), op.attr("steps")
    if axes is not None or steps is not None:
        ins.append(ctx.ints(axes if axes is not None else range(len(op.attr("starts"))), "axes"))
    if steps is not None:
        ins.append(ctx.ints(steps, "steps"))
    return ctx.node("Slice", ins)


@export_rule("zt.pad", opset=19)
def _pad(ctx: ExportContext, op: Operation):
    dt = op.operand(0).type.dtype
    ins = [_x(ctx, op), ctx.ints(op.attr("pads"), "pads")]
    mode = op.attr("mode")
    if mode == "constant":
        ins.append(ctx.const(np.asarray(op.attr("value")).astype(dt.np_dtype), hint="pad_value"))
    axes = op.attr("axes")
    if axes is not None:
        ins += [""] * (3 - len(ins)) + [ctx.ints(axes, "axes")]
    return ctx.node("Pad", ins, mode=mode)


@export_rule("zt.tile", opset=13)
def _tile(ctx: ExportContext, op: Operation):
    return ctx.node("Tile", [_x(ctx, op), ctx.ints(op.attr("repeats"), "repeats")])


@export_rule("zt.trilu", opset=14)
def _trilu(ctx: ExportContext, op: Operation):
    return ctx.node("Trilu", [_x(ctx, op), ctx.const(np.int64(op.attr("k")), hint="k")],
                    upper=int(op.attr("upper")))


@export_rule("zt.depth_to_space", opset=13)
def _d2s(ctx: ExportContext, op: Operation):
    return ctx.node("DepthToSpace", _ins(ctx, op), blocksize=op.attr("blocksize"), mode=op.attr("mode"))


@export_rule("zt.space_to_depth", opset=13)
def _s2d(ctx: ExportContext, op: Operation):
    return ctx.node("SpaceToDepth", _ins(ctx, op), blocksize=op.attr("blocksize"))


@export_rule("zt.reverse_sequence", opset=10)
def _reverse_sequence(ctx: ExportContext, op: Operation):
    return ctx.node("ReverseSequence", _ins(ctx, op), batch_axis=op.attr("batch_axis"),
                    time_axis=op.attr("time_axis"))


@export_rule("zt.fill", opset=9)
def _fill(ctx: ExportContext, op: Operation):
    dt = op.attr("dtype")
    value = np.asarray([op.attr("value")]).astype(dt.np_dtype)
    return ctx.node("ConstantOfShape", [ctx.ints(op.attr("shape"), "shape")],
                    value=array_to_tensor(value, "value"))


@export_rule("zt.range", opset=11)
def _range(ctx: ExportContext, op: Operation):
    dt = op.attr("dtype").np_dtype
    ins = [ctx.const(np.asarray(op.attr(k)).astype(dt), hint=k) for k in ("start", "limit", "delta")]
    return ctx.node("Range", ins)


@export_rule("zt.eye_like", opset=9)
def _eye_like(ctx: ExportContext, op: Operation):
    return ctx.node("EyeLike", _ins(ctx, op), k=op.attr("k"),
                    dtype=to_onnx_type(op.result.type.dtype))


@export_rule("zt.one_hot", opset=11)
def _one_hot(ctx: ExportContext, op: Operation):
    idx, values = _ins(ctx, op)
    return ctx.node("OneHot", [idx, ctx.const(np.int64(op.attr("depth")), hint="depth"), values],
                    axis=op.attr("axis"))


@export_rule("zt.gather", opset=13)
def _gather(ctx: ExportContext, op: Operation):
    return ctx.node("Gather", _ins(ctx, op), axis=op.attr("axis"))


@export_rule("zt.gather_elements", opset=13)
def _gather_elements(ctx: ExportContext, op: Operation):
    return ctx.node("GatherElements", _ins(ctx, op), axis=op.attr("axis"))


@export_rule("zt.gather_nd", opset=13)
def _gather_nd(ctx: ExportContext, op: Operation):
    return ctx.node("GatherND", _ins(ctx, op), batch_dims=op.attr("batch_dims"))


@export_rule("zt.scatter_elements", opset=18)
def _scatter_elements(ctx: ExportContext, op: Operation):
    return ctx.node("ScatterElements", _ins(ctx, op), axis=op.attr("axis"),
                    reduction=op.attr("reduction"))


@export_rule("zt.scatter_nd", opset=18)
def _scatter_nd(ctx: ExportContext, op: Operation):
    return ctx.node("ScatterND", _ins(ctx, op), reduction=op.attr("reduction"))


@export_rule("zt.squeeze", opset=13)
def _squeeze(ctx: ExportContext, op: Operation):
    axes = op.attr("axes")
    if axes is None:  # every statically-1 dim, as the type rule removes
        axes = [i for i, d in enumerate(op.operand(0).type.shape) if d == 1]
    return ctx.node("Squeeze", [_x(ctx, op), ctx.ints(axes, "axes")])


@export_rule("zt.unsqueeze", opset=13)
def _unsqueeze(ctx: ExportContext, op: Operation):
    return ctx.node("Unsqueeze", [_x(ctx, op), ctx.ints(op.attr("axes"), "axes")])


@export_rule("zt.flatten", opset=13)
def _flatten(ctx: ExportContext, op: Operation):
    return ctx.node("Flatten", _ins(ctx, op), axis=op.attr("axis"))


@export_rule("zt.expand", opset=13)
def _expand(ctx: ExportContext, op: Operation):
    return ctx.node("Expand", [_x(ctx, op), ctx.ints(op.attr("shape"), "shape")])


@export_rule("zt.shape_of", opset=15)
def _shape_of(ctx: ExportContext, op: Operation):
    end = op.attr("end")
    return ctx.node("Shape", _ins(ctx, op), start=op.attr("start") or None, end=end)


@export_rule("zt.size", opset=13)
def _size(ctx: ExportContext, op: Operation):
    return ctx.node("Size", _ins(ctx, op))
