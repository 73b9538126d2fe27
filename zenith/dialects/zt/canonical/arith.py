"""Canonical rules of elementwise ops and casts (tables where a table will do).

Rules that would be wrong for floats (``x * 0`` is NaN for x = inf, ``x - x`` is
NaN for x = NaN) are restricted to integer and bool dtypes.
"""

from __future__ import annotations

from typing import Any

from zenith.dialects.zt.canonical.common import (
    PATTERNS,
    Consts,
    add_fold,
    filled,
    is_exact,
    same_type,
    splat,
)
from zenith.ir.core import Operation
from zenith.ir.dtypes import DType
from zenith.ir.opdef import COMMUTATIVE
from zenith.ir.rewrite import FnPattern, PatternRewriter, constant_value, defining_op, pattern

# op -> constant that makes ``x op c`` equal to x.
RIGHT_IDENTITY: dict[str, Any] = {
    "zt.add": 0, "zt.sub": 0, "zt.mul": 1, "zt.div": 1, "zt.pow": 1,
    "zt.and": True, "zt.or": False, "zt.xor": False,
    "zt.bitwise_or": 0, "zt.bitwise_xor": 0, "zt.shl": 0, "zt.shr": 0,
}
# op -> constant c with ``x op c == c`` (integer and bool dtypes only).
ABSORBING: dict[str, Any] = {"zt.mul": 0, "zt.bitwise_and": 0, "zt.and": False, "zt.or": True}
# ``x op x`` -> x
IDEMPOTENT_BINARY = ("zt.max", "zt.min", "zt.and", "zt.or", "zt.bitwise_and", "zt.bitwise_or")
# ``x op x`` -> constant (integer and bool dtypes only)
SELF_CONSTANT: dict[str, Any] = {
    "zt.sub": 0, "zt.xor": False, "zt.bitwise_xor": 0,
    "zt.eq": True, "zt.le": True, "zt.ge": True, "zt.ne": False, "zt.lt": False, "zt.gt": False,
}
INVOLUTIONS = ("zt.neg", "zt.not", "zt.bitwise_not")  # f(f(x)) -> x
IDEMPOTENT_UNARY = ("zt.abs", "zt.relu", "zt.floor", "zt.ceil", "zt.round", "zt.sign")  # f(f(x)) -> f(x)
# x + neg(y) -> x - y, x - neg(y) -> x + y
NEGATED_RHS = {"zt.add": "zt.sub", "zt.sub": "zt.add"}


def _fold_identity(op: Operation, c: Consts) -> Any:
    neutral = RIGHT_IDENTITY[op.name]
    lhs, rhs = op.operands
    if splat(c[1], neutral):
        return same_type(lhs, op)
    if op.has_trait(COMMUTATIVE) and splat(c[0], neutral):
        return same_type(rhs, op)
    return None


def _fold_absorbing(op: Operation, c: Consts) -> Any:
    if not is_exact(op.operand(0).type):
        return None
    value = ABSORBING[op.name]
    if splat(c[1], value) or splat(c[0], value):
        return filled(op, value)
    return None


def _fold_idempotent_binary(op: Operation, c: Consts) -> Any:
    lhs, rhs = op.operands
    return same_type(lhs, op) if lhs is rhs else None


def _fold_self_constant(op: Operation, c: Consts) -> Any:
    lhs, rhs = op.operands
    if lhs is rhs and is_exact(lhs.type):
        return filled(op, SELF_CONSTANT[op.name])
    return None


def _fold_involution(op: Operation, c: Consts) -> Any:
    inner = defining_op(op.operand(0), op.name)
    return same_type(inner.operand(0), op) if inner is not None else None


def _fold_idempotent_unary(op: Operation, c: Consts) -> Any:
    inner = defining_op(op.operand(0), op.name)
    return inner.result if inner is not None and inner.attributes == op.attributes else None


