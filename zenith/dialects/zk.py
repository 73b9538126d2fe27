"""The ``zk`` kernel dialect: what `fuse` produces and code generators consume.

``zk.fused`` is one kernel. Its operands are the kernel's inputs; its single-block
region takes them as arguments (same types) and ends in ``zk.yield``, whose
operands are the kernel's results. The ``kind`` attribute tells the code
generator which template writes it (see docs/architecture.md). After
``plan-memory``, ``offsets`` holds each result's byte offset in the arena.
"""

from __future__ import annotations

from zenith.ir.core import Operation
from zenith.ir.opdef import PURE, TERMINATOR, define_op

KINDS = ("elementwise", "reduction", "matmul", "conv", "attention", "pool", "opaque")


def _verify_fused(op: Operation) -> str | None:
    if op.attr("kind") not in KINDS:
        return f"kind '{op.attr('kind')}' is not one of {', '.join(KINDS)}"
    region = op.regions[0]
    if len(region.blocks) != 1:
        return "body must have exactly one block"
    block = region.blocks[0]
    got = [a.type for a in block.args]
    want = [v.type for v in op.operands]
    if got != want:
        return f"block argument types {got} do not match operand types {want}"
    last = block.last
    if last is None or last.name != "zk.yield":
        return "body must end with 'zk.yield'"
    yielded = [v.type for v in last.operands]
    results = [r.type for r in op.results]
    if yielded != results:
        return f"yields {yielded} but the kernel's results are {results}"
    offsets = op.attr("offsets")
    if offsets is not None and len(offsets) != len(op.results):
        return f"has {len(offsets)} offsets for {len(op.results)} results"
    return None


def _fused_ref(ctx, *inputs):
    return tuple(ctx.run_region(0, *inputs))


define_op(
    "zk.fused",
    operands=("inputs*",),
    results=None,
    attrs={"kind": "str", "name": "str", "offsets": ("ints", None)},
    traits=(PURE,),
    verify=_verify_fused,
    reference=_fused_ref,
    regions=1,
    doc="One kernel: its region computes the results from the inputs (block arguments).",
)

define_op(
    "zk.yield",
    operands=("values*",),
    results=0,
    traits=(PURE, TERMINATOR),
    doc="Ends a kernel body; its operands are the kernel's results.",
)
