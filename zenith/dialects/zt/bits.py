"""``zt.bitcast``: reinterpret the bits of each element as another dtype of the same width."""

from __future__ import annotations

import numpy as np

from zenith.ir.dtypes import DType
from zenith.ir.opdef import PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType

SUB_BYTE = {"i4": 4, "u4": 4, "f4e2m1": 4}


def bit_width(dt: DType) -> int:
    return SUB_BYTE.get(dt.name, dt.itemsize * 8)


def _bitcast_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    to = ctx.attr("to")
    for d in (x.dtype, to):
        if d.kind == "string" or d.name in SUB_BYTE:
            raise InferError(f"bitcast does not support dtype {d}")
    if bit_width(x.dtype) != bit_width(to):
        raise InferError(f"bitcast needs equal widths: {x.dtype} has {bit_width(x.dtype)} bits, "
                         f"{to} has {bit_width(to)}")
    return x.with_dtype(to)


def _bitcast_ref(ctx, x):
    to = ctx.attr("to").np_dtype
    little = np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<"), copy=False)
    return little.view(to.newbyteorder("<")).astype(to, copy=False).reshape(x.shape)


define_op(
    "zt.bitcast",
    operands=("x",),
    attrs={"to": "dtype"},
    traits=(PURE,),
    infer=_bitcast_infer,
    reference=_bitcast_ref,
    doc="Reinterpret each element's little-endian bytes as dtype `to` (same bit width).",
)
