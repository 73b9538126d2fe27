"""Inlining kernels back into their function, so that ``fuse`` always partitions afresh.

Passes that run after ``fuse`` may rewrite kernel bodies (``canonicalize`` can fold
a body down to constants); running ``fuse`` again first inlines every existing
``zk.fused`` op, then partitions the whole function, so the result obeys the
partition's invariants whatever happened in between.
"""

from __future__ import annotations

from zenith.ir.core import Value
from zenith.ir.module import Function
from zenith.passes.fuse.classify import FUSED, YIELD

# Function attributes that describe a memory plan of the kernels (``plan-memory``).
PLAN_ATTRS = ("arena_bytes", "arena_lower_bound", "arena_naive")


def inline_kernels(fn: Function) -> int:
    """Replace each ``zk.fused`` op of ``fn`` by its body; returns how many were inlined."""
    n = 0
    for kernel in [op for op in fn.body if op.name == FUSED]:
        block = kernel.regions[0].blocks[0]
        mapping: dict[Value, Value] = dict(zip(block.args, kernel.operands))
        yielded: list[Value] = []
        for op in block:
            if op.name == YIELD:
                yielded = [mapping.get(v, v) for v in op.operands]
                continue
            fn.body.insert_before(kernel, op.clone(mapping))
        for r, v in zip(kernel.results, yielded):
            r.replace_all_uses_with(v)
        kernel.erase()
        n += 1
    if n:
        for key in PLAN_ATTRS:
            fn.attributes.pop(key, None)
    return n
