"""Canonicalization of the ``zt`` dialect: folders and rewrite patterns, as tables.

Folders (``OpDef.fold``) return an existing value or a constant array; patterns
(``OpDef.canonical_patterns``) build new ops. Both are attached to the op
definitions found in the registry; rules for ops that do not exist (yet) are
skipped. A fold only replaces an op by a value of exactly its result type, so
``x + 0`` folds to ``x`` only when ``0`` does not broadcast ``x`` to a larger shape.

Rules that would be wrong for floats (``x * 0`` is NaN for x = inf, ``x - x`` is
NaN for x = NaN) are restricted to integer and bool dtypes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Operation, Value
from zenith.ir.dtypes import DType
from zenith.ir.opdef import COMMUTATIVE, REGISTRY, lookup
from zenith.ir.rewrite import FnPattern, PatternRewriter, constant_value, defining_op, pattern

# This module is imported with the other zt families (alphabetically, so early):
# import every sibling first so the ops it attaches to are registered.
for _m in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _m.name != __name__.rsplit(".", 1)[1]:
        importlib.import_module(f"{__name__.rsplit('.', 1)[0]}.{_m.name}")

Consts = list[np.ndarray | None]
Fold = Callable[[Operation, Consts], Any]


def _splat(c: np.ndarray | None, value: Any) -> bool:
    """Whether constant ``c`` is known and every element equals ``value``."""
    if c is None or c.dtype == object:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(c == value))


def _is_exact(t) -> bool:
    """Integer or bool: dtypes where x*0 == 0 and x - x == 0 always hold."""
    return t.dtype.is_int or t.dtype.is_bool


def _same_type(v: Value, op: Operation) -> Value | None:
    """``v`` if it has exactly ``op``'s result type (so it can stand in for it)."""
    return v if v.type == op.results[0].type else None


def _filled(op: Operation, value: Any) -> np.ndarray | None:
    t = op.results[0].type
    if not t.is_static:
        return None
    return np.full(t.shape, value, dtype=t.dtype.np_dtype)


# -- binary ops with a neutral or absorbing constant ------------------------------

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


def _fold_identity(op: Operation, c: Consts) -> Any:
    neutral = RIGHT_IDENTITY[op.name]
    lhs, rhs = op.operands
    if _splat(c[1], neutral):
        return _same_type(lhs, op)
    if op.has_trait(COMMUTATIVE) and _splat(c[0], neutral):
        return _same_type(rhs, op)
    return None


def _fold_absorbing(op: Operation, c: Consts) -> Any:
    if not _is_exact(op.operand(0).type):
        return None
    value = ABSORBING[op.name]
    if _splat(c[1], value) or _splat(c[0], value):
        return _filled(op, value)
    return None


def _fold_idempotent_binary(op: Operation, c: Consts) -> Any:
    lhs, rhs = op.operands
    return _same_type(lhs, op) if lhs is rhs else None


def _fold_self_constant(op: Operation, c: Consts) -> Any:
    lhs, rhs = op.operands
    if lhs is rhs and _is_exact(lhs.type):
        return _filled(op, SELF_CONSTANT[op.name])
    return None


# -- unary ops -----------------------------------------------------------------------

INVOLUTIONS = ("zt.neg", "zt.not", "zt.bitwise_not")  # f(f(x)) -> x
IDEMPOTENT_UNARY = ("zt.abs", "zt.relu", "zt.floor", "zt.ceil", "zt.round", "zt.sign")  # f(f(x)) -> f(x)


def _fold_involution(op: Operation, c: Consts) -> Any:
    inner = defining_op(op.operand(0), op.name)
    return _same_type(inner.operand(0), op) if inner is not None else None


def _fold_idempotent_unary(op: Operation, c: Consts) -> Any:
    inner = defining_op(op.operand(0), op.name)
    return inner.result if inner is not None and inner.attributes == op.attributes else None


# -- shape and dtype ops ---------------------------------------------------------------

