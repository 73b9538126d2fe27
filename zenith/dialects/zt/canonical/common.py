"""Helpers and the rule tables shared by the zt canonicalization modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from zenith.ir.core import Operation, Value
from zenith.ir.rewrite import FnPattern

Consts = list[np.ndarray | None]
Fold = Callable[[Operation, Consts], Any]

# op name -> folders tried in order; patterns rooted at their op. Filled by the
# rule modules, attached to the op definitions by ``canonical.attach``.
FOLDS: dict[str, list[Fold]] = {}
PATTERNS: list[FnPattern] = []


def add_fold(names: Iterable[str], fn: Fold) -> None:
    for n in names:
        FOLDS.setdefault(n, []).append(fn)


def splat(c: np.ndarray | None, value: Any) -> bool:
    """Whether constant ``c`` is known and every element equals ``value``."""
    if c is None or c.dtype == object:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(c == value))


def is_exact(t) -> bool:
    """Integer or bool: dtypes where x*0 == 0 and x - x == 0 always hold."""
    return t.dtype.is_int or t.dtype.is_bool


def same_type(v: Value, op: Operation) -> Value | None:
    """``v`` if it has exactly ``op``'s result type (so it can stand in for it)."""
    return v if v.type == op.results[0].type else None


def filled(op: Operation, value: Any) -> np.ndarray | None:
    """A constant of ``op``'s (static) result type with every element ``value``."""
    t = op.results[0].type
    if not t.is_static:
        return None
    return np.full(t.shape, value, dtype=t.dtype.np_dtype)
