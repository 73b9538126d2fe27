"""The partition: which function-level ops share a kernel.

Every compute op starts as a group of its own. Groups then merge along
producer-consumer edges, the edge that saves the most bytes of memory traffic
first (see :func:`saving`), until no legal merge is left:

- elementwise + elementwise (elementwise and injective ops, views inside the
  chain) -> ``elementwise``, when the merged kernel's outputs share one shape and
  no expensive op would be recomputed per element of a broadcast;
- anchor + elementwise consumer -> an epilogue: strictly elementwise ops whose
  results have the anchor's output shape, reading the anchor's output (or its
  epilogue) directly;
- elementwise producer + reduction-like anchor -> a prologue: strictly elementwise
  ops of the anchor input's shape, read only by the anchor's data operand;
- never two anchors, never an opaque op or an existing kernel, never more than
  ``max_ops`` ops, and never a merge that would create a cycle between kernels
  (a path from the producer to the consumer through a third group).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from zenith.ir.core import Operation, Value
from zenith.ir.module import Function
from zenith.passes.fuse.classify import ANCHOR_KIND_NAMES, CHEAP, kernel_kind, nbytes, numel
from zenith.passes.fuse.graph import DataflowGraph

PLACING = frozenset({"zt.concat", "zt.pad"})  # read each input element once, wherever it lands


@dataclass(eq=False)
class Group:
    """A set of ops that will become one kernel."""

    gid: int
    ops: list[Operation]
    kind: str
    anchor: Operation | None = None
    prologue: set[Operation] = field(default_factory=set)
    fixed: bool = False  # opaque ops and existing kernels never merge
    lo: int = 0  # smallest and largest op position
    hi: int = 0
    version: int = 0
    alive: bool = True

    @property
    def opset(self) -> set[Operation]:
        return set(self.ops)


@dataclass
class PartitionOptions:
    max_ops: int = 64


@dataclass
class Partition:
    """The result: groups in order of their first op, and what was merged."""

    graph: DataflowGraph
    groups: list[Group]
    merges: int = 0


class Partitioner:
    """Greedy, bytes-saved-first merging of groups (see the module doc)."""

    def __init__(self, fn: Function, options: PartitionOptions | None = None) -> None:
        self.g = DataflowGraph(fn)
        self.opt = options or PartitionOptions()
        self.group_of: dict[Operation, Group] = {}
        self.groups: list[Group] = []
        for op in self.g.compute:
            cls = self.g.cls[op]
            kind = "kernel" if cls == "kernel" else kernel_kind(cls)
            grp = Group(len(self.groups), [op], kind, anchor=op if kind in ANCHOR_KIND_NAMES else None,
                        fixed=kind in ("opaque", "kernel"), lo=self.g.pos[op], hi=self.g.pos[op])
            self.groups.append(grp)
            self.group_of[op] = grp
        self.succ: dict[Group, set[Group]] = {grp: set() for grp in self.groups}
        self.pred: dict[Group, set[Group]] = {grp: set() for grp in self.groups}
        for op in self.g.compute:
            c = self.group_of[op]
            for v in self.g.reads[op]:
                p = self._producer(v)
                if p is not None and p is not c:
                    self.succ[p].add(c)
                    self.pred[c].add(p)

    # -- queries -------------------------------------------------------------------
    def _producer(self, v: Value) -> Group | None:
        op = getattr(v, "op", None)
        return None if op is None else self.group_of.get(op)

    def _values(self, grp: Group) -> list[Value]:
        return [r for op in grp.ops for r in op.results]

    def _crossing(self, p: Group, c: Group) -> list[tuple[Value, Operation]]:
        """(value of p, reader in c) pairs."""
        out = []
        for v in self._values(p):
            for r in self.g.readers(v):
                if self.group_of.get(r) is c:
                    out.append((v, r))
        return out

    def _inside(self, r: Operation, groups: tuple[Group, ...]) -> bool:
        return self.group_of.get(r) in groups

    def saving(self, p: Group, c: Group) -> int:
        """Bytes of memory traffic saved by running ``p`` and ``c`` as one kernel.

        A value of ``p`` read by ``c`` is no longer read back (and, if nothing
        else reads it, no longer written); an input both read is read once.
        """
        both = (p, c)
        total = 0
        seen: set[Value] = set()
        for v, _ in self._crossing(p, c):
            if v in seen:
                continue
            seen.add(v)
            internal = all(self._inside(r, both) for r in self.g.readers(v))
            total += nbytes(v.type) * (2 if internal else 1)
        p_reads = {v for op in p.ops for v in self.g.reads[op] if self._producer(v) is not p}
        for op in c.ops:
            for v in self.g.reads[op]:
                if v in p_reads and self._producer(v) not in both:
                    total += nbytes(v.type)
                    p_reads.discard(v)
        return total

    def outputs(self, groups: tuple[Group, ...]) -> list[Value]:
        """Values produced by ``groups`` that something outside them reads."""
        out = []
        for grp in groups:
            for v in self._values(grp):
                if any(not self._inside(r, groups) for r in self.g.readers(v)):
                    out.append(v)
        return out

    # -- legality ------------------------------------------------------------------
    def merged_kind(self, p: Group, c: Group) -> str | None:
        """The kind of ``p`` merged with its consumer ``c``, or None if not allowed."""
        if p.fixed or c.fixed or not p.alive or not c.alive:
            return None
        if len(p.ops) + len(c.ops) > self.opt.max_ops:
            return None
        crossing = self._crossing(p, c)
        if not crossing:
            return None
        if p.kind == "elementwise" and c.kind == "elementwise":
            ok = self._elementwise_ok(p, c, crossing)
            kind = "elementwise"
        elif p.kind in ANCHOR_KIND_NAMES and c.kind == "elementwise":
            ok = self._epilogue_ok(p, c, crossing)
            kind = p.kind
        elif p.kind == "elementwise" and c.kind == "reduction":
            ok = self._prologue_ok(p, c, crossing)
            kind = c.kind
        else:
            return None
        if not ok or self._has_indirect_path(p, c):
            return None
        return kind

    def _strict(self, grp: Group) -> bool:
        return all(self.g.cls[op] == "elementwise" for op in grp.ops)

    def _elementwise_ok(self, p: Group, c: Group, crossing) -> bool:
        shapes = {v.type.shape for v in self.outputs((p, c))}
        if len(shapes) > 1:
            return False
        if all(op.name in CHEAP for op in p.ops):
            return True
        for v, r in crossing:  # an expensive producer must not be recomputed per broadcast element
            if r.name not in PLACING and any(numel(o.type) > numel(v.type) for o in r.results):
                return False
        return True

    def _epilogue_ok(self, p: Group, c: Group, crossing) -> bool:
        if not self._strict(c):
            return False
        shape = p.anchor.results[0].type.shape
        if any(r.type.shape != shape for op in c.ops for r in op.results):
            return False
        return all(v.op not in p.prologue and self.g.reads_directly(r, v) for v, r in crossing)

    def _prologue_ok(self, p: Group, c: Group, crossing) -> bool:
        anchor = c.anchor
        if anchor is None or not self._strict(p) or not anchor.operands:
            return False
        x = anchor.operand(0)
        for v, r in crossing:
            if r is not anchor or v is not x:
                return False
            if any(u is anchor and i != 0 for u, i in v.uses):
                return False
        if any(r.type.shape != x.type.shape for op in p.ops for r in op.results):
            return False
        members = (p,)
        for v in self._values(p):
            for r in self.g.readers(v):
                if r is not anchor and not self._inside(r, members):
                    return False
        return True

    def _has_indirect_path(self, p: Group, c: Group) -> bool:
        """Whether some group other than ``c`` reachable from ``p`` reaches ``c``."""
        stack = [s for s in self.succ[p] if s is not c]
        seen: set[Group] = set(stack)
        while stack:
            x = stack.pop()
            if x is c:
                return True
            for y in self.succ[x]:
                if y is c:
                    return True
                if y not in seen and y.lo < c.hi:
                    seen.add(y)
                    stack.append(y)
        return False

    # -- merging -------------------------------------------------------------------
    def merge(self, p: Group, c: Group, kind: str) -> Group:
        """Fold ``c`` into ``p``."""
        if kind == c.kind and c.anchor is not None:  # prologue: p's ops run before c's anchor
            p.prologue = c.prologue | set(p.ops)
            p.anchor = c.anchor
        p.kind = kind
        p.ops = sorted(p.ops + c.ops, key=self.g.pos.__getitem__)
        p.lo, p.hi = min(p.lo, c.lo), max(p.hi, c.hi)
        p.version += 1
        c.alive = False
        for op in c.ops:
            self.group_of[op] = p
        for s in self.succ.pop(c):
            self.pred[s].discard(c)
            if s is not p:
                self.pred[s].add(p)
                self.succ[p].add(s)
        for q in self.pred.pop(c):
            self.succ[q].discard(c)
            if q is not p:
                self.succ[q].add(p)
                self.pred[p].add(q)
        self.succ[p].discard(c)
        self.pred[p].discard(p)
        self.succ[p].discard(p)
        return p

    def run(self) -> Partition:
        heap: list[tuple] = []

        def push(p: Group, c: Group) -> None:
            if p.fixed or c.fixed:
                return
            s = self.saving(p, c)
            if s > 0:
                heapq.heappush(heap, (-s, c.lo, p.lo, p.gid, c.gid, p.version, c.version))

        for p in self.groups:
            for c in sorted(self.succ[p], key=lambda x: x.gid):
                push(p, c)
        by_id = {grp.gid: grp for grp in self.groups}
        merges = 0
        while heap:
            _, _, _, pid, cid, pv, cv = heapq.heappop(heap)
            p, c = by_id[pid], by_id[cid]
            if not (p.alive and c.alive) or p.version != pv or c.version != cv:
                continue
            if c not in self.succ[p]:
                continue
            kind = self.merged_kind(p, c)
            if kind is None:
                continue
            merged = self.merge(p, c, kind)
            merges += 1
            for q in sorted(self.pred[merged], key=lambda x: x.gid):
                push(q, merged)
            for s in sorted(self.succ[merged], key=lambda x: x.gid):
                push(merged, s)
        groups = sorted((grp for grp in self.groups if grp.alive), key=lambda grp: grp.lo)
        return Partition(self.g, groups, merges)


def partition(fn: Function, options: PartitionOptions | None = None) -> Partition:
    """Group ``fn``'s compute ops into kernels (see the module doc)."""
    return Partitioner(fn, options).run()
