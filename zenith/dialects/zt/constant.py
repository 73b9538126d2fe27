"""``zt.constant``: a tensor literal."""

from __future__ import annotations

from zenith.ir.opdef import CONSTANT_LIKE, PURE, InferContext, define_op
from zenith.ir.types import TensorType


def _infer(ctx: InferContext) -> TensorType:
    return ctx.attr("value").type


define_op(
    "zt.constant",
    attrs={"value": "dense"},
    traits=(PURE, CONSTANT_LIKE),
    infer=_infer,
    reference=lambda ctx: ctx.attr("value").array,
    doc="A constant tensor held in the `value` attribute.",
)
