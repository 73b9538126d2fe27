"""Rewrite patterns and the rewriter they call (the IR half of pattern rewriting).

A :class:`RewritePattern` matches an op (optionally only ops named ``root``) and
rewrites it through a :class:`PatternRewriter`, never by editing the IR behind the
rewriter's back: every insertion, replacement, erasure and in-place change goes
through the rewriter, which tells its listeners. A driver (``zenith.passes.driver``)
listens to keep its worklist current; a pass listens to count what changed.

Patterns are usually plain functions::

    @pattern("zt.neg", benefit=2)
    def double_negation(op, rewriter) -> bool:
        inner = op.operand(0).op ...
        rewriter.replace_op(op, [x])
        return True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.builder import Builder
from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.opdef import (
    CONSTANT_LIKE,
    InferError,
    infer_result_types,
    lookup,
    normalize_attributes,
)
from zenith.ir.types import TensorType


class RewriteError(ZenithError):
    """A pattern asked for an invalid rewrite (a bug in the pattern)."""


def constant_value(v: Value) -> np.ndarray | None:
    """The array of ``v`` when a constant-like op (``value`` attribute) defines it."""
    op = getattr(v, "op", None)
    if op is None or not op.has_trait(CONSTANT_LIKE):
        return None
    val = op.attributes.get("value")
    return val.array if isinstance(val, DenseAttr) else None


def defining_op(v: Value, name: str | None = None) -> Operation | None:
    """The op that defines ``v`` (None for block arguments, or if not named ``name``)."""
    op = getattr(v, "op", None)
    if op is None or (name is not None and op.name != name):
        return None
    return op


def _agrees(inferred: TensorType, declared: TensorType) -> bool:
    return (inferred.dtype is declared.dtype and inferred.rank == declared.rank
            and all(a == b or a is None or b is None for a, b in zip(inferred.shape, declared.shape)))


class RewritePattern:
    """Base of all patterns: ``match_and_rewrite`` returns True if it changed the IR.

    ``root`` restricts the pattern to ops of that name (None: any op); among the
    patterns that match an op the driver tries higher ``benefit`` first.
    """

    root: str | None = None
    benefit: int = 1

    @property
    def name(self) -> str:
        return type(self).__name__

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<pattern {self.name} root={self.root} benefit={self.benefit}>"


class FnPattern(RewritePattern):
    """A pattern made from a function ``fn(op, rewriter) -> bool``."""

    def __init__(self, fn: Callable[[Operation, PatternRewriter], bool], root: str | None = None,
                 benefit: int = 1, name: str | None = None) -> None:
        self.fn = fn
        self.root = root
        self.benefit = benefit
        self._name = name or fn.__name__

    @property
    def name(self) -> str:
        return self._name

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> bool:
        return bool(self.fn(op, rewriter))


def pattern(root: str | None = None, benefit: int = 1, name: str | None = None
            ) -> Callable[[Callable[[Operation, PatternRewriter], bool]], FnPattern]:
    """Decorator turning a function into a :class:`FnPattern`."""

    def deco(fn: Callable[[Operation, PatternRewriter], bool]) -> FnPattern:
        return FnPattern(fn, root, benefit, name)

    return deco


class RewriteListener:
    """Hooks called by the rewriter; subclasses override what they need.

    ``notify_op_erased`` runs before the op loses its operands, so a listener can
    still look at what the op read.
    """

    def notify_op_inserted(self, op: Operation) -> None:
        pass

    def notify_op_erased(self, op: Operation) -> None:
        pass

    def notify_op_replaced(self, op: Operation, new_values: Sequence[Value]) -> None:
        pass

    def notify_op_modified(self, op: Operation) -> None:
        pass


class CountingListener(RewriteListener):
    """Counts inserted, erased, replaced and modified ops."""

    def __init__(self) -> None:
        self.inserted = 0
        self.erased = 0
        self.replaced = 0
        self.modified = 0

    def notify_op_inserted(self, op: Operation) -> None:
        self.inserted += 1

    def notify_op_erased(self, op: Operation) -> None:
        self.erased += 1

    def notify_op_replaced(self, op: Operation, new_values: Sequence[Value]) -> None:
        self.replaced += 1

    def notify_op_modified(self, op: Operation) -> None:
        self.modified += 1

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.erased or self.replaced or self.modified)


class PatternRewriter:
    """Edits IR on behalf of patterns and reports each edit to its listeners.

    New ops are inserted before the op being rewritten (the driver sets the
    insertion point); ``set_insertion_point_before`` moves it.
    """

    def __init__(self, listeners: Sequence[RewriteListener] = ()) -> None:
        self.listeners: list[RewriteListener] = list(listeners)
        self.builder = Builder()

    # -- insertion ------------------------------------------------------
    def set_insertion_point_before(self, op: Operation) -> None:
        self.builder = Builder.before_op(op)

    def create(self, name: str, operands: Sequence[Value] = (), attributes: dict[str, Any] | None = None,
               result_types: Sequence[TensorType] | None = None) -> Operation:
        """Create an op at the insertion point (types inferred unless given)."""
        op = self.builder.create(name, list(operands), attributes,
                                 None if result_types is None else list(result_types))
        for listener in self.listeners:
            listener.notify_op_inserted(op)
        return op

    def op(self, name: str, *operands: Value, **attributes: Any) -> Value:
        """Create a single-result op and return its result."""
        return self.create(name, operands, attributes).result

    def create_like(self, old: Operation, name: str, operands: Sequence[Value],
                    attributes: dict[str, Any] | None = None) -> Operation | None:
        """Create an op meant to replace ``old``, keeping ``old``'s result types.

        Returns None (creating nothing) when the new op's type rule rejects the
        operands or gives types that do not agree with ``old``'s: every dim must be
        equal or unknown (``?``) on one side; ``"n"`` against ``4`` is a guess, not a proof.
        """
        od = lookup(name)
        attrs = normalize_attributes(od, dict(attributes or {})) if od else dict(attributes or {})
        if od is not None and od.infer is not None:
            try:
                inferred = infer_result_types(od, list(operands), attrs)
            except InferError:
                return None
            if len(inferred) != len(old.results) or not all(
                    _agrees(t, r.type) for t, r in zip(inferred, old.results)):
                return None
        return self.create(name, operands, attrs, old.result_types)

    # -- replacement and erasure ------------------------------------------
    def replace_op(self, op: Operation, new: Operation | Sequence[Value]) -> None:
        """Replace every use of ``op``'s results by ``new`` and erase ``op``.

        The new values must have exactly the old results' types (a refinement
        would silently change the types seen by users). A new value without a
        name hint takes the replaced result's, so printed IR keeps its names.
        """
        values = list(new.results) if isinstance(new, Operation) else list(new)
        if len(values) != len(op.results):
            raise RewriteError(f"replacing '{op.name}' ({len(op.results)} results) with "
                               f"{len(values)} values", op.loc)
        for i, (old, v) in enumerate(zip(op.results, values)):
            if old.type != v.type:
                raise RewriteError(f"replacing result #{i} of '{op.name}' of type {old.type} "
                                   f"with a value of type {v.type}", op.loc)
        for listener in self.listeners:
            listener.notify_op_replaced(op, values)
        for old, v in zip(op.results, values):
            if v.name_hint is None:  # a new value takes the printed name of the one it replaces
                v.name_hint = old.name_hint
            self._replace_uses(old, v)
        self.erase_op(op)

    def replace_all_uses_with(self, old: Value, new: Value) -> None:
        """Make every user of ``old`` read ``new`` (users are reported modified)."""
        if old.type != new.type:
            raise RewriteError(f"replacing a value of type {old.type} with one of type {new.type}")
        self._replace_uses(old, new)

    def _replace_uses(self, old: Value, new: Value) -> None:
        if old is new:
            return
        users = old.users
        old.replace_all_uses_with(new)
        for user in users:
            for listener in self.listeners:
                listener.notify_op_modified(user)

    def erase_op(self, op: Operation) -> None:
        """Erase an op whose results are unused, and every op nested in it."""
        for r in op.results:
            if r.has_uses:
                raise RewriteError(f"cannot erase '{op.name}': result #{r.index} still has uses", op.loc)
        for nested in reversed(list(op.walk())):
            for listener in self.listeners:
                listener.notify_op_erased(nested)
        op.erase()

    # -- in-place changes -------------------------------------------------
    @contextmanager
    def modify(self, op: Operation) -> Iterator[Operation]:
        """``with rewriter.modify(op): ...`` edits ``op`` in place, then reports it."""
        yield op
        for listener in self.listeners:
            listener.notify_op_modified(op)

    def set_operand(self, op: Operation, index: int, value: Value) -> None:
        with self.modify(op):
            op.set_operand(index, value)
