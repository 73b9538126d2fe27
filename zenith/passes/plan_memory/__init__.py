"""``plan-memory``: one arena for every kernel result, offsets from liveness.

After ``fuse``, each ``zk.fused`` result gets a byte offset (``offsets`` on the
kernel, one per result, multiples of 64) in one arena, and the function gets
``arena_bytes`` (the arena's size), ``arena_lower_bound`` (the largest total of
bytes live at one step, after in-place reuse: no plan of these buffers is
smaller) and ``arena_naive`` (the sum of every result's aligned size: the arena
without reuse). See ``liveness.py`` (lifetimes, in-place reuse), ``assign.py``
(placement) and ``check.py`` (an independent validity check).

A function with compute ops outside kernels (``fuse`` did not run) or with
non-static result shapes is left unplanned and counted in ``functions-skipped``
(an error with ``strict=true``).
"""

from __future__ import annotations

from dataclasses import dataclass

from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Function, Module
from zenith.passes.base import Pass, PassContext, option
from zenith.passes.fuse.classify import FUSED, op_class
from zenith.passes.fuse.inline import PLAN_ATTRS
from zenith.passes.plan_memory.assign import assign_offsets, lower_bound
from zenith.passes.plan_memory.check import plan_errors
from zenith.passes.plan_memory.liveness import ALIGNMENT, Liveness, align, compute_liveness
from zenith.passes.registry import register_pass


@dataclass
class MemoryPlan:
    """What the planner decided for one function."""

    liveness: Liveness
    arena_bytes: int
    lower_bound: int
    naive: int
    strategy: str


def unplannable(fn: Function) -> str | None:
    """Why ``fn`` cannot be planned, or None."""
    for op in fn.body:
        if op_class(op) not in ("constant", "view", "terminator", "kernel"):
            return f"'{op.name}' is outside every kernel (run 'fuse' first)"
        if op.name == FUSED:
            for r in op.results:
                if not r.type.is_static:
                    return f"kernel '{op.attr('name')}' has a result of non-static type {r.type}"
    return None


def plan_function(fn: Function, in_place: bool = True) -> MemoryPlan:
    """Plan ``fn`` (which must be plannable) and write the annotations."""
    live = compute_liveness(fn, allow_in_place=in_place)
    arena, strategy = assign_offsets(live.buffers)
    bound = lower_bound(live.buffers, live.steps)
    naive = sum(align(r.type.nbytes) for k in live.kernels for r in k.results)
    for k in live.kernels:
        k.attributes["offsets"] = tuple(live.buffer_of[r].offset for r in k.results)
    fn.attributes.update(arena_bytes=arena, arena_lower_bound=bound, arena_naive=naive)
    return MemoryPlan(live, arena, bound, naive, strategy)


@register_pass
@dataclass(frozen=True)
class PlanMemory(Pass):
    name = "plan-memory"
    description = "Give every kernel result an offset in one arena, from liveness, with in-place reuse"
    statistics = {
        "arena-bytes": "bytes of the arena (all functions)",
        "arena-lower-bound": "largest total of bytes live at one step (all functions)",
        "arena-naive": "sum of every kernel result's size, without reuse (all functions)",
        "buffers": "arena buffers placed",
        "in-place": "kernel results written over an input that dies there",
        "functions-skipped": "functions left unplanned (ops outside kernels, or dynamic shapes)",
    }

    in_place: bool = option(True, "let elementwise kernels write over inputs that die there")
    strict: bool = option(False, "fail, instead of skipping, on a function that cannot be planned")
    verify_plan: bool = option(True, "check the plan independently after planning (fails loudly)")

    def run(self, module: Module, ctx: PassContext) -> None:
        for fn in module.functions:
            why = unplannable(fn)
            if why is not None:
                if self.strict:
                    raise ZenithError(f"cannot plan the memory of @{fn.sym_name}: {why}", fn.loc)
                for k in fn.body:
                    if k.name == FUSED:
                        k.attributes.pop("offsets", None)
                for key in PLAN_ATTRS:
                    fn.attributes.pop(key, None)
                ctx.add("functions-skipped")
                continue
            plan = plan_function(fn, self.in_place)
            if self.verify_plan:
                errors = plan_errors(fn)
                if errors:
                    raise ZenithError(f"invalid memory plan for @{fn.sym_name}: {errors[0]}", fn.loc,
                                      errors[1:11])
            ctx.add("arena-bytes", plan.arena_bytes)
            ctx.add("arena-lower-bound", plan.lower_bound)
            ctx.add("arena-naive", plan.naive)
            ctx.add("buffers", len(plan.liveness.buffers))
            ctx.add("in-place", plan.liveness.in_place)


__all__ = ["ALIGNMENT", "MemoryPlan", "PlanMemory", "plan_errors", "plan_function", "unplannable"]
