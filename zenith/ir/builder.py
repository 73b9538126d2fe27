"""Building IR: an insertion point plus op creation with type inference.

    b = Builder.at_end(fn.body)
    y = b.op("zt.add", x, x)            # result type inferred by the op's rule
    z = b.zt.relu(y)                     # same, through the dialect namespace
    b.create("func.return", [z])
"""

from __future__ import annotations

from typing import Any

from zenith.ir.attributes import normalize_attr
from zenith.ir.core import Block, Operation, Region, Value
from zenith.ir.diagnostics import UNKNOWN, Location, ZenithError
from zenith.ir.opdef import InferError, infer_result_types, lookup, normalize_attributes
from zenith.ir.types import TensorType


class Builder:
    """Creates ops at an insertion point: the end of a block, or before an op."""

    def __init__(self, block: Block | None = None, before: Operation | None = None,
                 loc: Location = UNKNOWN) -> None:
        self.block = block
        self.before = before
        self.loc = loc

    @classmethod
    def at_end(cls, block: Block) -> Builder:
        return cls(block)

    @classmethod
    def before_op(cls, op: Operation) -> Builder:
        return cls(op.parent, op, op.loc)

    @classmethod
    def after_op(cls, op: Operation) -> Builder:
        assert op.parent is not None
        return cls(op.parent, op.next, op.loc)

    def set_insertion_point_to_end(self, block: Block) -> None:
        self.block, self.before = block, None

    def set_insertion_point_before(self, op: Operation) -> None:
        self.block, self.before = op.parent, op

    def insert(self, op: Operation) -> Operation:
        if self.block is None:
            return op
        if self.before is not None:
            self.block.insert_before(self.before, op)
        else:
            self.block.append(op)
        return op

    def create(
        self,
        name: str,
        operands: list[Value] | tuple[Value, ...] = (),
        attributes: dict[str, Any] | None = None,
        result_types: list[TensorType] | None = None,
        regions: list[Region] | None = None,
        loc: Location | None = None,
    ) -> Operation:
        """Create and insert an op; infer result types when not given."""
        loc = loc or self.loc
        attrs = {k: normalize_attr(v) for k, v in attributes.items()} if attributes else {}
        od = lookup(name)
        if od is not None:
            if attrs:
                attrs = normalize_attributes(od, attrs)
            if result_types is None:
                try:
                    result_types = infer_result_types(od, operands, attrs)
                except InferError as e:
                    raise ZenithError(f"'{name}': {e}", loc) from None
        elif result_types is None:
            raise ZenithError(f"unregistered op '{name}' needs explicit result types", loc)
        op = Operation(name, operands, result_types, attrs, regions, loc)
        return self.insert(op)

    def op(self, name: str, *operands: Value, loc: Location | None = None, **attrs: Any):
        """Create an op and return its result (a tuple if it has several)."""
        op = self.create(name, list(operands), attrs, loc=loc)
        if len(op.results) == 1:
            return op.results[0]
        return tuple(op.results)

    def __getattr__(self, dialect: str) -> _DialectNamespace:
        if dialect.startswith("_"):
            raise AttributeError(dialect)
        return _DialectNamespace(self, dialect)


class _DialectNamespace:
    """``builder.zt.add(x, y)`` is ``builder.op("zt.add", x, y)``."""

    def __init__(self, builder: Builder, dialect: str) -> None:
        self._builder = builder
        self._dialect = dialect

    def __getattr__(self, op: str):
        name = f"{self._dialect}.{op}"
        if lookup(name) is None:
            raise AttributeError(f"no op '{name}' is registered")
        return lambda *operands, **attrs: self._builder.op(name, *operands, **attrs)
