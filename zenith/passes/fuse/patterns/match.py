"""Matching helpers shared by the recognition patterns.

Decomposed subgraphs come in many orders (``0.5 * x * t``, ``x * t * 0.5``,
``(x * t) / 2``...), so products and sums are flattened: :func:`factors` gives
the non-constant factors of a product and the product of its scalar constants,
:func:`terms` the same for sums. A *scalar* constant is a ``zt.constant`` with
one element (any rank).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from zenith.ir.core import Operation, Value
from zenith.ir.dtypes import DType
from zenith.ir.rewrite import PatternRewriter, constant_value, defining_op
from zenith.tolerance import tolerance

MAX_DEPTH = 8


def scalar(v: Value) -> float | None:
    """The value of a one-element float or int constant, else None."""
    arr = constant_value(v)
    if arr is None or arr.size != 1 or arr.dtype.kind not in "fiu":
        return None
    return float(arr.reshape(-1)[0])


def constant_tolerance(dt: DType) -> float:
    """How far a constant may be from its exact value and still be recognised, relative.

    A tenth of the dtype's comparison tolerance (f32: 1e-5, f64: 1e-10): an exporter's
    rounding of sqrt(2) to f32 matches in an f32 graph, not in an f64 one.
    """
    return tolerance(dt.name)[0] / 10 or 1e-12


def close(a: float | None, b: float, rel: float) -> bool:
    return a is not None and math.isfinite(a) and abs(a - b) <= rel * abs(b)


def is_float(v: Value) -> bool:
    return v.type.dtype.is_float


def op_of(v: Value, *names: str) -> Operation | None:
    """The defining op of ``v`` if its name is one of ``names``."""
    op = defining_op(v)
    return op if op is not None and op.name in names else None


def _expandable(v: Value, top: bool) -> bool:
    """Inner ops of a product or sum are looked through only when nothing else reads them
    (so a shared operand such as the ``x`` of ``x * sigmoid(x)`` stays one factor)."""
    return top or v.num_uses == 1


def factors(v: Value, depth: int = MAX_DEPTH, top: bool = True) -> tuple[list[Value], float]:
    """Non-constant factors of a product tree rooted at ``v``, and its constant factor.

    Looks through ``zt.mul`` and division by a scalar constant (inner ones only when
    used once).
    """
    op = defining_op(v)
    if depth > 0 and op is not None and _expandable(v, top):
        if op.name == "zt.mul":
            out: list[Value] = []
            k = 1.0
            for o in op.operands:
                c = scalar(o)
                if c is not None:
                    k *= c
                    continue
                vals, kk = factors(o, depth - 1, top=False)
                out += vals
                k *= kk
            return out, k
        if op.name == "zt.div":
            c = scalar(op.operand(1))
            if c is not None and c != 0 and scalar(op.operand(0)) is None:
                vals, kk = factors(op.operand(0), depth - 1, top=False)
                return vals, kk / c
    return [v], 1.0


def terms(v: Value, depth: int = MAX_DEPTH, top: bool = True) -> tuple[list[Value], float]:
    """Non-constant terms of a sum tree rooted at ``v``, and its constant term.

    Looks through ``zt.add`` and subtraction of a scalar constant (inner ones only
    when used once).
    """
    op = defining_op(v)
    if depth > 0 and op is not None and _expandable(v, top):
        if op.name == "zt.add":
            out: list[Value] = []
            k = 0.0
            for o in op.operands:
                c = scalar(o)
                if c is not None:
                    k += c
                    continue
                vals, kk = terms(o, depth - 1, top=False)
                out += vals
                k += kk
            return out, k
        if op.name == "zt.sub":
            c = scalar(op.operand(1))
            if c is not None and scalar(op.operand(0)) is None:
                vals, kk = terms(op.operand(0), depth - 1, top=False)
                return vals, kk - c
    return [v], 0.0


def power_of(vals: list[Value], x: Value) -> int | None:
    """``n`` when the product of ``vals`` is ``x ** n`` (``x`` or ``pow(x, integer)``)."""
    n = 0
    for v in vals:
        if v is x:
            n += 1
            continue
        p = op_of(v, "zt.pow")
        e = scalar(p.operand(1)) if p is not None and p.operand(0) is x else None
        if e is None or e != int(e) or e < 1:
            return None
        n += int(e)
    return n


def square_of(v: Value) -> Value | None:
    """``x`` when ``v`` is ``x * x`` or ``pow(x, 2)``."""
    vals, k = factors(v, depth=1)
    if k != 1.0:
        return None
    if len(vals) == 2 and vals[0] is vals[1]:
        return vals[0]
    p = op_of(v, "zt.pow")
    if p is not None and scalar(p.operand(1)) == 2.0:
        return p.operand(0)
    return None


def split_pair(vals: list[Value], pred: Callable[[Value], bool]) -> tuple[Value, Value] | None:
    """For two values, (the one satisfying ``pred``, the other); None if neither or not two."""
    if len(vals) != 2:
        return None
    a, b = vals
    if pred(a):
        return a, b
    if pred(b):
        return b, a
    return None


def reduce_axes(op: Operation) -> tuple[int, ...] | None:
    """Normalized, sorted reduced axes of a keepdims reduction (None when not keepdims)."""
    if not op.attr("keepdims"):
        return None
    rank = op.operand(0).type.rank
    axes = op.attr("axes")
    if axes is None:
        return tuple(range(rank))
    return tuple(sorted({a % rank for a in axes})) if rank else None


def trailing_axis(axes: tuple[int, ...] | None, rank: int) -> int | None:
    """``k`` when ``axes`` are exactly ``k, k+1, ..., rank-1`` (and not empty)."""
    if not axes or axes != tuple(range(axes[0], rank)):
        return None
    return axes[0]


def reciprocal_sqrt_of(v: Value) -> Value | None:
    """``a`` when ``v`` is ``rsqrt(a)`` or ``reciprocal(sqrt(a))``."""
    op = op_of(v, "zt.rsqrt")
    if op is not None:
        return op.operand(0)
    op = op_of(v, "zt.reciprocal")
    inner = op_of(op.operand(0), "zt.sqrt") if op is not None else None
    return inner.operand(0) if inner is not None else None


def normalized(root: Operation) -> tuple[Value, Value] | None:
    """(numerator, a) for ``num / sqrt(a)``, ``num * rsqrt(a)`` or ``num * reciprocal(sqrt(a))``."""
    if root.name == "zt.div":
        den = op_of(root.operand(1), "zt.sqrt")
        return (root.operand(0), den.operand(0)) if den is not None else None
    if root.name == "zt.mul":
        for i in (0, 1):
            a = reciprocal_sqrt_of(root.operand(1 - i))
            if a is not None:
                return root.operand(i), a
    return None


def plus_epsilon(a: Value) -> tuple[Value, float] | None:
    """(v, eps) when ``a`` is ``v + eps`` with a scalar constant ``eps >= 0`` ((a, 0) for no add)."""
    vals, eps = terms(a, depth=1)
    if len(vals) != 1 or eps < 0:
        return None
    return vals[0], eps


def replace_with(root: Operation, rewriter: PatternRewriter, name: str, operands: list[Value],
                 attrs: dict[str, Any] | None = None, created: tuple[Value, ...] = ()) -> bool:
    """Replace ``root`` by a new ``name`` op if its type rule gives ``root``'s result types.

    On failure the helper ops the pattern made for the operands (``created``) are
    erased again, so a failed match leaves the IR as it found it.
    """
    new = rewriter.create_like(root, name, operands, attrs)
    if new is None:
        for v in reversed(created):
            if not v.has_uses and v.op.parent is not None:
                rewriter.erase_op(v.op)
        return False
    rewriter.replace_op(root, new)
    return True
