"""Converters of neural-network layers: dropout and global pooling."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value


@converter("Dropout", since=7)
def _dropout(ctx: NodeContext) -> list[Value]:
    """Inference dropout is the identity (mask all true); training with ratio 0 too."""
    x = ctx.input(0)
    training = ctx.static(2, "training_mode").item() if ctx.has_input(2) else False
    ratio = ctx.static(1, "ratio").item() if ctx.has_input(1) else ctx.attr("ratio", 0.5)
    if training and ratio != 0:
        ctx.fail("training-mode dropout is random; Zenith compiles inference graphs")
    mask = None
    if ctx.wants_output(1):
        mask = ctx.op("zt.expand", ctx.constant(np.array(True)), shape=_static_shape(ctx, x))
    return [x, mask]


def _static_shape(ctx: NodeContext, x: Value) -> tuple[int, ...]:
    if not x.type.is_static:
        ctx.fail(f"the mask output needs a static shape, got {x.type}")
    return tuple(x.type.shape)  # type: ignore[arg-type]


def _global_pool(zt: str):
    def conv(ctx: NodeContext) -> Value:
        x = ctx.input(0)
        return ctx.op(zt, x, axes=tuple(range(2, x.type.rank)), keepdims=True)
    return conv


converter("GlobalAveragePool", since=1)(_global_pool("zt.reduce_mean"))
converter("GlobalMaxPool", since=1)(_global_pool("zt.reduce_max"))
