"""Converters of quantization ops, decomposed into zt casts and arithmetic:
QuantizeLinear, DequantizeLinear (per tensor, per axis, blocked), DynamicQuantizeLinear,
QLinearMatMul, MatMulInteger."""

from __future__ import annotations

import ml_dtypes

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.elementwise import convert_cast
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.dtypes import DTYPES, DType

F32, F64, I32 = DTYPES["f32"], DTYPES["f64"], DTYPES["i32"]


def int_range(dt: DType) -> tuple[int, int]:
    info = ml_dtypes.iinfo(dt.np_dtype)
    return int(info.min), int(info.max)


def align_param(ctx: NodeContext, p: Value, x: Value, axis: int, block: int) -> Value:
    """A scale or zero point reshaped (and repeated for blocks) to broadcast against x."""
    rank = x.type.rank
    axis = axis + rank if axis < 0 else axis
    if block > 0:
        if p.type.rank != rank:
            ctx.fail(f"blocked quantization needs a parameter of rank {rank}, got {p.type}")
        n = x.type.shape[axis]
        shape = p.type.shape
        if not (isinstance(n, int) and all(isinstance(d, int) for d in shape)):
            ctx.fail("blocked quantization needs static shapes")
        y = ctx.op("zt.unsqueeze", p, axes=(axis + 1,))
        full = shape[:axis + 1] + (block,) + shape[axis + 1:]
        y = ctx.op("zt.expand", y, shape=full)
        y = ctx.op("zt.reshape", y, shape=shape[:axis] + (shape[axis] * block,) + shape[axis + 1:])
        return ctx.op("zt.slice", y, starts=(0,), ends=(n,), axes=(axis,))
    if p.type.rank == 1 and rank > 1 and p.type.shape[0] != 1:
        return ctx.op("zt.reshape", p, shape=(-1,) + (1,) * (rank - axis - 1))
    return p


@converter("DequantizeLinear", since=10)
def _dequantize(ctx: NodeContext) -> Value:
    x, scale = ctx.input(0), ctx.input(1)
    axis, block = int(ctx.attr("axis", 1)), int(ctx.attr("block_size", 0))
    out_dt = ctx.dtype_attr("output_dtype") if ctx.attr("output_dtype", 0) else scale.type.dtype
    work = F64 if scale.type.dtype is F64 else F32
    xf = ctx.cast(x, work)
    if ctx.has_input(2):
        zp = align_param(ctx, ctx.input(2), x, axis, block)
        xf = ctx.op("zt.sub", xf, ctx.cast(zp, work))
    y = ctx.op("zt.mul", xf, ctx.cast(align_param(ctx, scale, x, axis, block), work))
    return ctx.cast(y, out_dt)


def quantize(ctx: NodeContext, x: Value, scale: Value, zp: Value | None, to: DType,
             saturate: bool = True) -> Value:
    """saturate(round(x / scale) + zp) in ``to`` (rounding half to even)."""
    q = ctx.op("zt.div", x, ctx.cast(scale, x.type.dtype))
    if to.is_int:
        lo, hi = int_range(to)
        q = ctx.cast(ctx.op("zt.round", q), F64)
        if zp is not None:
            q = ctx.op("zt.add", q, ctx.cast(zp, F64))
        return ctx.cast(ctx.op("zt.clip", q, min=float(lo), max=float(hi)), to)
    if to.name == "f4e2m1" and zp is not None:
        q = ctx.op("zt.add", q, ctx.cast(zp, q.type.dtype))
    return convert_cast(ctx, q, to, saturate)


