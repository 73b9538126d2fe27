"""``constant-fold``: evaluate ops whose operands are all constants with the reference semantics."""

from __future__ import annotations

from dataclasses import dataclass

from zenith.interpreter import Interpreter
from zenith.ir.core import Operation
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module
from zenith.ir.opdef import CONSTANT_LIKE, NONDETERMINISTIC, PURE
from zenith.ir.rewrite import FnPattern, PatternRewriter, constant_value
from zenith.passes.base import Pass, PassContext, option
from zenith.passes.driver import apply_patterns_greedily, materialize_constant
from zenith.passes.registry import register_pass


def foldable(op: Operation, size_limit: int) -> bool:
    """Pure, deterministic, region-free, with a reference and small static results."""
    od = op.opdef
    if od is None or od.reference is None or op.regions or not op.results:
        return False
    if not op.has_trait(PURE) or op.has_trait(CONSTANT_LIKE) or op.has_trait(NONDETERMINISTIC):
        return False
    for r in op.results:
        n = r.type.num_elements
        if n is None or n > size_limit:
            return False
    return True


@register_pass
@dataclass(frozen=True)
class ConstantFold(Pass):
    name = "constant-fold"
    description = "Replace ops whose operands are all constants by constants of their results"
    statistics = {"ops-folded": "ops replaced by constants",
                  "constants-erased": "constants left unused by folding and erased"}

    size_limit: int = option(1 << 16, "largest result, in elements, that is folded")

    def __post_init__(self) -> None:
        if self.size_limit < 0:
            raise ValueError("size-limit must not be negative")

    def run(self, module: Module, ctx: PassContext) -> None:
        interp = Interpreter()

        def fold(op: Operation, rw: PatternRewriter) -> bool:
            if not foldable(op, self.size_limit):
                return False
            arrays = [constant_value(v) for v in op.operands]
            if any(a is None for a in arrays):
                return False
            try:
                outs = interp.eval_op(op, arrays, {})
            except ZenithError:
                return False  # e.g. a run-time error: leave it for run time
            sources = [v.op for v in op.operands]
            rw.replace_op(op, [materialize_constant(rw, o, r.type) for o, r in zip(outs, op.results)])
            ctx.add("ops-folded")
            for src in dict.fromkeys(sources):
                if src.parent is not None and not any(r.has_uses for r in src.results):
                    rw.erase_op(src)
                    ctx.add("constants-erased")
            return True

        pattern = FnPattern(fold, None, name="constant-fold")
        for fn in module.functions:
            apply_patterns_greedily(fn, [pattern], fold=False, erase_dead=False)