def _perm(op: Operation) -> tuple[int, ...]:
    perm = op.attr("perm")
    rank = op.operand(0).type.rank
    return tuple(range(rank - 1, -1, -1)) if perm is None else tuple(perm)


def _fold_transpose(op: Operation, c: Consts) -> Any:
    if _perm(op) == tuple(range(op.operand(0).type.rank)):
        return _same_type(op.operand(0), op)
    return None


def _fold_same_type(op: Operation, c: Consts) -> Any:
    """reshape to the same shape, cast to the same dtype: the operand itself.

    For reshape, equal types imply an identity even with ``?`` dims: a result dim
    is a literal (equal to the input's), a copied input dim, or the one inferred.
    """
    return _same_type(op.operand(0), op)


def _fold_clip(op: Operation, c: Consts) -> Any:
    if op.attr("min") is None and op.attr("max") is None:
        return _same_type(op.operand(0), op)
    return None


def _fold_where(op: Operation, c: Consts) -> Any:
    _, x, y = op.operands
    if x is y:
        return _same_type(x, op)
    if _splat(c[0], True):
        return _same_type(x, op)
    if _splat(c[0], False):
        return _same_type(y, op)
    return None


FOLDS: dict[str, list[Fold]] = {}


def _add_fold(names, fn: Fold) -> None:
    for n in names:
        FOLDS.setdefault(n, []).append(fn)


_add_fold(RIGHT_IDENTITY, _fold_identity)
_add_fold(ABSORBING, _fold_absorbing)
_add_fold(IDEMPOTENT_BINARY, _fold_idempotent_binary)
_add_fold(SELF_CONSTANT, _fold_self_constant)
_add_fold(INVOLUTIONS, _fold_involution)
_add_fold(IDEMPOTENT_UNARY, _fold_idempotent_unary)
_add_fold(["zt.transpose"], _fold_transpose)
_add_fold(["zt.reshape", "zt.cast"], _fold_same_type)
_add_fold(["zt.clip"], _fold_clip)
_add_fold(["zt.where"], _fold_where)


# -- patterns ----------------------------------------------------------------------------

@pattern("zt.transpose")
def transpose_of_transpose(op: Operation, rw: PatternRewriter) -> bool:
    """transpose(transpose(x, p), q) -> transpose(x, p[q]), or x if that is the identity."""
    inner = defining_op(op.operand(0), "zt.transpose")
    if inner is None:
        return False
    p, q = _perm(inner), _perm(op)
    composed = tuple(p[i] for i in q)
    x = inner.operand(0)
    if composed == tuple(range(len(composed))) and x.type == op.result.type:
        rw.replace_op(op, [x])
        return True
    new = rw.create_like(op, "zt.transpose", [x], {"perm": composed})
    if new is None:
        return False
    rw.replace_op(op, new)
    return True


@pattern("zt.reshape")
def reshape_of_reshape(op: Operation, rw: PatternRewriter) -> bool:
    """reshape(reshape(x, a), b) -> reshape(x, b) (b's 0s resolved from the static result)."""
    inner = defining_op(op.operand(0), "zt.reshape")
    if inner is None:
        return False
    spec, allowzero = tuple(op.attr("shape")), op.attr("allowzero")
    if 0 in spec and not allowzero:  # a 0 copies a dim of the inner result, not of x
        t = op.result.type
        if not t.is_static:
            return False
        spec, allowzero = t.shape, 0 in t.shape
    new = rw.create_like(op, "zt.reshape", [inner.operand(0)], {"shape": spec, "allowzero": allowzero})
    if new is None:
        return False
    rw.replace_op(op, new)
    return True


_FLOAT_WIDE = ("f32", "f64")


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
    if a.is_int and b.name in ("f16", "bf16", "f32", "f64"):
        digits = {"f16": 11, "bf16": 8, "f32": 24, "f64": 53}[b.name]
        return _int_bits(a) - (1 if a.kind == "int" else 0) <= digits
    if a.is_float and b.name in _FLOAT_WIDE:
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


