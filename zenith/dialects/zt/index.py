"""Gather and scatter ops: gather, gather_elements, gather_nd, scatter_elements, scatter_nd.

Semantics follow ONNX (Gather, GatherElements, GatherND, ScatterElements-18,
ScatterND-18). Indices may be negative (counting from the end of their axis); an
index outside [-n, n) is a run-time error naming the op, the axis and the value.
With reduction "none", duplicate scatter targets keep the last update (ONNX leaves
the choice to the implementation).
"""

from __future__ import annotations

import numpy as np

from zenith.dialects.shape_rules import (
    check_dims_match,
    format_shape,
    normalize_axis,
    require_int,
    same_dtype,
)
from zenith.ir.opdef import PURE, InferContext, InferError, define_op
from zenith.ir.types import Dim, TensorType

REDUCTIONS = ("none", "add", "mul", "max", "min")
_UFUNCS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def wrap_indices(idx: np.ndarray, n: int, what: str) -> np.ndarray:
    """Indices into a dim of ``n`` with negatives counted from the end; range-checked."""
    idx = idx.astype(np.int64)
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"index {int(idx[bad][0])} is out of range for {what} of size {n}")
    return np.where(idx < 0, idx + n, idx)


def _not_larger(a: Dim, b: Dim, what: str) -> None:
    if isinstance(a, int) and isinstance(b, int) and a > b:
        raise InferError(f"{what}: {a} > {b}")


def _reduction(ctx: InferContext) -> str:
    r = ctx.attr("reduction")
    if r not in REDUCTIONS:
        raise InferError(f"reduction '{r}' is not one of {', '.join(REDUCTIONS)}")
    return r


# -- gather ---------------------------------------------------------------------------


def _gather_infer(ctx: InferContext) -> TensorType:
    x, idx = ctx.operand_types
    require_int(idx, "indices")
    if x.rank == 0:
        raise InferError("cannot gather from a scalar")
    a = normalize_axis(ctx.attr("axis"), x.rank)
    return x.with_shape(x.shape[:a] + idx.shape + x.shape[a + 1:])


def _gather_ref(ctx, x, idx):
    a = normalize_axis(ctx.attr("axis"), x.ndim)
    return np.take(x, wrap_indices(idx, x.shape[a], f"axis {a}"), axis=a)


define_op(
    "zt.gather",
    operands=("x", "indices"),
    attrs={"axis": ("int", 0)},
    traits=(PURE,),
    infer=_gather_infer,
    reference=_gather_ref,
    doc="Pick entries of `axis` by `indices`: result dims are x's before axis, the "
        "indices' dims, then x's after axis.",
)

# -- gather_elements / scatter_elements -----------------------------------------------


def _elements_check(x: TensorType, idx: TensorType, axis: int, what: str) -> int:
    require_int(idx, "indices")
    if x.rank == 0:
        raise InferError(f"cannot {what} a scalar")
    if idx.rank != x.rank:
        raise InferError(f"indices {idx} must have the rank of the data {x}")
    a = normalize_axis(axis, x.rank)
    for d in range(x.rank):
        if d != a:
            _not_larger(idx.shape[d], x.shape[d], f"indices dim {d} exceeds the data's")
    return a


def _element_targets(idx: np.ndarray, n: int, axis: int) -> tuple[np.ndarray, ...]:
    """Full index arrays addressing x: idx along ``axis``, each position's own elsewhere."""
    grid = list(np.indices(idx.shape, sparse=True))
    grid[axis] = wrap_indices(idx, n, f"axis {axis}")
    return tuple(np.broadcast_arrays(*grid))


def _gather_elements_infer(ctx: InferContext) -> TensorType:
    x, idx = ctx.operand_types
    _elements_check(x, idx, ctx.attr("axis"), "gather from")
    return x.with_shape(idx.shape)


def _gather_elements_ref(ctx, x, idx):
    a = normalize_axis(ctx.attr("axis"), x.ndim)
    return x[_element_targets(idx, x.shape[a], a)]


define_op(
    "zt.gather_elements",
    operands=("x", "indices"),
    attrs={"axis": ("int", 0)},
    traits=(PURE,),
    infer=_gather_elements_infer,
    reference=_gather_elements_ref,
    doc="out[p] = x[p with its `axis` coordinate replaced by indices[p]]; result shaped "
        "like indices.",
)


def _scatter_elements_infer(ctx: InferContext) -> TensorType:
    x, idx, upd = ctx.operand_types
    same_dtype(ctx, [0, 2])
    _elements_check(x, idx, ctx.attr("axis"), "scatter into")
    if upd.rank != idx.rank:
        raise InferError(f"updates {upd} must have the shape of indices {idx}")
    for d, (i, u) in enumerate(zip(idx.shape, upd.shape)):
        check_dims_match(i, u, f"updates dim {d} differs from indices")
    _reduction(ctx)
    return x


