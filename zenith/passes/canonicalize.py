"""``canonicalize``: op folders and op-contributed patterns, run to a fixpoint."""

from __future__ import annotations

from dataclasses import dataclass

from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module
from zenith.ir.opdef import REGISTRY
from zenith.passes.base import Pass, PassContext, option
from zenith.passes.driver import DRIVER_STATISTICS, PatternSet, add_driver_stats, apply_patterns_greedily
from zenith.passes.registry import register_pass


def canonical_patterns() -> PatternSet:
    """Every pattern the registered op definitions contribute."""
    return PatternSet(p for od in REGISTRY.values() for p in od.canonical_patterns)


@register_pass
@dataclass(frozen=True)
class Canonicalize(Pass):
    name = "canonicalize"
    description = "Fold ops and apply the ops' canonical patterns until nothing changes"
    statistics = DRIVER_STATISTICS

    max_iterations: int = option(10, "cap on greedy sweeps over each function")
    max_rewrites: int = option(0, "cap on rewrites per function (0: 32 per op)")
    test_convergence: bool = option(False, "fail when a cap stops the driver before a fixpoint")

    def __post_init__(self) -> None:
        if self.max_iterations < 1:
            raise ValueError("max-iterations must be at least 1")
        if self.max_rewrites < 0:
            raise ValueError("max-rewrites must not be negative")

    def run(self, module: Module, ctx: PassContext) -> None:
        patterns = canonical_patterns()
        for fn in module.functions:
            result = apply_patterns_greedily(fn, patterns, max_iterations=self.max_iterations,
                                             max_rewrites=self.max_rewrites or None)
            add_driver_stats(ctx.stats, result)
            if self.test_convergence and not result.converged:
                raise ZenithError(f"canonicalization of '@{fn.sym_name}' did not converge within "
                                  f"{self.max_iterations} iteration(s)", fn.loc)
