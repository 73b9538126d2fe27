"""Canonicalization of the ``zt`` dialect: folders and rewrite patterns, as tables.

Folders (``OpDef.fold``) return an existing value or a constant array; patterns
(``OpDef.canonical_patterns``) build new ops. ``arith`` holds the rules of
elementwise ops and casts, ``data`` those of data movement and shape queries.
Both are attached to the op definitions found in the registry; rules for ops
that do not exist are skipped. A fold only replaces an op by a value of exactly
its result type, so ``x + 0`` folds to ``x`` only when ``0`` does not broadcast
``x`` to a larger shape.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

# This package is imported with the zt op families (alphabetically, so early):
# import every sibling family first so the ops the rules attach to are registered.
_PARENT = __name__.rsplit(".", 1)[0]
for _m in pkgutil.iter_modules([str(Path(__file__).parent.parent)]):
    if _m.name != "canonical":
        importlib.import_module(f"{_PARENT}.{_m.name}")

from zenith.dialects.zt.canonical import arith, data  # noqa: E402
from zenith.dialects.zt.canonical.arith import constant_to_rhs, lossless  # noqa: E402
from zenith.dialects.zt.canonical.common import FOLDS, PATTERNS, Consts, Fold  # noqa: E402
from zenith.dialects.zt.canonical.data import dyn_to_static  # noqa: E402
from zenith.ir.opdef import COMMUTATIVE, REGISTRY, lookup  # noqa: E402
from zenith.ir.rewrite import FnPattern  # noqa: E402

__all__ = ["FOLDS", "PATTERNS", "arith", "attach", "data", "lossless"]


def _chain(folds: list[Fold]) -> Fold:
    def fold(op, consts: Consts) -> Any:
        for f in folds:
            out = f(op, consts)
            if out is not None:
                return out
        return None

    return fold


def attach() -> None:
    """Attach the folders and patterns to the registered zt ops (idempotent)."""
    for name, folds in FOLDS.items():
        od = lookup(name)
        if od is not None and od.fold is None:
            od.fold = _chain(folds)
    extra: list[FnPattern] = []
    for name, od in REGISTRY.items():
        if not name.startswith("zt."):
            continue
        if COMMUTATIVE in od.traits and od.min_operands == 2:
            extra.append(FnPattern(constant_to_rhs, name, benefit=2, name="constant_to_rhs"))
        if name.endswith("_dyn") and lookup(name[: -len("_dyn")]) is not None:
            extra.append(FnPattern(dyn_to_static, name, name="dyn_to_static"))
    for p in PATTERNS + extra:
        od = lookup(p.root) if p.root else None
        if od is not None and not any(q.name == p.name for q in od.canonical_patterns):
            od.canonical_patterns.append(p)


attach()
