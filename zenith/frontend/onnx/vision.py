"""Converters of vision ops: NonMaxSuppression, Col2Im, TensorScatter."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value


def _scalar(ctx: NodeContext, i: int, what: str, default):
    if not ctx.has_input(i):
        return default
    return np.asarray(ctx.static(i, what)).reshape(-1)[0].item()


@converter("NonMaxSuppression", since=10)
def _nms(ctx: NodeContext) -> Value:
    score = _scalar(ctx, 4, "score_threshold", None)
    return ctx.op("zt.non_max_suppression", ctx.input(0), ctx.input(1),
                  max_output_boxes_per_class=int(_scalar(ctx, 2, "max_output_boxes_per_class", 0)),
                  iou_threshold=float(_scalar(ctx, 3, "iou_threshold", 0.0)),
                  score_threshold=float(score) if score is not None else None,
                  center_point_box=bool(ctx.attr("center_point_box", 0)))


@converter("Col2Im", since=18)
def _col2im(ctx: NodeContext) -> Value:
    """Sum the columns back into the image: a scatter-add at constant positions."""
    x = ctx.input(0)
    image = list(ctx.static_ints(1, "image_shape"))
    block = list(ctx.static_ints(2, "block_shape"))
    r = len(image)
    if not x.type.is_static or x.type.rank != 3:
        ctx.fail(f"input must be a static [N, C*prod(block), L], got {x.type}")
    n, ck, length = x.type.shape
    k = int(np.prod(block))
    c = ck // k
    strides = list(ctx.attr("strides", [1] * r))
    dilations = list(ctx.attr("dilations", [1] * r))
    pads = list(ctx.attr("pads", [0] * (2 * r)))
    padded = [image[i] + pads[i] + pads[r + i] for i in range(r)]
    counts = [(padded[i] - (dilations[i] * (block[i] - 1) + 1)) // strides[i] + 1 for i in range(r)]
    if int(np.prod(counts)) != length or c * k != ck:
        ctx.fail(f"{x.type} does not match image {image}, block {block} ({counts} blocks)")
    # positions[c, kernel offset, block] in the flattened padded image (C, *padded)
    kpos = np.stack(np.unravel_index(np.arange(k), block), axis=1)            # [k, r]
    lpos = np.stack(np.unravel_index(np.arange(length), counts), axis=1)      # [L, r]
    coords = lpos[None, :, :] * np.array(strides) + kpos[:, None, :] * np.array(dilations)
    flat = np.ravel_multi_index(tuple(np.moveaxis(coords, -1, 0)), padded)   # [k, L]
    size = int(np.prod(padded))
    idx = (np.arange(c)[:, None, None] * size + flat[None]).reshape(1, -1)
    idx = np.broadcast_to(idx, (n, idx.shape[1])).astype(np.int64)
    zeros = ctx.op("zt.fill", shape=(n, c * size), dtype=x.type.dtype)
    y = ctx.op("zt.scatter_elements", zeros, ctx.constant(idx),
               ctx.op("zt.reshape", x, shape=(n, -1)), axis=1, reduction="add")
    y = ctx.op("zt.reshape", y, shape=(n, c, *padded))
    if any(pads):
        y = ctx.op("zt.slice", y, starts=tuple(pads[:r]),
                   ends=tuple(pads[i] + image[i] for i in range(r)), axes=tuple(range(2, 2 + r)))
    return y


@converter("TensorScatter", since=24)
def _tensor_scatter(ctx: NodeContext) -> Value:
    """Write ``update`` into ``past_cache`` along ``axis`` from per-batch write positions
    (circular: modulo the cache length), as one scatter."""
    past, update = ctx.input(0), ctx.input(1)
    rank = past.type.rank
    axis = int(ctx.attr("axis", -2))
    axis = axis + rank if axis < 0 else axis
    if not update.type.is_static or not isinstance(past.type.shape[axis], int):
        ctx.fail(f"needs static shapes, got {past.type} and {update.type}")
    steps, cache = update.type.shape[axis], past.type.shape[axis]
    shape = [1] * rank
    shape[axis] = steps
    idx = ctx.constant(np.arange(steps, dtype=np.int64).reshape(shape))
    if ctx.has_input(2):
        starts = ctx.op("zt.reshape", ctx.cast(ctx.input(2), idx.type.dtype),
                        shape=(-1,) + (1,) * (rank - 1))
        idx = ctx.op("zt.add", idx, starts)
    if ctx.attr("mode", "linear") == "circular":
        idx = ctx.op("zt.mod", idx, ctx.scalar(cache, idx))
    idx = ctx.op("zt.expand", idx, shape=tuple(update.type.shape))
    return ctx.op("zt.scatter_elements", past, idx, update, axis=axis)
