"""``dce``: erase pure ops whose results are unused, inside regions too."""

from __future__ import annotations

from dataclasses import dataclass

from zenith.ir.core import Block, Operation
from zenith.ir.module import Module
from zenith.ir.opdef import PURE, TERMINATOR
from zenith.passes.base import Pass, PassContext
from zenith.passes.registry import register_pass


def is_dead(op: Operation) -> bool:
    return op.has_trait(PURE) and not op.has_trait(TERMINATOR) and not any(r.has_uses for r in op.results)


def dce_block(block: Block) -> int:
    """Erase dead ops bottom-up (one sweep: erasing an op can only kill earlier ones)."""
    erased = 0
    for op in block.reversed():
        if is_dead(op):
            erased += sum(1 for _ in op.walk())
            op.erase()
            continue
        for region in op.regions:
            for b in region.blocks:
                erased += dce_block(b)
    return erased


@register_pass
@dataclass(frozen=True)
class DeadCodeElimination(Pass):
    name = "dce"
    description = "Erase pure ops whose results are unused (inside regions too)"
    statistics = {"ops-erased": "ops erased"}

    def run(self, module: Module, ctx: PassContext) -> None:
        for fn in module.functions:
            ctx.add("ops-erased", dce_block(fn.body))
