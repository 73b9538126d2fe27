"""The dataflow graph the partitioner works on: function-level ops, views made transparent.

Views and constants are not nodes: a compute op reading a view reads the view's
base value, and a value's *readers* are the non-view ops that read it directly
or through a chain of views (the function's ``func.return`` included). Ops with
regions may capture outer values; those count as reads of the op that holds
the region.
"""

from __future__ import annotations

from zenith.ir.core import Operation, Value
from zenith.ir.module import Function
from zenith.passes.fuse.classify import is_view, op_class, view_base

NOT_COMPUTE = frozenset({"constant", "view", "terminator"})


def top_level(op: Operation, fn: Function) -> Operation:
    """The ancestor of ``op`` (itself included) in ``fn``'s body (or detached, not yet in it)."""
    body = fn.body
    while op.parent is not body and op.parent is not None:
        parent = op.parent_op
        if parent is None:
            raise ValueError(f"'{op.name}' is not inside @{fn.sym_name}")
        op = parent
    return op


def captured_values(op: Operation) -> list[Value]:
    """Values used inside ``op``'s regions but defined outside ``op``."""
    if not op.regions:
        return []
    inner: set[Value] = set()
    out: dict[Value, None] = {}
    for nested in list(op.walk())[1:]:
        for region in nested.regions:
            for b in region.blocks:
                inner.update(b.args)
        inner.update(nested.results)
    for region in op.regions:
        for b in region.blocks:
            inner.update(b.args)
    for nested in list(op.walk())[1:]:
        for v in nested.operands:
            if v not in inner:
                out[v] = None
    return list(out)


def op_reads(op: Operation) -> list[Value]:
    """Operands, then captured values, each once."""
    return list(dict.fromkeys([*op.operands, *captured_values(op)]))


class DataflowGraph:
    """Function-level ops of ``fn`` with their positions, classes, reads and readers."""

    def __init__(self, fn: Function) -> None:
        self.fn = fn
        self.ops: list[Operation] = list(fn.body)
        self.pos: dict[Operation, int] = {op: i for i, op in enumerate(self.ops)}
        self.cls: dict[Operation, str] = {op: op_class(op) for op in self.ops}
        self.compute: list[Operation] = [op for op in self.ops if self.cls[op] not in NOT_COMPUTE]
        # per compute op: the base values it reads (through views), each once
        self.reads: dict[Operation, list[Value]] = {
            op: list(dict.fromkeys(view_base(v) for v in op_reads(op))) for op in self.compute}
        self._readers: dict[Value, list[Operation]] = {}

    def readers(self, v: Value) -> list[Operation]:
        """Non-view function-level ops reading ``v`` directly or through views."""
        got = self._readers.get(v)
        if got is None:
            out: dict[Operation, None] = {}
            stack = [v]
            while stack:
                u = stack.pop()
                for user in u.users:
                    top = top_level(user, self.fn)
                    if top is user and is_view(top):
                        stack.extend(top.results)
                    else:
                        out[top] = None
            got = self._readers[v] = list(out)
        return got

    def reads_directly(self, reader: Operation, v: Value) -> bool:
        """Whether ``reader`` has ``v`` itself (not a view of it) as an operand."""
        return any(u is v for u in reader.operands)
