"""Export rules of the neural-network ``zt`` ops: convolutions, pools, attention, resize."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.exporter import ExportContext, export_rule
from zenith.ir.core import Operation
from zenith.ir.diagnostics import ZenithError


def _ins(ctx: ExportContext, op: Operation) -> list[str]:
    return [ctx.name(v) for v in op.operands]


def _opt_list(v) -> list | None:
    return list(v) if v is not None else None


def _spatial(op: Operation, keys: tuple[str, ...]) -> dict:
    return {k: _opt_list(op.attr(k)) for k in keys}


@export_rule("zt.conv")
def _conv(ctx: ExportContext, op: Operation):
    return ctx.node("Conv", _ins(ctx, op), group=op.attr("group"),
                    **_spatial(op, ("strides", "dilations", "pads")))


@export_rule("zt.conv_transpose")
def _conv_transpose(ctx: ExportContext, op: Operation):
    return ctx.node("ConvTranspose", _ins(ctx, op), group=op.attr("group"),
                    **_spatial(op, ("strides", "dilations", "pads", "output_padding")))


def _pool(ctx: ExportContext, op: Operation, onnx_op: str, outputs: int = 1, **extra):
    attrs = _spatial(op, ("strides", "dilations", "pads"))
    attrs["kernel_shape"] = list(op.attr("kernel_shape"))
    return ctx.node(onnx_op, _ins(ctx, op), outputs=outputs, ceil_mode=int(op.attr("ceil_mode")),
                    **attrs, **extra)


@export_rule("zt.max_pool", opset=12)
def _max_pool(ctx: ExportContext, op: Operation):
    return _pool(ctx, op, "MaxPool")


@export_rule("zt.max_pool_with_indices", opset=12)
def _max_pool_idx(ctx: ExportContext, op: Operation):
    return _pool(ctx, op, "MaxPool", outputs=2, storage_order=op.attr("storage_order"))


@export_rule("zt.avg_pool", opset=19)
def _avg_pool(ctx: ExportContext, op: Operation):
    return _pool(ctx, op, "AveragePool", count_include_pad=int(op.attr("count_include_pad")))


@export_rule("zt.lp_pool", opset=18)
def _lp_pool(ctx: ExportContext, op: Operation):
    return _pool(ctx, op, "LpPool", p=op.attr("p"))


@export_rule("zt.global_avg_pool")
def _gap(ctx: ExportContext, op: Operation):
    return ctx.node("GlobalAveragePool", _ins(ctx, op))


@export_rule("zt.global_max_pool")
def _gmp(ctx: ExportContext, op: Operation):
    return ctx.node("GlobalMaxPool", _ins(ctx, op))


@export_rule("zt.global_lp_pool")
def _glp(ctx: ExportContext, op: Operation):
    return ctx.node("GlobalLpPool", _ins(ctx, op), p=op.attr("p"))


def _static_dims(op: Operation, idx: int, axes: slice) -> list[int]:
    dims = op.operand(idx).type.shape[axes]
    if not all(isinstance(d, int) for d in dims):
        raise ZenithError(f"exporting '{op.name}' needs static sequence lengths", op.loc)
    return list(dims)  # type: ignore[arg-type]


@export_rule("zt.attention", opset=23)
def _attention(ctx: ExportContext, op: Operation):
    """ONNX Attention-23; masks it cannot express (lower-right causal, windows) become a
    constant additive bias next to the mask."""
    ins = _ins(ctx, op)
    sq, skv = _static_dims(op, 0, slice(2, 3))[0], _static_dims(op, 1, slice(2, 3))[0]
    causal, align = op.attr("causal"), op.attr("causal_align")
    left, right = op.attr("left_window_size"), op.attr("right_window_size")
    is_causal = causal and align == "upper_left"
    allowed = None
    if (causal and not is_causal) or left >= 0 or right >= 0:
        offset = skv - sq if align == "lower_right" else 0
        diff = np.arange(sq)[:, None] + offset - np.arange(skv)[None, :]
        allowed = np.ones((sq, skv), bool)
        if causal and not is_causal:
            allowed &= diff >= 0
        if left >= 0:
            allowed &= diff <= left
        if right >= 0:
            allowed &= -diff <= right
    if allowed is not None:
        dt = op.operand(0).type.dtype.np_dtype
        bias = np.where(allowed, 0, -np.inf).astype(dt)
        if len(ins) == 4:
            mask = ins[3]
            if op.operand(3).type.dtype.is_bool:
                zero, ninf = ctx.const(np.zeros((), dt)), ctx.const(np.array(-np.inf, dt))
                mask = ctx.node("Where", [mask, zero, ninf])[0]
            ins[3] = ctx.node("Add", [mask, ctx.const(bias, hint="window")])[0]
        else:
            ins.append(ctx.const(bias, hint="window"))
    scale = op.attr("scale")
    cap = op.attr("softcap")
    return ctx.node("Attention", ins, is_causal=int(is_causal),
                    scale=float(scale) if scale is not None else None,
                    softcap=float(cap) if cap else None)


@export_rule("zt.resize", opset=19)
def _resize(ctx: ExportContext, op: Operation):
    x = op.operand(0).type
    out = op.result.type.shape
    scales = list(op.attr("scales"))
    ins = [ctx.name(op.operand(0))]
    roi = op.attr("roi")
    ins.append(ctx.const(np.asarray(roi, np.float32), hint="roi") if roi is not None else "")
    exact = all(isinstance(o, int) and isinstance(i, int) and i and o / i == s
                for o, i, s in zip(out, x.shape, scales))
    if exact:
        ins += ["", ctx.ints(out, "sizes")]
    else:
        ins.append(ctx.const(np.asarray(scales, np.float32), hint="scales"))
    return ctx.node("Resize", ins, mode=op.attr("mode"),
                    coordinate_transformation_mode=op.attr("coordinate_mode"),
                    nearest_mode=op.attr("nearest_mode"), cubic_coeff_a=float(op.attr("cubic_coeff_a")),
                    exclude_outside=int(op.attr("exclude_outside")),
                    extrapolation_value=float(op.attr("extrapolation_value")),
                    antialias=int(op.attr("antialias")))
