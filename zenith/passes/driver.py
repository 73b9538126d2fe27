"""The greedy worklist driver: applies folders and patterns until nothing changes.

Every op under the root starts on the worklist (in program order). Popping an op
the driver, in order:

1. erases it if it is trivially dead (pure, not a terminator, results unused);
2. calls its op definition's ``fold`` hook (constant operands passed as arrays)
   and replaces it by what the folder returns;
3. tries the patterns for its name, highest benefit first, until one applies.

Whatever a rewrite touches goes back on the worklist: new ops, users of replaced
values, modified ops, and the defining ops of an erased op's operands (they may
have just died). When the worklist runs dry the driver sweeps all ops again;
it has converged when a sweep changes nothing. ``max_iterations`` caps the
sweeps and ``max_rewrites`` the total rewrites (so a cycle of patterns ends);
hitting either cap reports ``converged=False``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Operation, Value
from zenith.ir.opdef import CONSTANT_LIKE, PURE, TERMINATOR
from zenith.ir.rewrite import PatternRewriter, RewriteListener, RewritePattern, constant_value
from zenith.ir.types import TensorType

CONSTANT_OP = "zt.constant"
# Default rewrite budget: per op present at the start, plus a floor.
REWRITES_PER_OP = 32
MIN_REWRITES = 1000


@dataclass
class DriverResult:
    """What a greedy run did; ``converged`` is False when a cap stopped it."""

    converged: bool
    iterations: int = 0
    patterns_applied: int = 0
    folds: int = 0
    ops_erased: int = 0
    ops_created: int = 0
    applied_by_pattern: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.patterns_applied or self.folds or self.ops_erased)


def is_trivially_dead(op: Operation) -> bool:
    """Pure, not a terminator, and no result is used."""
    if not op.has_trait(PURE) or op.has_trait(TERMINATOR):
        return False
    return not any(r.has_uses for r in op.results)


def materialize_constant(rewriter: PatternRewriter, array: np.ndarray, type: TensorType) -> Value | None:
    """A constant op holding ``array`` as ``type`` (None if they do not agree)."""
    arr = np.asarray(array)
    if tuple(arr.shape) != type.shape:
        return None
    if arr.dtype != type.dtype.np_dtype:
        arr = arr.astype(type.dtype.np_dtype)
    return rewriter.create(CONSTANT_OP, [], {"value": DenseAttr(arr, type.dtype)}).result


class _Worklist:
    """A LIFO stack of ops with O(1) membership; removal is lazy."""

    def __init__(self) -> None:
        self._stack: list[Operation] = []
        self._members: set[Operation] = set()

    def push(self, op: Operation) -> None:
        if op not in self._members:
            self._members.add(op)
            self._stack.append(op)

    def remove(self, op: Operation) -> None:
        self._members.discard(op)

    def pop(self) -> Operation | None:
        while self._stack:
            op = self._stack.pop()
            if op in self._members:
                self._members.remove(op)
                return op
        return None


class _DriverListener(RewriteListener):
    def __init__(self, worklist: _Worklist, result: DriverResult) -> None:
        self.worklist = worklist
        self.result = result

    def notify_op_inserted(self, op: Operation) -> None:
        self.result.ops_created += 1
        self.worklist.push(op)

    def notify_op_erased(self, op: Operation) -> None:
        self.result.ops_erased += 1
        self.worklist.remove(op)
        for v in op.operands:
            d = getattr(v, "op", None)
            if d is not None and d.parent is not None:
                self.worklist.push(d)

    def notify_op_replaced(self, op: Operation, new_values: Sequence[Value]) -> None:
        for r in op.results:
            for user in r.users:
                self.worklist.push(user)

    def notify_op_modified(self, op: Operation) -> None:
        self.worklist.push(op)


class PatternSet:
    """Patterns indexed by root op name, each list ordered by decreasing benefit."""

    def __init__(self, patterns: Iterable[RewritePattern]) -> None:
        self.patterns = list(patterns)
        self._specific: dict[str, list[RewritePattern]] = {}
        self._generic: list[RewritePattern] = []
        for p in self.patterns:
            if p.root is None:
                self._generic.append(p)
            else:
                self._specific.setdefault(p.root, []).append(p)
        self._cache: dict[str, list[RewritePattern]] = {}

    def for_op(self, name: str) -> list[RewritePattern]:
        got = self._cache.get(name)
        if got is None:
            both = self._specific.get(name, []) + self._generic
            # Stable sort: equal benefits keep registration order.
            got = self._cache[name] = sorted(both, key=lambda p: -p.benefit)
        return got


def apply_patterns_greedily(
    root: Operation,
    patterns: Iterable[RewritePattern] | PatternSet,
    *,
    fold: bool = True,
    erase_dead: bool = True,
    max_iterations: int = 10,
    max_rewrites: int | None = None,
    listeners: Sequence[RewriteListener] = (),
) -> DriverResult:
    """Rewrite the ops nested under ``root`` to a fixpoint (or until a cap)."""
    pset = patterns if isinstance(patterns, PatternSet) else PatternSet(patterns)
    result = DriverResult(converged=False)
    worklist = _Worklist()
    rewriter = PatternRewriter([_DriverListener(worklist, result), *listeners])
    budget = max_rewrites
    rewrites = 0
    for _ in range(max_iterations):
        result.iterations += 1
        ops = [op for op in root.walk() if op is not root]
        if budget is None:
            budget = max(MIN_REWRITES, REWRITES_PER_OP * len(ops))
        for op in reversed(ops):
            worklist.push(op)
        changed = False
        while (op := worklist.pop()) is not None:
            if op.parent is None:
                continue
            if rewrites >= budget:
                return result
            if _process(op, pset, rewriter, result, fold, erase_dead):
                changed = True
                rewrites += 1
        if not changed:
            result.converged = True
            return result
    return result


def _process(op: Operation, pset: PatternSet, rewriter: PatternRewriter, result: DriverResult,
             fold: bool, erase_dead: bool) -> bool:
    if erase_dead and is_trivially_dead(op):
        rewriter.erase_op(op)
        return True
    od = op.opdef
    can_fold = fold and od is not None and od.fold is not None and not op.has_trait(CONSTANT_LIKE)
    if can_fold and _try_fold(op, od.fold, rewriter):
        result.folds += 1
        return True
    for p in pset.for_op(op.name):
        rewriter.set_insertion_point_before(op)
        if p.match_and_rewrite(op, rewriter):
            result.patterns_applied += 1
            result.applied_by_pattern[p.name] = result.applied_by_pattern.get(p.name, 0) + 1
            return True
    return False


def _try_fold(op: Operation, folder, rewriter: PatternRewriter) -> bool:
    consts = [constant_value(v) for v in op.operands]
    out = folder(op, consts)
    if out is None:
        return False
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if len(outs) != len(op.results):
        return False
    if all(o is r for o, r in zip(outs, op.results)):
        for listener in rewriter.listeners:  # folded in place
            listener.notify_op_modified(op)
        return True
    for o, r in zip(outs, op.results):
        ok = o.type == r.type if isinstance(o, Value) else tuple(np.shape(o)) == r.type.shape
        if not ok:
            return False
    rewriter.set_insertion_point_before(op)
    values = [o if isinstance(o, Value) else materialize_constant(rewriter, o, r.type)
              for o, r in zip(outs, op.results)]
    rewriter.replace_op(op, values)
    return True


# Statistics every driver-based pass reports (name -> description).
DRIVER_STATISTICS = {
    "patterns-applied": "rewrite patterns applied",
    "folds": "ops folded by their op definition's folder",
    "ops-erased": "ops erased",
    "ops-created": "ops created",
    "iterations": "greedy sweeps (largest over functions)",
    "not-converged": "functions where a cap stopped the driver before a fixpoint",
}


def add_driver_stats(stats: dict[str, int], result: DriverResult) -> None:
    """Accumulate a driver run into a pass's statistics."""
    for key, n in (("patterns-applied", result.patterns_applied), ("folds", result.folds),
                   ("ops-erased", result.ops_erased), ("ops-created", result.ops_created),
                   ("not-converged", 0 if result.converged else 1)):
        stats[key] = stats.get(key, 0) + n
    stats["iterations"] = max(stats.get("iterations", 0), result.iterations)
