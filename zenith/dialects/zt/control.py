"""Structured control flow: ``zt.if`` and ``zt.loop`` with regions, ``zt.yield``.

Regions may read values defined outside them. ``zt.if`` runs one of its two
regions; ``zt.loop`` has ONNX Loop semantics: the body gets the iteration number
(i64 scalar), the loop condition (bool scalar) and the carried values, and
yields the next condition, the next carried values and one value per scan
output; the results are the final carried values and the scan outputs stacked
along a new leading axis.
"""

from __future__ import annotations

import numpy as np

from zenith.ir.core import Operation
from zenith.ir.dtypes import boolean, i64
from zenith.ir.opdef import PURE, TERMINATOR, define_op
from zenith.ir.types import TensorType, types_compatible

define_op(
    "zt.yield",
    operands=("values*",),
    results=0,
    traits=(TERMINATOR, PURE),
    doc="Return values from a region of zt.if or zt.loop.",
)


def _yield_types(op: Operation, index: int) -> list[TensorType] | str:
    region = op.regions[index]
    if len(region.blocks) != 1:
        return f"region #{index} must have one block"
    last = region.blocks[0].last
    if last is None or last.name != "zt.yield":
        return f"region #{index} must end with zt.yield"
    return [v.type for v in last.operands]


def _scalar_of(t: TensorType, dt) -> bool:
    """One element of dtype ``dt`` (dims that are not static are checked at run time)."""
    return t.dtype is dt and all(d == 1 for d in t.shape if isinstance(d, int))


def _one(arr: np.ndarray, what: str):
    a = np.asarray(arr)
    if a.size != 1:
        raise ValueError(f"{what} must have one element, got shape {a.shape}")
    return a.reshape(-1)[0]


def _if_verify(op: Operation) -> str | None:
    cond = op.operand(0).type
    if not _scalar_of(cond, boolean):
        return f"condition must be a one-element bool tensor, got {cond}"
    for r in range(2):
        if op.regions[r].blocks and op.regions[r].blocks[0].args:
            return f"region #{r} must take no arguments"
        ys = _yield_types(op, r)
        if isinstance(ys, str):
            return ys
        if len(ys) != len(op.results):
            return f"region #{r} yields {len(ys)} values, op has {len(op.results)} results"
        for i, (y, res) in enumerate(zip(ys, op.result_types)):
            if not types_compatible(y, res):
                return f"region #{r} yields {y} as result #{i}, which has type {res}"
    return None


def _if_ref(ctx, cond):
    outs = ctx.run_region(0 if bool(_one(cond, "the condition")) else 1)
    return tuple(outs)


define_op(
    "zt.if",
    operands=("cond",),
    results=None,
    regions=2,
    traits=(PURE,),
    verify=_if_verify,
    reference=_if_ref,
    doc="Run region 0 (then) or region 1 (else) by a one-element bool condition; "
        "the results are what the region yields.",
)


def _loop_verify(op: Operation) -> str | None:
    trip, cond = op.operand(0).type, op.operand(1).type
    if not _scalar_of(trip, i64):
        return f"max_trip must be a one-element i64 tensor, got {trip}"
    if not _scalar_of(cond, boolean):
        return f"cond must be a one-element bool tensor, got {cond}"
    carried = [v.type for v in op.operands[2:]]
    n = len(carried)
    body = op.regions[0]
    if len(body.blocks) != 1:
        return "body must have one block"
    args = [a.type for a in body.blocks[0].args]
    if len(args) != n + 2 or not _scalar_of(args[0], i64) or not _scalar_of(args[1], boolean):
        return "body must take (i64 iteration, bool condition, carried values...)"
    ys = _yield_types(op, 0)
    if isinstance(ys, str):
        return ys
    if len(ys) < n + 1 or not _scalar_of(ys[0], boolean):
        return "body must yield (bool condition, carried values..., scan values...)"
    if len(op.results) != len(ys) - 1:
        return f"op has {len(op.results)} results, body yields {len(ys) - 1} values after cond"
    for i in range(n):
        for what, t in (("initial value", carried[i]), ("yielded value", ys[1 + i]),
                        ("result", op.result_types[i])):
            if not types_compatible(args[2 + i], t):
                return f"carried value #{i}: body argument {args[2 + i]} but {what} {t}"
    for k, (y, res) in enumerate(zip(ys[1 + n:], op.result_types[n:])):
        if res.rank != y.rank + 1 or res.dtype is not y.dtype:
            return f"scan output #{k}: body yields {y}, result {res} must add a leading dim"
    return None


def _loop_ref(ctx, max_trip, cond, *carried):
    n = len(carried)
    limit = int(_one(max_trip, "max_trip"))
    go = bool(_one(cond, "cond"))
    vals = list(carried)
    scan_types = ctx.result_types[n:]
    scans: list[list[np.ndarray]] = [[] for _ in scan_types]
    i = 0
    while i < limit and go:
        outs = ctx.run_region(0, np.array(i, np.int64), np.array(go), *vals)
        go = bool(_one(outs[0], "the yielded condition"))
        vals = list(outs[1:1 + n])
        for k, s in enumerate(outs[1 + n:]):
            scans[k].append(np.asarray(s))
        i += 1
    stacked = []
    probe = None
    for k, (t, s) in enumerate(zip(scan_types, scans)):
        if s:
            stacked.append(np.stack(s))
            continue
        dims = t.shape[1:]
        if not all(isinstance(d, int) for d in dims):
            # No iteration ran and the type does not say the slice shape: run the body once
            # on the initial values to learn it (the body is pure).
            if probe is None:
                probe = ctx.run_region(0, np.array(0, np.int64), np.array(True), *carried)
            dims = np.shape(probe[1 + n + k])
        stacked.append(np.zeros((0,) + tuple(dims), t.dtype.np_dtype))
    return tuple(vals + stacked)


define_op(
    "zt.loop",
    operands=("max_trip", "cond", "carried*"),
    results=None,
    regions=1,
    traits=(PURE,),
    verify=_loop_verify,
    reference=_loop_ref,
    doc="ONNX Loop: iterate while i < max_trip and cond; results are the final carried "
        "values, then the scan values stacked along a new leading axis.",
)
