"""RotaryEmbedding (opset 23), decomposed into slices, gathers and elementwise zt ops."""

from __future__ import annotations

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value


@converter("RotaryEmbedding", since=23)
def _rotary(ctx: NodeContext) -> Value:
    x, cos, sin = ctx.input(0), ctx.input(1), ctx.input(2)
    rank = x.type.rank
    if rank == 4:  # [B, H, S, D] -> [B, S, H, D]
        xs = ctx.op("zt.transpose", x, perm=(0, 2, 1, 3))
    elif rank == 3:
        heads = int(ctx.attr("num_heads", 0))
        if not heads:
            ctx.fail("3-D input needs num_heads")
        xs = ctx.op("zt.reshape", x, shape=(0, 0, heads, -1))
    else:
        ctx.fail(f"input must be 3-D or 4-D, got {x.type}")
    head = xs.type.shape[3]
    if not isinstance(head, int):
        ctx.fail(f"the head size of {xs.type} must be static")
    rd = int(ctx.attr("rotary_embedding_dim", 0)) or head
    half = rd // 2
    if ctx.has_input(3):
        pos = ctx.input(3)
        cos = ctx.op("zt.gather", cos, pos, axis=0)
        sin = ctx.op("zt.gather", sin, pos, axis=0)
    cos = ctx.op("zt.unsqueeze", cos, axes=(2,))
    sin = ctx.op("zt.unsqueeze", sin, axes=(2,))

    def part(start: int, end: int, step: int = 1) -> Value:
        return ctx.op("zt.slice", xs, starts=(start,), ends=(end,), axes=(3,), steps=(step,))

    interleaved = bool(ctx.attr("interleaved", 0))
    x1, x2 = (part(0, rd, 2), part(1, rd, 2)) if interleaved else (part(0, half), part(half, rd))
    def mul(a: Value, b: Value) -> Value:
        return ctx.op("zt.mul", a, b)

    real = ctx.op("zt.sub", mul(cos, x1), mul(sin, x2))
    imag = ctx.op("zt.add", mul(sin, x1), mul(cos, x2))
    if interleaved:
        pair = ctx.op("zt.concat", ctx.op("zt.unsqueeze", real, axes=(-1,)),
                      ctx.op("zt.unsqueeze", imag, axes=(-1,)), axis=-1)
        rotated = ctx.op("zt.reshape", pair, shape=(0, 0, 0, rd))
    else:
        rotated = ctx.op("zt.concat", real, imag, axis=-1)
    if rd < head:
        rotated = ctx.op("zt.concat", rotated, part(rd, head), axis=-1)
    if rank == 4:
        return ctx.op("zt.transpose", rotated, perm=(0, 2, 1, 3))
    return ctx.op("zt.reshape", rotated, shape=(0, 0, -1))