@converter("QuantizeLinear", since=10)
def _quantize(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    axis, block = int(ctx.attr("axis", 1)), int(ctx.attr("block_size", 0))
    zp = align_param(ctx, ctx.input(2), x, axis, block) if ctx.has_input(2) else None
    if zp is not None:
        to = ctx.type(2).dtype
    elif ctx.attr("output_dtype", 0):
        to = ctx.dtype_attr("output_dtype")
    else:
        to = DTYPES["u8"]
    if ctx.attr("precision", 0):
        x = ctx.cast(x, ctx.dtype_attr("precision"))
    scale = align_param(ctx, ctx.input(1), x, axis, block)
    return quantize(ctx, x, scale, zp, to, bool(ctx.attr("saturate", 1)))


@converter("DynamicQuantizeLinear", since=11)
def _dynamic_quantize(ctx: NodeContext) -> list[Value]:
    x = ctx.input(0)
    zero = ctx.scalar(0, x)
    hi = ctx.op("zt.max", ctx.op("zt.reduce_max", x, keepdims=False), zero)
    lo = ctx.op("zt.min", ctx.op("zt.reduce_min", x, keepdims=False), zero)
    scale = ctx.op("zt.div", ctx.op("zt.sub", hi, lo), ctx.scalar(255, x))
    zp = ctx.op("zt.round", ctx.op("zt.sub", zero, ctx.op("zt.div", lo, scale)))
    zp = ctx.cast(ctx.op("zt.clip", zp, min=0.0, max=255.0), DTYPES["u8"])
    return [quantize(ctx, x, scale, zp, DTYPES["u8"]), scale, zp]


def _centered(ctx: NodeContext, i: int, zp_index: int) -> Value:
    v = ctx.cast(ctx.input(i), I32)
    if ctx.has_input(zp_index):
        v = ctx.op("zt.sub", v, ctx.cast(ctx.input(zp_index), I32))
    return v


@converter("MatMulInteger", since=10)
def _matmul_integer(ctx: NodeContext) -> Value:
    a = _centered(ctx, 0, 2)
    b = ctx.cast(ctx.input(1), I32)
    if ctx.has_input(3):
        b = ctx.op("zt.sub", b, ctx.cast(ctx.input(3), I32))
    return ctx.op("zt.matmul", a, b)


@converter("QLinearMatMul", since=10)
def _qlinear_matmul(ctx: NodeContext) -> Value:
    a = _centered(ctx, 0, 2)
    b = ctx.cast(ctx.input(3), I32)
    b = ctx.op("zt.sub", b, ctx.cast(ctx.input(5), I32))
    acc = ctx.cast(ctx.op("zt.matmul", a, b), F64)
    a_s, b_s, y_s = ctx.input(1), ctx.input(4), ctx.input(6)
    factor = ctx.op("zt.div", ctx.op("zt.mul", a_s, b_s), y_s)
    d = ctx.op("zt.add", ctx.op("zt.mul", acc, ctx.cast(factor, F64)), ctx.cast(ctx.input(7), F64))
    to = ctx.type(7).dtype
    lo, hi = int_range(to)
    return ctx.cast(ctx.op("zt.clip", ctx.op("zt.round", d), min=float(lo), max=float(hi)), to)



def _conv_attrs(ctx: NodeContext, x: Value, w: Value) -> dict:
    from zenith.frontend.onnx.nn import resolve_pads

    kernel = list(ctx.attr("kernel_shape", w.type.shape[2:]))
    n = len(kernel)
    strides = list(ctx.attr("strides", [1] * n))
    dilations = list(ctx.attr("dilations", [1] * n))
    pads = resolve_pads(ctx, x.type, kernel, strides, dilations)
    return {"strides": tuple(strides), "dilations": tuple(dilations),
            "pads": tuple(pads) if pads is not None else None, "group": int(ctx.attr("group", 1))}


def _per_channel(ctx: NodeContext, p: Value, rank: int, axis: int) -> Value:
    """A per-channel parameter ([M] or scalar) shaped to broadcast along ``axis``."""
    if p.type.rank == 1 and p.type.shape[0] != 1:
        return ctx.op("zt.reshape", p, shape=(-1,) + (1,) * (rank - axis - 1))
    return p


def _integer_conv(ctx: NodeContext, x: Value, xzp: Value | None, w: Value, wzp: Value | None,
                  bias: Value | None) -> Value:
    """Convolution of zero-point-centered integers, exact in f64."""
    rank = x.type.rank
    xf = ctx.cast(x, F64)
    if xzp is not None:
        xf = ctx.op("zt.sub", xf, ctx.cast(xzp, F64))
    wf = ctx.cast(w, F64)
    if wzp is not None:
        wf = ctx.op("zt.sub", wf, ctx.cast(_per_channel(ctx, wzp, rank, 0), F64))
    operands = [xf, wf] + ([ctx.cast(bias, F64)] if bias is not None else [])
    return ctx.op("zt.conv", *operands, **_conv_attrs(ctx, x, w))


@converter("ConvInteger", since=10)
def _conv_integer(ctx: NodeContext) -> Value:
    acc = _integer_conv(ctx, ctx.input(0), ctx.opt_input(2), ctx.input(1), ctx.opt_input(3), None)
    return ctx.cast(acc, I32)


@converter("QLinearConv", since=10)
def _qlinear_conv(ctx: NodeContext) -> Value:
    x, w = ctx.input(0), ctx.input(3)
    acc = _integer_conv(ctx, x, ctx.input(2), w, ctx.input(5), ctx.opt_input(8))
    scale = ctx.op("zt.div", ctx.op("zt.mul", ctx.input(1), ctx.input(4)), ctx.input(6))
    scale = _per_channel(ctx, ctx.cast(scale, F64), x.type.rank, 1)
    d = ctx.op("zt.add", ctx.op("zt.mul", acc, scale), ctx.cast(ctx.input(7), F64))
    to = ctx.type(7).dtype
    lo, hi = int_range(to)
    return ctx.cast(ctx.op("zt.clip", ctx.op("zt.round", d), min=float(lo), max=float(hi)), to)
