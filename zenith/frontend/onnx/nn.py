"""Converters of neural-network layers: convolutions, pooling, dropout.

ONNX ``auto_pad`` (and ConvTranspose's ``output_shape``) are resolved here into
explicit pads, so the zt ops only know explicit padding.
"""

from __future__ import annotations

import math

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.types import TensorType


def spatial_dims(ctx: NodeContext, x: TensorType) -> list[int]:
    dims = list(x.shape[2:])
    if not all(isinstance(d, int) for d in dims):
        ctx.fail(f"auto_pad needs static spatial dims, got {x}")
    return dims  # type: ignore[return-value]


def resolve_pads(ctx: NodeContext, x: TensorType, kernel: list[int], strides: list[int],
                 dilations: list[int]) -> list[int] | None:
    """Explicit pads (begins, then ends) from ``pads`` or ``auto_pad``."""
    auto = ctx.attr("auto_pad", "NOTSET")
    n = len(kernel)
    if auto in ("NOTSET", ""):
        pads = ctx.attr("pads", None)
        return list(pads) if pads is not None else None
    if auto == "VALID":
        return [0] * (2 * n)
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        ctx.fail(f"unknown auto_pad {auto!r}")
    begins, ends = [], []
    for d, k, s, dil in zip(spatial_dims(ctx, x), kernel, strides, dilations):
        out = math.ceil(d / s)
        total = max(0, (out - 1) * s + (k - 1) * dil + 1 - d)
        small, big = total // 2, total - total // 2
        begins.append(small if auto == "SAME_UPPER" else big)
        ends.append(big if auto == "SAME_UPPER" else small)
    return begins + ends


def _spatial(ctx: NodeContext, name: str, n: int) -> list[int]:
    v = ctx.attr(name, None)
    return list(v) if v is not None else [1] * n


@converter("Conv", since=1)
def _conv(ctx: NodeContext) -> Value:
    x, w = ctx.input(0), ctx.input(1)
    kernel = list(ctx.attr("kernel_shape", w.type.shape[2:]))
    n = len(kernel)
    strides, dilations = _spatial(ctx, "strides", n), _spatial(ctx, "dilations", n)
    pads = resolve_pads(ctx, x.type, kernel, strides, dilations)
    operands = [x, w] + ([ctx.input(2)] if ctx.has_input(2) else [])
    return ctx.op("zt.conv", *operands, strides=tuple(strides), dilations=tuple(dilations),
                  pads=tuple(pads) if pads is not None else None, group=int(ctx.attr("group", 1)))


@converter("ConvTranspose", since=1)
def _conv_transpose(ctx: NodeContext) -> Value:
    x, w = ctx.input(0), ctx.input(1)
    kernel = list(ctx.attr("kernel_shape", w.type.shape[2:]))
    n = len(kernel)
    strides, dilations = _spatial(ctx, "strides", n), _spatial(ctx, "dilations", n)
    out_pad = list(ctx.attr("output_padding", [0] * n))
    output_shape = ctx.attr("output_shape", None)
    auto = ctx.attr("auto_pad", "NOTSET")
    pads = ctx.attr("pads", None)
    if output_shape is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
        dims = spatial_dims(ctx, x.type)
        target = list(output_shape)[-n:] if output_shape is not None else \
            [d * s for d, s in zip(dims, strides)]
        begins, ends = [], []
        for i, (d, k, s, dil) in enumerate(zip(dims, kernel, strides, dilations)):
            total = s * (d - 1) + out_pad[i] + (k - 1) * dil + 1 - target[i]
            if total < 0:  # the target is larger: grow the output padding instead
                out_pad[i] -= total
                total = 0
            small, big = total // 2, total - total // 2
            upper = auto != "SAME_LOWER"
            begins.append(small if upper else big)
            ends.append(big if upper else small)
        pads = begins + ends
    elif auto == "VALID":
        pads = [0] * (2 * n)
    operands = [x, w] + ([ctx.input(2)] if ctx.has_input(2) else [])
    return ctx.op("zt.conv_transpose", *operands, strides=tuple(strides),
                  dilations=tuple(dilations), pads=tuple(pads) if pads is not None else None,
                  output_padding=tuple(out_pad), group=int(ctx.attr("group", 1)))


