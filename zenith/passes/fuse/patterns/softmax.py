"""Softmax and log-softmax from exp / sum along one axis.

- ``exp(t) / sum(exp(t), axis)`` (or ``* reciprocal(sum)``) -> ``softmax(x, axis)``,
  where ``t`` is ``x - max(x, axis)`` or ``x`` itself (the max only guards overflow);
- ``t - log(sum(exp(t), axis))`` -> ``log_softmax(x, axis)``, ``t`` as above.

The sum (and the max) must keep dims and reduce exactly one axis.
"""

from __future__ import annotations

from zenith.ir.core import Operation, Value
from zenith.ir.rewrite import FnPattern, PatternRewriter, pattern
from zenith.passes.fuse.patterns.match import is_float, op_of, reduce_axes, replace_with


def _shifted_input(t: Value, axes: tuple[int, ...]) -> Value:
    """``x`` when ``t`` is ``x - reduce_max(x, axes)``, else ``t``."""
    sub = op_of(t, "zt.sub")
    if sub is not None:
        mx = op_of(sub.operand(1), "zt.reduce_max")
        if mx is not None and mx.operand(0) is sub.operand(0) and reduce_axes(mx) == axes:
            return sub.operand(0)
    return t


def _sum_of_exp(s: Value) -> tuple[Operation, tuple[int, ...]] | None:
    """(the exp op, axes) when ``s`` is ``reduce_sum(exp(t))`` over one axis, keeping dims."""
    red = op_of(s, "zt.reduce_sum")
    if red is None:
        return None
    e = op_of(red.operand(0), "zt.exp")
    axes = reduce_axes(red)
    if e is None or axes is None or len(axes) != 1:
        return None
    return e, axes


def _softmax(op: Operation, rewriter: PatternRewriter) -> bool:
    if not is_float(op.result):
        return False
    if op.name == "zt.div":
        pairs = [(op.operand(0), op.operand(1))]
    else:
        pairs = []
        for i in (0, 1):
            rec = op_of(op.operand(1 - i), "zt.reciprocal")
            if rec is not None:
                pairs.append((op.operand(i), rec.operand(0)))
    for e, s in pairs:
        got = _sum_of_exp(s)
        if got is None or got[0].result is not e:
            continue
        exp, axes = got
        x = _shifted_input(exp.operand(0), axes)
        return replace_with(op, rewriter, "zt.softmax", [x], {"axis": axes[0] - x.type.rank})
    return False


softmax_div = FnPattern(_softmax, "zt.div", 2, "softmax")
softmax_mul = FnPattern(_softmax, "zt.mul", 2, "softmax")


@pattern("zt.sub", benefit=2, name="log-softmax")
def log_softmax(op: Operation, rewriter: PatternRewriter) -> bool:
    if not is_float(op.result):
        return False
    t, lg = op.operands
    log = op_of(lg, "zt.log")
    got = _sum_of_exp(log.operand(0)) if log is not None else None
    if got is None or got[0].operand(0) is not t:
        return False
    x = _shifted_input(t, got[1])
    return replace_with(op, rewriter, "zt.log_softmax", [x], {"axis": got[1][0] - x.type.rank})


PATTERNS = [softmax_div, softmax_mul, log_softmax]
