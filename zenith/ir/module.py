"""The builtin structure: a module of functions, each a block ending in a return.

``builtin.module``, ``func.func`` and ``func.return`` are the only ops the IR
core defines itself (as MLIR's builtin dialect is part of its core).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from zenith.ir.core import Block, BlockArgument, Operation, Region
from zenith.ir.diagnostics import UNKNOWN, Location
from zenith.ir.opdef import PURE, TERMINATOR, define_op
from zenith.ir.types import FunctionType, TensorType

define_op("builtin.module", results=0, regions=1, doc="A container of functions.")
define_op(
    "func.func",
    results=0,
    regions=1,
    attrs={"sym_name": "str", "function_type": "any"},
    doc="A function: one block whose arguments are the inputs.",
)
define_op(
    "func.return",
    operands=("values*",),
    results=0,
    traits=(TERMINATOR, PURE),
    doc="Return values from a function.",
)


class Function(Operation):
    """A ``func.func`` op with convenient accessors."""

    __slots__ = ()

    def __init__(
        self,
        name: str,
        arg_types: list[TensorType] | tuple[TensorType, ...],
        result_types: list[TensorType] | tuple[TensorType, ...],
        attributes: dict[str, Any] | None = None,
        loc: Location = UNKNOWN,
    ) -> None:
        attrs = dict(attributes or {})
        attrs["sym_name"] = name
        attrs["function_type"] = FunctionType(tuple(arg_types), tuple(result_types))
        super().__init__("func.func", attributes=attrs, loc=loc)
        self.add_region(Region([Block(arg_types)]))

    @property
    def sym_name(self) -> str:
        return self.attributes["sym_name"]

    @property
    def function_type(self) -> FunctionType:
        return self.attributes["function_type"]

    @property
    def body(self) -> Block:
        return self.regions[0].blocks[0]

    @property
    def args(self) -> list[BlockArgument]:
        return self.body.args

    @property
    def arg_types(self) -> tuple[TensorType, ...]:
        return self.function_type.inputs

    @property
    def result_types(self) -> tuple[TensorType, ...]:  # type: ignore[override]
        return self.function_type.results

    def set_type(self, arg_types: list[TensorType], result_types: list[TensorType]) -> None:
        self.attributes["function_type"] = FunctionType(tuple(arg_types), tuple(result_types))

    def sync_signature(self) -> None:
        """Recompute the function type from block argument and return types."""
        ret = self.return_op
        outs = [v.type for v in ret.operands] if ret is not None else []
        self.set_type([a.type for a in self.args], outs)

    @property
    def return_op(self) -> Operation | None:
        last = self.body.last
        return last if last is not None and last.name == "func.return" else None

    @property
    def extra_attributes(self) -> dict[str, Any]:
        """Attributes other than the name and type (printed after ``attributes``)."""
        return {
            k: v for k, v in self.attributes.items() if k not in ("sym_name", "function_type")
        }

    def clone(self, mapping: dict | None = None) -> Function:  # type: ignore[override]
        mapping = {} if mapping is None else mapping
        new = Function(self.sym_name, self.arg_types, self.result_types,
                       self.extra_attributes, self.loc)
        new.regions.clear()
        new.add_region(self.regions[0].clone(mapping))
        return new


class Module(Operation):
    """A ``builtin.module``: an ordered set of functions."""

    __slots__ = ()

    def __init__(self, loc: Location = UNKNOWN) -> None:
        super().__init__("builtin.module", loc=loc)
        self.add_region(Region([Block()]))

    @property
    def body(self) -> Block:
        return self.regions[0].blocks[0]

    @property
    def functions(self) -> list[Function]:
        return [op for op in self.body if isinstance(op, Function)]

    def add_function(self, fn: Function) -> Function:
        self.body.append(fn)
        return fn

    def get(self, name: str) -> Function:
        """The function named ``name`` (KeyError lists the names present)."""
        for fn in self.functions:
            if fn.sym_name == name:
                return fn
        names = ", ".join(f.sym_name for f in self.functions) or "none"
        raise KeyError(f"no function '@{name}' in module (functions: {names})")

    @property
    def main(self) -> Function:
        """``@main`` if present, else the only function."""
        fns = self.functions
        for fn in fns:
            if fn.sym_name == "main":
                return fn
        if len(fns) == 1:
            return fns[0]
        raise KeyError("module has no @main and more than one function")

    def ops(self) -> Iterator[Operation]:
        """Every op inside every function, in pre-order (functions excluded)."""
        for fn in self.functions:
            yield from fn.regions[0].walk()

    def clone(self, mapping: dict | None = None) -> Module:  # type: ignore[override]
        new = Module(self.loc)
        new.attributes.update(self.attributes)
        for fn in self.functions:
            new.add_function(fn.clone(mapping))
        return new
