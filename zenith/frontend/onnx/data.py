"""Converters of data-movement and generator ops: Concat, Split, Slice, Pad, Tile, Trilu,
DepthToSpace, SpaceToDepth, ReverseSequence, ConstantOfShape, Range, EyeLike, OneHot."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.frontend.onnx.shape import dyn_available
from zenith.ir.core import Value
from zenith.ir.dtypes import from_numpy


@converter("Concat", since=4)
def _concat(ctx: NodeContext) -> Value:
    xs = ctx.tensor_inputs()
    if len(xs) == 1:
        return xs[0]
    return ctx.op("zt.concat", *xs, axis=int(ctx.attr("axis")))


@converter("Split", since=2)
def _split(ctx: NodeContext) -> list[Value]:
    x = ctx.input(0)
    axis = int(ctx.attr("axis", 0))
    if ctx.version < 13:
        sizes = ctx.attr("split", None)
    else:
        sizes = ctx.static_ints(1, "the split sizes")
    n = ctx.num_outputs
    if sizes is not None and len(sizes) > 0:
        parts = ctx.op("zt.split", x, axis=axis, sizes=tuple(sizes))
    else:
        parts = ctx.op("zt.split", x, axis=axis, num_outputs=int(ctx.attr("num_outputs", n)))
    return list(parts) if isinstance(parts, tuple) else [parts]


@converter("Slice", since=1)
def _slice(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    if ctx.version < 10:
        starts, ends = ctx.attr("starts"), ctx.attr("ends")
        axes, steps = ctx.attr("axes", None), None
    else:
        consts = [ctx.const_ints(i) if ctx.has_input(i) else () for i in range(1, 5)]
        if any(c is None for c in consts) and dyn_available("zt.slice_dyn"):
            ins = [x, ctx.input(1), ctx.input(2)]
            if ctx.has_input(3) or ctx.has_input(4):
                n = ctx.type(1).shape[0]
                if not ctx.has_input(3) and not isinstance(n, int):
                    ctx.fail("steps without axes need a static number of starts")
                ins.append(ctx.input(3) if ctx.has_input(3) else
                           ctx.constant(np.arange(n, dtype=np.int64)))
            if ctx.has_input(4):
                ins.append(ctx.input(4))
            return ctx.op("zt.slice_dyn", *ins)
        starts = ctx.static_ints(1, "starts")
        ends = ctx.static_ints(2, "ends")
        axes = ctx.static_ints(3, "axes")
        steps = ctx.static_ints(4, "steps")
    return ctx.op("zt.slice", x, starts=tuple(starts), ends=tuple(ends),
                  axes=tuple(axes) if axes is not None else None,
                  steps=tuple(steps) if steps is not None else None)


@converter("Pad", since=2)
def _pad(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    mode = ctx.attr("mode", "constant")
    axes = None
    if ctx.version < 11:
        pads, value = ctx.attr("pads"), float(ctx.attr("value", 0.0))
    else:
        axes = ctx.static_ints(3, "axes") if ctx.version >= 18 else None
        if ctx.const(1) is None or (ctx.has_input(2) and ctx.const(2) is None):
            ins = [x, ctx.input(1)] + ([ctx.input(2)] if ctx.has_input(2) else [])
            return ctx.op("zt.pad_dyn", *ins, mode=mode, axes=axes)
        pads = ctx.static_ints(1, "pads")
        value = 0.0
        if ctx.has_input(2):
            v = ctx.static(2, "the constant value")
            value = v.reshape(-1)[0].item() if v.size else 0.0
    if isinstance(value, bool):
        value = float(value)
    return ctx.op("zt.pad", x, pads=tuple(pads), mode=mode, value=value,
                  axes=tuple(axes) if axes is not None else None)


@converter("Tile", since=6)
def _tile(ctx: NodeContext) -> Value:
    if ctx.const(1) is None:
        return ctx.op("zt.tile_dyn", ctx.input(0), ctx.input(1))
    return ctx.op("zt.tile", ctx.input(0), repeats=ctx.static_ints(1, "repeats"))


@converter("Trilu", since=14)
def _trilu(ctx: NodeContext) -> Value:
    k = ctx.static_ints(1, "k")
    return ctx.op("zt.trilu", ctx.input(0), upper=bool(ctx.attr("upper", 1)), k=k[0] if k else 0)


@converter("DepthToSpace", since=1)
def _depth_to_space(ctx: NodeContext) -> Value:
    return ctx.op("zt.depth_to_space", ctx.input(0), blocksize=int(ctx.attr("blocksize")),
                  mode=ctx.attr("mode", "DCR"))


@converter("SpaceToDepth", since=1)
def _space_to_depth(ctx: NodeContext) -> Value:
    x, b = ctx.input(0), int(ctx.attr("blocksize"))
    if ctx.attr("mode", "DCR") == "DCR":
        return ctx.op("zt.space_to_depth", x, blocksize=b)
    # CRD: out channel c*b*b + i*b + j, by reshape and transpose.
    if x.type.rank != 4 or not all(isinstance(d, int) for d in x.type.shape[1:]):
        ctx.fail(f"mode CRD needs a 4-D input with static C, H, W, got {x.type}")
    _, c, h, w = x.type.shape
    if h % b or w % b:
        ctx.fail(f"H={h} and W={w} must be divisible by blocksize {b}")
    y = ctx.op("zt.reshape", x, shape=(-1, c, h // b, b, w // b, b))
    y = ctx.op("zt.transpose", y, perm=(0, 1, 3, 5, 2, 4))
    return ctx.op("zt.reshape", y, shape=(-1, c * b * b, h // b, w // b))


@converter("ReverseSequence", since=10)
def _reverse_sequence(ctx: NodeContext) -> Value:
    return ctx.op("zt.reverse_sequence", ctx.input(0), ctx.input(1),
                  batch_axis=int(ctx.attr("batch_axis", 1)), time_axis=int(ctx.attr("time_axis", 0)))


@converter("ConstantOfShape", since=9)
def _constant_of_shape(ctx: NodeContext) -> Value:
    value = ctx.attr("value", None)
    arr = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    dt = from_numpy(arr.dtype)
    v = arr[0].item() if arr.size else 0
    if ctx.const(0) is None and (dt.is_float or dt.is_bool or float(v) == v):
        return ctx.op("zt.fill_dyn", ctx.input(0), value=float(v), dtype=dt)
    shape = ctx.static_ints(0, "the shape")
    if dt.kind in ("int", "uint") and float(v) != v:
        ctx.fail(f"value {v} cannot be represented")
    if dt.is_float or dt.is_bool or float(v) == v:
        return ctx.op("zt.fill", shape=tuple(shape), value=float(v), dtype=dt)
    return ctx.op("zt.expand", ctx.scalar(v, dt), shape=tuple(shape))


@converter("Range", since=11)
def _range(ctx: NodeContext) -> Value:
    dt = ctx.type(0).dtype
    vals = [ctx.const(i) for i in range(3)]
    if any(v is None for v in vals) and dyn_available("zt.range_dyn"):
        return ctx.op("zt.range_dyn", ctx.input(0), ctx.input(1), ctx.input(2))
    start, limit, delta = (ctx.static(i, name).item() for i, name in
                           enumerate(("start", "limit", "delta")))
    return ctx.op("zt.range", start=float(start), limit=float(limit), delta=float(delta), dtype=dt)


@converter("EyeLike", since=9)
def _eye_like(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    dt = ctx.dtype_attr("dtype") if "dtype" in ctx.attrs else x.type.dtype
    return ctx.op("zt.eye_like", x, k=int(ctx.attr("k", 0)), dtype=dt)


@converter("OneHot", since=9)
def _one_hot(ctx: NodeContext) -> Value:
    depth = ctx.static(1, "depth").reshape(-1)[0].item()
    return ctx.op("zt.one_hot", ctx.input(0), ctx.input(2), depth=int(depth),
                  axis=int(ctx.attr("axis", -1)))



@converter("Gather", since=1)
def _gather(ctx: NodeContext) -> Value:
    return ctx.op("zt.gather", ctx.input(0), ctx.input(1), axis=int(ctx.attr("axis", 0)))


@converter("GatherElements", since=11)
def _gather_elements(ctx: NodeContext) -> Value:
    return ctx.op("zt.gather_elements", ctx.input(0), ctx.input(1), axis=int(ctx.attr("axis", 0)))


@converter("GatherND", since=11)
def _gather_nd(ctx: NodeContext) -> Value:
    return ctx.op("zt.gather_nd", ctx.input(0), ctx.input(1),
                  batch_dims=int(ctx.attr("batch_dims", 0)))


@converter("ScatterElements", "Scatter", since=9)
def _scatter_elements(ctx: NodeContext) -> Value:
    return ctx.op("zt.scatter_elements", ctx.input(0), ctx.input(1), ctx.input(2),
                  axis=int(ctx.attr("axis", 0)), reduction=ctx.attr("reduction", "none"))


@converter("ScatterND", since=11)
def _scatter_nd(ctx: NodeContext) -> Value:
    return ctx.op("zt.scatter_nd", ctx.input(0), ctx.input(1), ctx.input(2),
                  reduction=ctx.attr("reduction", "none"))


@converter("NonZero", since=9)
def _nonzero(ctx: NodeContext) -> Value:
    return ctx.op("zt.nonzero", ctx.input(0))


@converter("Compress", since=9)
def _compress(ctx: NodeContext) -> Value:
    axis = ctx.attr("axis", None)
    return ctx.op("zt.compress", ctx.input(0), ctx.input(1),
                  axis=int(axis) if axis is not None else None)


@converter("Unique", since=11)
def _unique(ctx: NodeContext) -> list[Value]:
    axis = ctx.attr("axis", None)
    return list(ctx.op("zt.unique", ctx.input(0), sorted=bool(ctx.attr("sorted", 1)),
                       axis=int(axis) if axis is not None else None))


@converter("CenterCropPad", since=18)
def _center_crop_pad(ctx: NodeContext) -> Value:
    """A centered crop (start rounded down) or zero pad (extra pixel on the right) per axis."""
    x = ctx.input(0)
    target = ctx.static_ints(1, "the shape")
    rank = x.type.rank
    axes = [a + rank if a < 0 else a for a in ctx.attr("axes", range(rank))]
    if len(axes) != len(target):
        ctx.fail(f"shape has {len(target)} entries for {len(axes)} axes")
    starts, ends, crop_axes = [], [], []
    pads = [0] * (2 * rank)
    for a, t in zip(axes, target):
        d = x.type.shape[a]
        if not isinstance(d, int):
            ctx.fail(f"dim {a} of {x.type} must be static")
        if d > t:
            s = (d - t) // 2
            starts.append(s)
            ends.append(s + t)
            crop_axes.append(a)
        elif d < t:
            pads[a] = (t - d) // 2
            pads[rank + a] = t - d - pads[a]
    if crop_axes:
        x = ctx.op("zt.slice", x, starts=tuple(starts), ends=tuple(ends), axes=tuple(crop_axes))
    if any(pads):
        x = ctx.op("zt.pad", x, pads=tuple(pads))
    return x
