"""Deliberately wrong passes for zenith-opt's tests (``--load-plugin``).

``test-swap-sub`` turns the first ``zt.add`` into a ``zt.sub`` (valid IR, wrong
results: ``--check-semantics`` must name it); ``test-break-types`` gives the first
op a wrong result type (verify-after-each must catch it); ``test-crash`` raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenith.ir import Module
from zenith.ir.dtypes import f64
from zenith.ir.rewrite import PatternRewriter
from zenith.passes import PASSES, Pass, PassContext, register_pass


@dataclass(frozen=True)
class SwapSub(Pass):
    name = "test-swap-sub"
    description = "Test only: turn the first zt.add into zt.sub (changes results)"

    def run(self, module: Module, ctx: PassContext) -> None:
        for op in module.ops():
            if op.name == "zt.add":
                rw = PatternRewriter()
                rw.set_insertion_point_before(op)
                rw.replace_op(op, rw.create("zt.sub", op.operands))
                return


@dataclass(frozen=True)
class BreakTypes(Pass):
    name = "test-break-types"
    description = "Test only: give the first op a wrong result type"

    def run(self, module: Module, ctx: PassContext) -> None:
        op = module.main.body.first
        op.results[0].type = op.results[0].type.with_dtype(f64)


@dataclass(frozen=True)
class Crash(Pass):
    name = "test-crash"
    description = "Test only: raise a Python exception"

    def run(self, module: Module, ctx: PassContext) -> None:
        raise RuntimeError("boom")


for _cls in (SwapSub, BreakTypes, Crash):
    if _cls.name not in PASSES:  # loaded again in the same process
        register_pass(_cls)