def scatter(out: np.ndarray, targets: tuple[np.ndarray, ...], updates: np.ndarray, reduction: str
            ) -> np.ndarray:
    """Write or combine ``updates`` into ``out`` (a copy) at ``targets``, in place."""
    if reduction == "none":
        out[targets] = updates
    else:
        _UFUNCS[reduction].at(out, targets, updates)
    return out


def _scatter_elements_ref(ctx, x, idx, upd):
    a = normalize_axis(ctx.attr("axis"), x.ndim)
    return scatter(x.copy(), _element_targets(idx, x.shape[a], a), upd, ctx.attr("reduction"))


define_op(
    "zt.scatter_elements",
    operands=("x", "indices", "updates"),
    attrs={"axis": ("int", 0), "reduction": ("str", "none")},
    traits=(PURE,),
    infer=_scatter_elements_infer,
    reference=_scatter_elements_ref,
    doc="A copy of x where, for each position p of indices, the element at p with its "
        "`axis` coordinate replaced by indices[p] becomes (or is combined by `reduction` "
        "add/mul/max/min with) updates[p].",
)

# -- gather_nd / scatter_nd -----------------------------------------------------------


def _index_depth(idx: TensorType, limit: int, what: str) -> int:
    """k, the length of each index tuple (the indices' last dim); must be static."""
    require_int(idx, "indices")
    if idx.rank == 0:
        raise InferError("indices must have rank >= 1 (the last dim holds index tuples)")
    k = idx.shape[-1]
    if not isinstance(k, int):
        raise InferError(f"indices {idx} must have a static last dim: it decides the result's rank")
    if not 1 <= k <= limit:
        raise InferError(f"index tuples of length {k} do not fit {what} (expected 1 to {limit})")
    return k


def _nd_targets(x_shape: tuple[int, ...], idx: np.ndarray, first: int) -> tuple[np.ndarray, ...]:
    """Index arrays for dims first..first+k of x, one per tuple entry."""
    k = idx.shape[-1]
    return tuple(wrap_indices(idx[..., i], x_shape[first + i], f"axis {first + i}") for i in range(k))


def _gather_nd_infer(ctx: InferContext) -> TensorType:
    x, idx = ctx.operand_types
    b = ctx.attr("batch_dims")
    if not 0 <= b < min(x.rank, max(idx.rank, 1)):
        raise InferError(f"batch_dims {b} must be in [0, {min(x.rank, idx.rank) - 1}] "
                         f"for data {x} and indices {idx}")
    k = _index_depth(idx, x.rank - b, f"data {x} after {b} batch dims")
    for d in range(b):
        check_dims_match(idx.shape[d], x.shape[d], f"indices batch dim {d} differs from the data's")
    return x.with_shape(idx.shape[:-1] + x.shape[b + k:])


def _gather_nd_ref(ctx, x, idx):
    b = ctx.attr("batch_dims")
    k = idx.shape[-1]
    batch = int(np.prod(x.shape[:b], dtype=np.int64))
    xb = x.reshape((batch,) + x.shape[b:])
    ib = idx.reshape((batch,) + idx.shape[b:])
    rows = np.arange(batch).reshape((batch,) + (1,) * (ib.ndim - 2))
    out = xb[(rows,) + _nd_targets(xb.shape, ib, 1)]
    return out.reshape(idx.shape[:-1] + x.shape[b + k:])


define_op(
    "zt.gather_nd",
    operands=("x", "indices"),
    attrs={"batch_dims": ("int", 0)},
    traits=(PURE,),
    infer=_gather_nd_infer,
    reference=_gather_nd_ref,
    doc="ONNX GatherND: each index tuple (the indices' last dim, length k) picks a slice "
        "x[batch..., i1..ik, :]; result shape indices.shape[:-1] + x.shape[batch_dims + k:].",
)


def _scatter_nd_infer(ctx: InferContext) -> TensorType:
    x, idx, upd = ctx.operand_types
    same_dtype(ctx, [0, 2])
    k = _index_depth(idx, x.rank, f"data {x}")
    want = idx.shape[:-1] + x.shape[k:]
    if upd.rank != len(want):
        raise InferError(f"updates {upd} must have shape {format_shape(want)} "
                         "(indices.shape[:-1] + x.shape[k:])")
    for d, (w, u) in enumerate(zip(want, upd.shape)):
        check_dims_match(u, w, f"updates dim {d} differs from indices.shape[:-1] + x.shape[k:]")
    _reduction(ctx)
    return x


def _scatter_nd_ref(ctx, x, idx, upd):
    return scatter(x.copy(), _nd_targets(x.shape, idx, 0), upd, ctx.attr("reduction"))


define_op(
    "zt.scatter_nd",
    operands=("x", "indices", "updates"),
    attrs={"reduction": ("str", "none")},
    traits=(PURE,),
    infer=_scatter_nd_infer,
    reference=_scatter_nd_ref,
    doc="ONNX ScatterND: a copy of x whose slice at each index tuple becomes (or is "
        "combined by `reduction` add/mul/max/min with) the matching slice of updates.",
)
