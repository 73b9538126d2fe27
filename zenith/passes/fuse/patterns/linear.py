"""Matmul with a bias into ``zt.linear`` (weight [out, in]) or ``zt.gemm``.

- ``matmul(x, transpose(W))`` with a 2-D ``W`` -> ``linear(x, W)`` (the transpose is
  folded away: ``W`` already has the [out, in] layout);
- ``linear(x, W) + b`` -> ``linear(x, W, b)``;
- ``matmul(x, W) + b`` with a constant 2-D ``W`` [in, out] -> ``linear(x, W^T, b)``,
  ``W^T`` a new constant made once per weight (a weight shared by several matmuls
  is transposed once);
- ``matmul(x, W) + b`` with a non-constant ``W`` and a 2-D ``x`` -> ``gemm(x, W, b)``.

``b`` must be a bias: 1-D [out], or [1, ..., 1, out] (then reshaped, a free view
or a new constant). Float dtypes only.
"""

from __future__ import annotations

from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Operation, Value
from zenith.ir.rewrite import PatternRewriter, RewritePattern, constant_value, pattern
from zenith.passes.fuse.patterns.match import is_float, op_of, replace_with


def _weight_of_transpose(w: Value) -> Value | None:
    """``W`` when ``w`` is ``transpose(W)`` of a 2-D ``W``."""
    t = op_of(w, "zt.transpose")
    if t is None or t.operand(0).type.rank != 2 or tuple(t.attr("perm") or (1, 0)) != (1, 0):
        return None
    return t.operand(0)


@pattern("zt.matmul", benefit=2, name="linear-transposed-weight")
def linear_transposed_weight(op: Operation, rewriter: PatternRewriter) -> bool:
    x, w = op.operands
    if not is_float(op.result) or x.type.rank < 1:
        return False
    weight = _weight_of_transpose(w)
    if weight is None:
        return False
    return replace_with(op, rewriter, "zt.linear", [x, weight])


def _bias_like(b: Value, out: Value) -> bool:
    """``b`` is [out] or [1, ..., 1, out] of ``out``'s dtype, and no larger than ``out``."""
    t, o = b.type, out.type
    return (1 <= t.rank <= o.rank and t.shape[-1] == o.shape[-1] and t.dtype is o.dtype
            and all(d == 1 for d in t.shape[:-1]) and (t.rank == 1 or isinstance(t.shape[-1], int)))


def _bias(b: Value, rewriter: PatternRewriter) -> tuple[Value, tuple[Value, ...]]:
    """A bias-like ``b`` as a 1-D vector, and the ops made for it (a constant or a view)."""
    if b.type.rank == 1:
        return b, ()
    n = b.type.shape[-1]
    arr = constant_value(b)
    v = rewriter.op("zt.constant", value=DenseAttr(arr.reshape(n))) if arr is not None \
        else rewriter.op("zt.reshape", b, shape=(n,))
    return v, (v,)


def _anchor_and_bias(op: Operation, name: str) -> list[tuple[Operation, Value]]:
    """(anchor, bias) pairs of an add whose anchor operand has no other reader."""
    out = []
    for i in (0, 1):
        a = op_of(op.operand(i), name)
        b = op.operand(1 - i)
        if a is not None and a.result.num_uses == 1 and _bias_like(b, a.result):
            out.append((a, b))
    return out


@pattern("zt.add", benefit=2, name="linear-bias")
def linear_bias(op: Operation, rewriter: PatternRewriter) -> bool:
    if not is_float(op.result):
        return False
    for lin, b in _anchor_and_bias(op, "zt.linear"):
        if lin.num_operands == 2:
            bias, made = _bias(b, rewriter)
            return replace_with(op, rewriter, "zt.linear", [*lin.operands, bias], created=made)
    return False


class MatmulBias(RewritePattern):
    """``matmul(x, W) + b`` -> ``linear(x, W^T, b)`` (constant W) or ``gemm(x, W, b)``."""

    root = "zt.add"
    benefit = 1

    def __init__(self) -> None:
        self._transposed: dict[Operation, Value] = {}

    @property
    def name(self) -> str:
        return "matmul-bias"

    def _transpose_const(self, w: Value, rewriter: PatternRewriter) -> Value:
        src = w.op
        got = self._transposed.get(src)
        if got is not None and got.op.parent is src.parent:
            return got
        arr = constant_value(w)
        rewriter.set_insertion_point_before(src.next)  # beside the original: dominates every use
        new = rewriter.op("zt.constant", value=DenseAttr(arr.T.copy()))
        self._transposed[src] = new
        return new

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> bool:
        if not is_float(op.result):
            return False
        for mm, b in _anchor_and_bias(op, "zt.matmul"):
            x, w = mm.operands
            if w.type.rank != 2 or x.type.rank < 1:
                continue
            if constant_value(w) is None:
                if x.type.rank != 2:
                    continue
                bias, made = _bias(b, rewriter)
                return replace_with(op, rewriter, "zt.gemm", [x, w, bias], created=made)
            bias, made = _bias(b, rewriter)
            fresh = w.op not in self._transposed
            wt = self._transpose_const(w, rewriter)
            rewriter.set_insertion_point_before(op)
            made += (wt,) if fresh else ()
            if replace_with(op, rewriter, "zt.linear", [x, wt, bias], created=made):
                return True
            if fresh:
                del self._transposed[w.op]
            return False
        return False


def patterns() -> list[RewritePattern]:
    return [linear_transposed_weight, linear_bias, MatmulBias()]
