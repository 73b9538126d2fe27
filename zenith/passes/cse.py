"""``cse``: merge pure ops that compute the same thing from the same operands.

Two ops are the same when they have the same name, operands (in any order for
commutative ops), attributes (defaults filled in) and result types. The scope
of a block is its own: an op inside a region is merged only with an earlier op
of the same block, never with one outside, so region bodies stay self-contained.
Ops with regions are not merged themselves; their bodies are processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zenith.ir.core import Block, Operation
from zenith.ir.module import Module
from zenith.ir.opdef import COMMUTATIVE, NONDETERMINISTIC, PURE, TERMINATOR, normalize_attributes
from zenith.passes.base import Pass, PassContext
from zenith.passes.registry import register_pass


def _attr_key(v: Any) -> Any:
    """A hashable key that keeps 1, 1.0 and True apart (NaN equals NaN)."""
    if isinstance(v, tuple):
        return ("t", tuple(_attr_key(x) for x in v))
    if isinstance(v, float):
        return ("f", repr(v))
    return (type(v).__name__, v)


def op_key(op: Operation) -> tuple | None:
    """What identifies ``op``'s computation, or None if it must not be merged."""
    od = op.opdef
    if od is None or op.regions or not op.results:
        return None
    if not op.has_trait(PURE) or op.has_trait(TERMINATOR) or op.has_trait(NONDETERMINISTIC):
        return None
    operands = op.operands
    if op.has_trait(COMMUTATIVE):
        operands = tuple(sorted(operands, key=id))
    attrs = normalize_attributes(od, op.attributes)
    akey = tuple(sorted((k, _attr_key(v)) for k, v in attrs.items()))
    return (op.name, tuple(operands), akey, tuple(r.type for r in op.results))


def cse_block(block: Block) -> int:
    """Merge duplicates within ``block`` (and, separately, within nested blocks)."""
    seen: dict[tuple, Operation] = {}
    merged = 0
    for op in block:
        for region in op.regions:
            for b in region.blocks:
                merged += cse_block(b)
        key = op_key(op)
        if key is None:
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = op
            continue
        for old, new in zip(op.results, first.results):
            old.replace_all_uses_with(new)
        op.erase()
        merged += 1
    return merged


@register_pass
@dataclass(frozen=True)
class CommonSubexpressionElimination(Pass):
    name = "cse"
    description = "Merge pure ops with the same operands and attributes (commutative operands in any order)"
    statistics = {"ops-erased": "duplicate ops erased"}

    def run(self, module: Module, ctx: PassContext) -> None:
        for fn in module.functions:
            ctx.add("ops-erased", cse_block(fn.body))
