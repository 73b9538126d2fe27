"""Canonical rules of data-movement ops: transposes, views, slicing, shape queries, ``_dyn``.

A shape op whose result has its operand's static type is the identity for most
of them (not for ``pad``, which can shift, nor ``slice`` with a negative step,
which reverses); with unknown dims equal types prove nothing (``tile`` of a
``?`` dim by 2 is still ``?``), so those folds need static types. ``reshape`` is
the exception: equal types imply the identity even with ``?`` dims, since each
result dim is a literal (equal to the input's), a copied input dim, or the one
inferred from the element count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from zenith.dialects.zt.canonical.common import PATTERNS, Consts, add_fold, same_type
from zenith.dialects.zt.shape import shape_of_bounds
from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Operation, Value
from zenith.ir.opdef import lookup
from zenith.ir.rewrite import FnPattern, PatternRewriter, constant_value, defining_op, pattern

# Ops whose result has the operand's elements in row-major order (operand 0 is the data).
VIEWS = ("zt.reshape", "zt.squeeze", "zt.unsqueeze", "zt.flatten", "zt.identity", "zt.reshape_dyn")
# Ops that are the identity when their result has their operand's static type.
STATIC_SAME_TYPE = ("zt.squeeze", "zt.unsqueeze", "zt.flatten", "zt.expand", "zt.tile",
                    "zt.reshape_dyn", "zt.expand_dyn", "zt.tile_dyn")


def perm_of(op: Operation) -> tuple[int, ...]:
    perm = op.attr("perm")
    rank = op.operand(0).type.rank
    return tuple(range(rank - 1, -1, -1)) if perm is None else tuple(perm)


def _fold_transpose(op: Operation, c: Consts) -> Any:
    if perm_of(op) == tuple(range(op.operand(0).type.rank)):
        return same_type(op.operand(0), op)
    return None


def _fold_reshape(op: Operation, c: Consts) -> Any:
    return same_type(op.operand(0), op)


def _fold_static_same_type(op: Operation, c: Consts) -> Any:
    x = op.operand(0)
    return x if x.type.is_static and x.type == op.results[0].type else None


def _fold_slice(op: Operation, c: Consts) -> Any:
    steps = op.attr("steps")
    if steps is not None and any(s < 0 for s in steps):
        return None
    return _fold_static_same_type(op, c)


def _fold_pad(op: Operation, c: Consts) -> Any:
    return same_type(op.operand(0), op) if not any(op.attr("pads")) else None


def _fold_single_operand(op: Operation, c: Consts) -> Any:
    """identity; concat of one input; split into one part."""
    if op.num_operands != 1 or len(op.results) != 1:
        return None
    return same_type(op.operand(0), op)


def _fold_shape_of(op: Operation, c: Consts) -> Any:
    t = op.operand(0).type
    s, e = shape_of_bounds(t.rank, op.attr("start"), op.attr("end"))
    dims = t.shape[s:e]
    if not all(isinstance(d, int) for d in dims):
        return None
    return np.array(dims, dtype=np.int64).reshape(len(dims))


def _fold_size(op: Operation, c: Consts) -> Any:
    n = op.operand(0).type.num_elements
    return None if n is None else np.array(n, dtype=np.int64)


add_fold(["zt.transpose"], _fold_transpose)
add_fold(["zt.reshape"], _fold_reshape)
add_fold(STATIC_SAME_TYPE, _fold_static_same_type)
add_fold(["zt.slice"], _fold_slice)
add_fold(["zt.pad"], _fold_pad)
add_fold(["zt.identity", "zt.concat", "zt.split"], _fold_single_operand)
add_fold(["zt.shape_of"], _fold_shape_of)
add_fold(["zt.size"], _fold_size)


@pattern("zt.transpose")
def transpose_of_transpose(op: Operation, rw: PatternRewriter) -> bool:
    """transpose(transpose(x, p), q) -> transpose(x, p[q]), or x if that is the identity."""
    inner = defining_op(op.operand(0), "zt.transpose")
    if inner is None:
        return False
    p, q = perm_of(inner), perm_of(op)
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


def view_of_view(op: Operation, rw: PatternRewriter) -> bool:
    """A view of a view is one reshape of the inner view's operand.

    reshape of reshape keeps the outer shape spec (so it works with symbolic
    dims) unless the spec copies dims with 0s; otherwise the result type must be
    static and becomes the spec.
    """
    inner = getattr(op.operand(0), "op", None)
    if inner is None or inner.name not in VIEWS:
        return False
    t = op.results[0].type
    if op.name == "zt.reshape" and inner.name == "zt.reshape" and (
            op.attr("allowzero") or 0 not in op.attr("shape")):
        spec, allowzero = tuple(op.attr("shape")), op.attr("allowzero")
    elif t.is_static:
        spec, allowzero = t.shape, 0 in t.shape
    else:
        return False
    new = rw.create_like(op, "zt.reshape", [inner.operand(0)], {"shape": spec, "allowzero": allowzero})
    if new is None:
        return False
    rw.replace_op(op, new)
    return True


def _scalar(a: np.ndarray) -> Any:
    if a.size != 1:
        return None
    v = a.reshape(-1)[0].item()
    return int(v) if isinstance(v, bool) else v


_ATTR_FROM_ARRAY: dict[str, Callable[[np.ndarray], Any]] = {
    "ints": lambda a: tuple(int(x) for x in a.reshape(-1)),
    "floats": lambda a: tuple(float(x) for x in a.reshape(-1)),
    "int": lambda a: _scalar(a) if a.dtype.kind in "iub" else None,
    "float": _scalar,
    "bool": lambda a: bool(a.reshape(-1)[0]) if a.size == 1 else None,
    "dense": DenseAttr,
}


def dyn_to_static(op: Operation, rw: PatternRewriter) -> bool:
    """``zt.X_dyn`` whose parameter operands are constants -> ``zt.X`` with attributes.

    Operands of the dynamic op named like an attribute of the static op become
    that attribute (ints as Python ints); the others must be the static op's
    operands, in order. A ``dtype`` attribute the dynamic op does not have is
    its result's dtype (``range_dyn`` -> ``range``).
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
    for name, spec in static.attrs.items():
        if spec.kind == "dtype" and name not in attrs and name not in dyn.attrs:
            attrs[name] = op.results[0].type.dtype
    new = rw.create_like(op, static.name, operands, attrs)
    if new is None:
        return False
    rw.replace_op(op, new)
    return True


PATTERNS.append(transpose_of_transpose)
PATTERNS += [FnPattern(view_of_view, name, name="view_of_view")
             for name in ("zt.reshape", "zt.squeeze", "zt.unsqueeze", "zt.flatten")]