def _fold_cast(op: Operation, c: Consts) -> Any:
    """A cast to the operand's own dtype."""
    return same_type(op.operand(0), op)


def _fold_clip(op: Operation, c: Consts) -> Any:
    if op.attr("min") is None and op.attr("max") is None:
        return same_type(op.operand(0), op)
    return None


def _fold_where(op: Operation, c: Consts) -> Any:
    _, x, y = op.operands
    if x is y or splat(c[0], True):
        return same_type(x, op)
    if splat(c[0], False):
        return same_type(y, op)
    return None


add_fold(RIGHT_IDENTITY, _fold_identity)
add_fold(ABSORBING, _fold_absorbing)
add_fold(IDEMPOTENT_BINARY, _fold_idempotent_binary)
add_fold(SELF_CONSTANT, _fold_self_constant)
add_fold(INVOLUTIONS, _fold_involution)
add_fold(IDEMPOTENT_UNARY, _fold_idempotent_unary)
add_fold(["zt.cast"], _fold_cast)
add_fold(["zt.clip"], _fold_clip)
add_fold(["zt.where"], _fold_where)


_INT_TO_FLOAT_DIGITS = {"f16": 11, "bf16": 8, "f32": 24, "f64": 53}


def _int_bits(d: DType) -> int:
    return int(d.name[1:])


def lossless(a: DType, b: DType) -> bool:
    """Whether every value of dtype ``a`` converts to ``b`` exactly (conservative)."""
    if a is b:
        return True
    if a.is_bool:
        return b.kind in ("bool", "int", "uint", "float")
    if a.is_int and b.is_int:
        if a.kind == "int" and b.kind == "uint":
            return False
        extra = 1 if a.kind == "uint" and b.kind == "int" else 0
        return _int_bits(b) >= _int_bits(a) + extra
    if a.is_int and b.name in _INT_TO_FLOAT_DIGITS:
        return _int_bits(a) - (1 if a.kind == "int" else 0) <= _INT_TO_FLOAT_DIGITS[b.name]
    if a.is_float and b.name in ("f32", "f64"):
        return a.itemsize < b.itemsize
    return False


@pattern("zt.cast")
def cast_of_cast(op: Operation, rw: PatternRewriter) -> bool:
    """cast(cast(x: A -> B) -> C) -> cast(x: A -> C) when A -> B is lossless."""
    inner = defining_op(op.operand(0), "zt.cast")
    if inner is None:
        return False
    x = inner.operand(0)
    if not lossless(x.type.dtype, inner.result.type.dtype):
        return False
    if op.result.type == x.type:
        rw.replace_op(op, [x])
        return True
    new = rw.create_like(op, "zt.cast", [x], dict(op.attributes))
    if new is None:
        return False
    rw.replace_op(op, new)
    return True


@pattern("zt.abs")
def abs_of_neg(op: Operation, rw: PatternRewriter) -> bool:
    """abs(neg(x)) -> abs(x)."""
    inner = defining_op(op.operand(0), "zt.neg")
    if inner is None:
        return False
    rw.set_operand(op, 0, inner.operand(0))
    return True


def _negated_rhs(op: Operation, rw: PatternRewriter) -> bool:
    x, ny = op.operands
    neg = defining_op(ny, "zt.neg")
    if neg is None:
        return False
    new = rw.create_like(op, NEGATED_RHS[op.name], [x, neg.operand(0)])
    if new is None:
        return False
    rw.replace_op(op, new)
    return True


def constant_to_rhs(op: Operation, rw: PatternRewriter) -> bool:
    """Commutative ops put a constant operand last, so folds look at one side."""
    lhs, rhs = op.operands
    if constant_value(lhs) is None or constant_value(rhs) is not None:
        return False
    with rw.modify(op):
        op.set_operands([rhs, lhs])
    return True


PATTERNS += [cast_of_cast, abs_of_neg]
PATTERNS += [FnPattern(_negated_rhs, name, name="negated_rhs") for name in NEGATED_RHS]
