"""Outlining: turn each group of the partition into a ``zk.fused`` op.

A kernel's operands are the values its ops read from outside (function
arguments, constants, views of outside values, results of other kernels), in
order of first use; its body clones the ops (and the views of inside values
that the ops read) and yields every value read outside the kernel. Views whose
every reader ends up in the kernel of their base are erased. The function body
is then re-ordered topologically (kernels where their first op was, views and
constants where they were) and kernels are named ``k<index>_<ops>`` in order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from zenith.ir.core import Block, Operation, Region, Value
from zenith.ir.module import Function
from zenith.passes.fuse.classify import FUSED, YIELD, is_view, op_class, short_name, view_base
from zenith.passes.fuse.graph import DataflowGraph, op_reads, top_level
from zenith.passes.fuse.partition import Group, Partition

NAME_PARTS = 4  # op names shown in a kernel's name


def kernel_suffix(ops: Iterable[Operation], anchor: Operation | None) -> str:
    """``linear_gelu`` for a linear with a gelu epilogue (distinct op names, anchor first)."""
    names = [short_name(anchor)] if anchor is not None else []
    for op in ops:
        n = short_name(op)
        if op is not anchor and n not in names and op_class(op) != "view":
            names.append(n)
    return "_".join(names[:NAME_PARTS]) or "empty"


class _Outliner:
    def __init__(self, part: Partition) -> None:
        self.part = part
        self.g: DataflowGraph = part.graph
        self.fn: Function = self.g.fn
        self.home: dict[Operation, Group] = {op: grp for grp in part.groups for op in grp.ops}

    def _absorbed_views(self) -> set[Operation]:
        """Views of a group's value whose readers all lie in that group."""
        out = set()
        for op in self.g.ops:
            if not is_view(op):
                continue
            base = view_base(op.result)
            grp = self.home.get(getattr(base, "op", None))
            if grp is None:
                continue
            readers = self.g.readers(op.result)
            if all(self.home.get(r) is grp for r in readers):
                out.add(op)
        return out

    def build(self, grp: Group, absorbed: set[Operation]) -> Operation:
        inside = grp.opset
        produced = {r for op in grp.ops for r in op.results}
        inputs: dict[Value, None] = {}

        def internal(v: Value) -> bool:
            return view_base(v) in produced

        for op in grp.ops:
            for v in op_reads(op):
                if not internal(v):
                    inputs[v] = None
        outputs = []
        for v in produced:
            for user in v.users:
                top = top_level(user, self.fn)
                if top not in inside and top not in absorbed:
                    outputs.append(v)
                    break
        outputs.sort(key=lambda v: (self.g.pos[v.op], v.index))
        block = Block([v.type for v in inputs])
        mapping: dict[Value, Value] = dict(zip(inputs, block.args))
        for v, a in zip(inputs, block.args):
            a.name_hint = v.name_hint

        def clone_view(v: Value) -> None:
            if v in mapping:
                return
            view = v.op
            clone_view(view.operand(0))
            block.append(view.clone(mapping))

        for op in grp.ops:
            for v in op_reads(op):
                if internal(v):
                    clone_view(v)
            block.append(op.clone(mapping))
        block.append(Operation(YIELD, [mapping[v] for v in outputs]))
        loc = (grp.anchor or grp.ops[0]).loc
        attrs = {"kind": grp.kind, "name": ""}
        kernel = Operation(FUSED, list(inputs), [v.type for v in outputs], attrs, [Region([block])], loc)
        for v, r in zip(outputs, kernel.results):
            r.name_hint = v.name_hint
            v.replace_uses_if(r, lambda user, _i: top_level(user, self.fn) not in inside)
        return kernel

    def run(self) -> list[Operation]:
        absorbed = self._absorbed_views()
        new: dict[Operation, Group] = {}
        for grp in self.part.groups:
            if grp.kind == "kernel":
                continue
            new[self.build(grp, absorbed)] = grp
        doomed = [op for grp in new.values() for op in grp.ops] + list(absorbed)
        for op in sorted(doomed, key=self.g.pos.__getitem__, reverse=True):
            op.erase()
        key = {k: grp.lo for k, grp in new.items()}
        for op in self.fn.body:
            key[op] = self.g.pos[op]
        order = _topological(list(self.fn.body) + list(new), key, self.fn)
        for op in list(self.fn.body):
            op.detach()
        for op in order:
            self.fn.body.append(op)
        _name_kernels(self.fn, new)
        return list(new)


def _topological(ops: list[Operation], key: dict[Operation, int], fn: Function) -> list[Operation]:
    """Ops in dependency order; among ready ops the smallest key first, the terminator last."""
    members = set(ops)
    indeg = {op: 0 for op in ops}
    users: dict[Operation, list[Operation]] = {op: [] for op in ops}
    for op in ops:
        deps = {v.op for v in op_reads(op) if getattr(v, "op", None) in members}
        indeg[op] = len(deps)
        for d in deps:
            users[d].append(op)
    last = fn.return_op
    big = len(key) + len(ops) + 1
    ready = [(big if op is last else key[op], i, op) for i, op in enumerate(ops) if indeg[op] == 0]
    heapq.heapify(ready)
    index = {op: i for i, op in enumerate(ops)}
    out = []
    while ready:
        _, _, op = heapq.heappop(ready)
        out.append(op)
        for u in users[op]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, (big if u is last else key[u], index[u], u))
    if len(out) != len(ops):
        raise AssertionError("fusion created a cycle between kernels")  # the partition forbids it
    return out


def _name_kernels(fn: Function, new: dict[Operation, Group]) -> None:
    """``k<i>_<ops>``, ``i`` counting kernels in order; existing kernels keep their names."""
    taken = {op.attr("name") for op in fn.body if op.name == FUSED and op not in new}
    i = 0
    for op in fn.body:
        if op.name != FUSED:
            continue
        if op in new:
            grp = new[op]
            base = f"k{i}_{kernel_suffix(grp.ops, grp.anchor)}"
            name, n = base, 1
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            op.attributes["name"] = name
        i += 1


def outline(part: Partition) -> list[Operation]:
    """Replace each group by a ``zk.fused`` op; returns the new kernels in order."""
    kernels = _Outliner(part).run()
    return [op for op in part.graph.fn.body if op in set(kernels)]