def _pool_attrs(ctx: NodeContext, x: Value) -> dict:
    kernel = list(ctx.attr("kernel_shape"))
    n = len(kernel)
    strides, dilations = _spatial(ctx, "strides", n), _spatial(ctx, "dilations", n)
    pads = resolve_pads(ctx, x.type, kernel, strides, dilations)
    return {"kernel_shape": tuple(kernel), "strides": tuple(strides),
            "dilations": tuple(dilations), "pads": tuple(pads) if pads is not None else None,
            "ceil_mode": bool(ctx.attr("ceil_mode", 0))}


@converter("MaxPool", since=1)
def _max_pool(ctx: NodeContext) -> list[Value | None]:
    x = ctx.input(0)
    attrs = _pool_attrs(ctx, x)
    if ctx.wants_output(1):
        y, idx = ctx.op("zt.max_pool_with_indices", x, **attrs,
                        storage_order=int(ctx.attr("storage_order", 0)))
        return [y, idx]
    return [ctx.op("zt.max_pool", x, **attrs), None]


@converter("AveragePool", since=1)
def _avg_pool(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    return ctx.op("zt.avg_pool", x, **_pool_attrs(ctx, x),
                  count_include_pad=bool(ctx.attr("count_include_pad", 0)))


@converter("LpPool", since=1)
def _lp_pool(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    return ctx.op("zt.lp_pool", x, **_pool_attrs(ctx, x), p=int(ctx.attr("p", 2)))


@converter("GlobalAveragePool", since=1)
def _global_avg(ctx: NodeContext) -> Value:
    return ctx.op("zt.global_avg_pool", ctx.input(0))


@converter("GlobalMaxPool", since=1)
def _global_max(ctx: NodeContext) -> Value:
    return ctx.op("zt.global_max_pool", ctx.input(0))


@converter("GlobalLpPool", since=2)
def _global_lp(ctx: NodeContext) -> Value:
    return ctx.op("zt.global_lp_pool", ctx.input(0), p=int(ctx.attr("p", 2)))


@converter("Dropout", since=7)
def _dropout(ctx: NodeContext) -> list[Value | None]:
    """Inference dropout is the identity (mask all true); training with ratio 0 too."""
    x = ctx.input(0)
    training = ctx.static(2, "training_mode").item() if ctx.has_input(2) else False
    ratio = ctx.static(1, "ratio").item() if ctx.has_input(1) else ctx.attr("ratio", 0.5)
    if training and ratio != 0:
        ctx.fail("training-mode dropout is random; Zenith compiles inference graphs")
    mask = None
    if ctx.wants_output(1):
        if not x.type.is_static:
            ctx.fail(f"the mask output needs a static shape, got {x.type}")
        mask = ctx.op("zt.expand", ctx.constant(np.array(True)), shape=tuple(x.type.shape))
    return [x, mask]


@converter("MaxUnpool", since=9)
def _max_unpool(ctx: NodeContext) -> Value:
    """Scatter the values at their MaxPool indices (flat over the whole output) into zeros."""
    x, idx = ctx.input(0), ctx.input(1)
    if not x.type.is_static:
        ctx.fail(f"needs a static input shape, got {x.type}")
    n, c, *dims = x.type.shape
    kernel = list(ctx.attr("kernel_shape"))
    r = len(kernel)
    strides = _spatial(ctx, "strides", r)
    pads = list(ctx.attr("pads", [0] * (2 * r)))
    out = [n, c] + [(d - 1) * s - pads[i] - pads[r + i] + k
                    for i, (d, s, k) in enumerate(zip(dims, strides, kernel))]
    zeros = ctx.op("zt.fill", shape=(int(np.prod(out)),), dtype=x.type.dtype)
    flat_idx = ctx.op("zt.reshape", idx, shape=(-1,))
    flat_x = ctx.op("zt.reshape", x, shape=(-1,))
    y = ctx.op("zt.reshape", ctx.op("zt.scatter_elements", zeros, flat_idx, flat_x, axis=0),
               shape=tuple(out))
    if ctx.has_input(2):  # indices address the default shape; a larger one pads at the end
        want = list(ctx.static_ints(2, "output_shape"))
        extra = [w - o for w, o in zip(want, out)]
        if any(e < 0 for e in extra) or len(want) != len(out):
            ctx.fail(f"output_shape {want} is smaller than the unpooled shape {out}")
        if any(extra):
            y = ctx.op("zt.pad", y, pads=tuple([0] * len(out) + extra))
    return y
