"""Layer norm and RMS norm from their decompositions, then their scale and bias.

- ``(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)`` over trailing axes
  ``k..rank-1`` (keepdims; the square as ``pow(d, 2)`` or ``d * d``; the division
  also as ``* rsqrt(...)`` or ``* reciprocal(sqrt(...))``) -> ``layer_norm(x, axis=k)``;
- ``x / sqrt(mean(x^2) + eps)`` (same spellings) -> ``rms_norm(x, axis=k)``;
- ``layer_norm(x) * g`` -> ``layer_norm(x, g)``, ``layer_norm(x, g) + b`` ->
  ``layer_norm(x, g, b)`` and ``rms_norm(x) * g`` -> ``rms_norm(x, g)`` when the norm
  has no other reader and ``g``/``b`` vary only along the normalized axes.

Epsilon must be added to the mean of squares, inside the square root; any other
placement is a different function and is left alone.
"""

from __future__ import annotations

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Operation, Value
from zenith.ir.rewrite import FnPattern, PatternRewriter, pattern
from zenith.passes.fuse.patterns.match import (
    is_float,
    normalized,
    op_of,
    plus_epsilon,
    reduce_axes,
    replace_with,
    square_of,
    trailing_axis,
)


def _mean_axes(v: Value, of: Value) -> tuple[int, ...] | None:
    """The (keepdims, normalized) axes when ``v`` is ``reduce_mean(of)``."""
    op = op_of(v, "zt.reduce_mean")
    if op is None or op.operand(0) is not of:
        return None
    return reduce_axes(op)


def _centered(d: Value) -> tuple[Value, tuple[int, ...]] | None:
    """(x, axes) when ``d`` is ``x - reduce_mean(x, axes)``."""
    sub = op_of(d, "zt.sub")
    if sub is None:
        return None
    x = sub.operand(0)
    axes = _mean_axes(sub.operand(1), x)
    return None if axes is None else (x, axes)


def _variance_parts(op: Operation) -> tuple[Value, Value, float, tuple[int, ...] | None] | None:
    """(numerator, square's base, eps, mean's axes) of ``num / sqrt(mean(sq) + eps)`` and its
    spellings."""
    if not is_float(op.result):
        return None
    got = normalized(op)
    if got is None:
        return None
    num, a = got
    pe = plus_epsilon(a)
    if pe is None:
        return None
    var, eps = pe
    mean = op_of(var, "zt.reduce_mean")
    base = square_of(mean.operand(0)) if mean is not None else None
    if base is None:
        return None
    return num, base, eps, reduce_axes(mean)


def _layer_norm(op: Operation, rewriter: PatternRewriter) -> bool:
    parts = _variance_parts(op)
    if parts is None:
        return False
    num, base, eps, var_axes = parts
    centered = _centered(num)
    if centered is None:
        return False
    x, axes = centered
    if base is not num and _centered(base) != centered:
        return False
    k = trailing_axis(axes, x.type.rank)
    if k is None or var_axes != axes:
        return False
    return replace_with(op, rewriter, "zt.layer_norm", [x], {"axis": k - x.type.rank, "epsilon": eps})


def _rms_norm(op: Operation, rewriter: PatternRewriter) -> bool:
    parts = _variance_parts(op)
    if parts is None:
        return False
    num, base, eps, axes = parts
    k = trailing_axis(axes, num.type.rank)
    if base is not num or k is None:
        return False
    return replace_with(op, rewriter, "zt.rms_norm", [num], {"axis": k - num.type.rank, "epsilon": eps})


layer_norm_div = FnPattern(_layer_norm, "zt.div", 3, "layer-norm")
layer_norm_mul = FnPattern(_layer_norm, "zt.mul", 3, "layer-norm")
rms_norm_div = FnPattern(_rms_norm, "zt.div", 2, "rms-norm")
rms_norm_mul = FnPattern(_rms_norm, "zt.mul", 2, "rms-norm")


def _along_normalized(p: Value, norm: Operation) -> bool:
    """``p`` has the norm's dtype and is 1 on every (right-aligned) axis before ``axis``."""
    x = norm.operand(0)
    if p.type.dtype is not x.type.dtype or p.type.rank > x.type.rank:
        return False
    axis = norm.attr("axis") % x.type.rank
    lead = x.type.rank - p.type.rank
    return all(d == 1 for i, d in enumerate(p.type.shape) if lead + i < axis)


def _sole_norm(v: Value, name: str, n_operands: int) -> Operation | None:
    op = op_of(v, name)
    if op is None or op.num_operands != n_operands or v.num_uses != 1:
        return None
    return op


def _absorb(op: Operation, rewriter: PatternRewriter, name: str, have: int) -> bool:
    for i in (0, 1):
        norm = _sole_norm(op.operand(i), name, have)
        p = op.operand(1 - i)
        if norm is not None and _along_normalized(p, norm):
            return replace_with(op, rewriter, name, [*norm.operands, p], norm.attributes)
    return False


@pattern("zt.mul", benefit=2, name="layer-norm-scale")
def layer_norm_scale(op: Operation, rewriter: PatternRewriter) -> bool:
    return _absorb(op, rewriter, "zt.layer_norm", 1)


@pattern("zt.mul", benefit=2, name="rms-norm-scale")
def rms_norm_scale(op: Operation, rewriter: PatternRewriter) -> bool:
    return _absorb(op, rewriter, "zt.rms_norm", 1)


@pattern("zt.add", benefit=2, name="layer-norm-bias")
def layer_norm_bias(op: Operation, rewriter: PatternRewriter) -> bool:
    if _absorb(op, rewriter, "zt.layer_norm", 2):
        return True
    for i in (0, 1):  # no scale yet: a scale of ones goes in front of the bias
        norm = _sole_norm(op.operand(i), "zt.layer_norm", 1)
        p = op.operand(1 - i)
        if norm is None or not _along_normalized(p, norm):
            continue
        x = norm.operand(0)
        shape = x.type.shape[norm.attr("axis") % x.type.rank:]
        if not all(isinstance(d, int) for d in shape):
            return False
        ones = rewriter.op("zt.constant", value=DenseAttr(np.ones(shape, x.type.dtype.np_dtype)))
        return replace_with(op, rewriter, "zt.layer_norm", [x, ones, p], norm.attributes)
    return False


PATTERNS = [layer_norm_div, layer_norm_mul, rms_norm_div, rms_norm_mul, layer_norm_scale, rms_norm_scale,
            layer_norm_bias]