# (op, negated-operand op) -> replacement: x + neg(y) -> x - y, x - neg(y) -> x + y
NEGATED_RHS = {"zt.add": "zt.sub", "zt.sub": "zt.add"}


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


def _constant_to_rhs(op: Operation, rw: PatternRewriter) -> bool:
    """Commutative ops put a constant operand last, so folds look at one side."""
    lhs, rhs = op.operands
    if constant_value(lhs) is None or constant_value(rhs) is not None:
        return False
    with rw.modify(op):
        op.set_operands([rhs, lhs])
    return True


_ATTR_FROM_ARRAY: dict[str, Callable[[np.ndarray], Any]] = {
    "ints": lambda a: tuple(int(x) for x in a.reshape(-1)),
    "floats": lambda a: tuple(float(x) for x in a.reshape(-1)),
    "int": lambda a: int(a.reshape(-1)[0]) if a.size == 1 else None,
    "float": lambda a: float(a.reshape(-1)[0]) if a.size == 1 else None,
    "bool": lambda a: bool(a.reshape(-1)[0]) if a.size == 1 else None,
    "dense": DenseAttr,
}


def _dyn_to_static(op: Operation, rw: PatternRewriter) -> bool:
    """``zt.X_dyn`` whose parameter operands are constants -> ``zt.X`` with attributes.

    Operands of the dynamic op named like an attribute of the static op become
    that attribute; the others must be the static op's operands, in order.
    """
    dyn, static = op.opdef, lookup(op.name[: -len("_dyn")])
    if dyn is None or static is None or any(n.endswith("*") for n in dyn.operands):
        return False
    present = [n.rstrip("?") for n in dyn.operands][: op.num_operands]
    operands: list[Value] = []
    attrs = dict(op.attributes)
    for name, v in zip(present, op.operands):
        spec = static.attrs.get(name)
        if spec is None:
            operands.append(v)
            continue
        c = constant_value(v)
        conv = _ATTR_FROM_ARRAY.get(spec.kind)
        value = conv(c) if c is not None and conv is not None else None
        if value is None:
            return False
        attrs[name] = value
    kept = [n for n in present if n not in static.attrs]
    if kept != [n.rstrip("?") for n in static.operands][: len(kept)]:
        return False
    new = rw.create_like(op, static.name, operands, attrs)
    if new is None:
        return False
    rw.replace_op(op, new)
    return True


PATTERNS: list[FnPattern] = [transpose_of_transpose, reshape_of_reshape, cast_of_cast, abs_of_neg]
PATTERNS += [FnPattern(_negated_rhs, name, name="negated_rhs") for name in NEGATED_RHS]


def _chain(folds: list[Fold]) -> Fold:
    def fold(op: Operation, consts: Consts) -> Any:
        for f in folds:
            out = f(op, consts)
            if out is not None:
                return out
        return None

    return fold


def attach() -> None:
    """Attach the folders and patterns above to the registered ops (idempotent)."""
    for name, folds in FOLDS.items():
        od = lookup(name)
        if od is not None and od.fold is None:
            od.fold = _chain(folds)
    extra: list[FnPattern] = []
    for name, od in REGISTRY.items():
        if not name.startswith("zt."):
            continue
        if COMMUTATIVE in od.traits and od.min_operands == 2:
            extra.append(FnPattern(_constant_to_rhs, name, benefit=2, name="constant_to_rhs"))
        if name.endswith("_dyn") and lookup(name[: -len("_dyn")]) is not None:
            extra.append(FnPattern(_dyn_to_static, name, name="dyn_to_static"))
    for p in PATTERNS + extra:
        od = lookup(p.root) if p.root else None
        if od is not None and not any(q.name == p.name for q in od.canonical_patterns):
            od.canonical_patterns.append(p)


attach()
