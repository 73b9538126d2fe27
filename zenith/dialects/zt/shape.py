"""Data-movement ops whose result is a view or permutation: reshape, transpose."""

from __future__ import annotations

import numpy as np

from zenith.dialects.shape_rules import dims_product
from zenith.ir.opdef import PURE, VIEW, InferContext, InferError, define_op
from zenith.ir.types import Dim, TensorType


def resolve_reshape(in_shape: tuple[Dim, ...], spec: tuple[int, ...], allowzero: bool) -> tuple:
    """Target shape of a reshape: ``0`` copies the input dim (unless allowzero), ``-1`` is inferred."""
    out: list[Dim] = []
    infer_at = None
    for i, s in enumerate(spec):
        if s == -1:
            if infer_at is not None:
                raise InferError(f"reshape shape {list(spec)} has more than one -1")
            infer_at = i
            out.append(None)
        elif s == 0 and not allowzero:
            if i >= len(in_shape):
                raise InferError(f"reshape shape {list(spec)}: 0 at {i} has no input dim to copy")
            out.append(in_shape[i])
        elif s < -1:
            raise InferError(f"reshape shape {list(spec)} has invalid entry {s}")
        else:
            out.append(s)
    total = dims_product(in_shape)
    if infer_at is not None:
        rest = dims_product([d for i, d in enumerate(out) if i != infer_at])
        if isinstance(total, int) and isinstance(rest, int):
            if rest == 0 or total % rest:
                raise InferError(f"cannot reshape {_fmt(in_shape)} into {list(spec)}")
            out[infer_at] = total // rest
        elif rest == 1:
            out[infer_at] = total
    else:
        new_total = dims_product(out)
        if isinstance(total, int) and isinstance(new_total, int) and total != new_total:
            raise InferError(f"cannot reshape {_fmt(in_shape)} ({total} elements) into "
                             f"{list(spec)} ({new_total} elements)")
    return tuple(out)


def _fmt(shape: tuple) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _reshape_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    return x.with_shape(resolve_reshape(x.shape, ctx.attr("shape"), ctx.attr("allowzero")))


def _reshape_ref(ctx, x):
    spec = list(ctx.attr("shape"))
    if not ctx.attr("allowzero"):
        spec = [x.shape[i] if s == 0 else s for i, s in enumerate(spec)]
    return np.reshape(x, spec)


define_op(
    "zt.reshape",
    operands=("x",),
    attrs={"shape": "ints", "allowzero": ("bool", False)},
    traits=(PURE, VIEW),
    infer=_reshape_infer,
    reference=_reshape_ref,
    doc="Reshape to `shape` (ONNX rules: -1 inferred, 0 copies the input dim).",
)


def _perm(ctx: InferContext, rank: int) -> tuple[int, ...]:
    perm = ctx.attr("perm")
    if perm is None:
        return tuple(range(rank - 1, -1, -1))
    if sorted(perm) != list(range(rank)):
        raise InferError(f"perm {list(perm)} is not a permutation of {rank} axes")
    return tuple(perm)


def _transpose_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    return x.with_shape(tuple(x.shape[p] for p in _perm(ctx, x.rank)))


define_op(
    "zt.transpose",
    operands=("x",),
    attrs={"perm": ("ints", None)},
    traits=(PURE,),
    infer=_transpose_infer,
    reference=lambda ctx, x: np.transpose(x, ctx.attr("perm")).copy(),
    doc="Permute axes (default: reverse them).",
)
