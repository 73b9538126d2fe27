"""An independent check of a memory plan written into the IR.

It recomputes lifetimes from the function (not from the planner's data) and
verifies: every kernel has one offset per result, offsets are aligned, every
result fits in ``arena_bytes``, and two results live at a common step never
share a byte, unless the later one is written in place over the earlier one at
the step where the earlier one dies, by an elementwise kernel whose every
dependence on that input is elementwise at the result's shape.
"""

from __future__ import annotations

from zenith.ir.core import Operation, Value
from zenith.ir.module import Function
from zenith.ir.opdef import ELEMENTWISE
from zenith.passes.fuse.classify import FUSED, YIELD, is_view, view_base

ALIGNMENT = 64


def _lifetimes(fn: Function) -> tuple[list[Operation], dict[Value, tuple[int, int]]]:
    kernels = [op for op in fn.body if op.name == FUSED]
    step = {k: i for i, k in enumerate(kernels)}
    spans: dict[Value, tuple[int, int]] = {}
    for k in kernels:
        for r in k.results:
            end = step[k]
            todo = [r]
            while todo:
                u = todo.pop()
                for user in u.users:
                    if is_view(user):
                        todo.extend(user.results)
                    else:
                        end = max(end, step.get(user, len(kernels)))
            spans[r] = (step[k], end)
    return kernels, spans


def _elementwise_from(kernel: Operation, value: Value, result: Value) -> bool:
    """Does ``result`` read ``value`` (an operand) only index for index, and nothing else does?"""
    if kernel.attr("kind") != "elementwise":
        return False
    block = kernel.regions[0].blocks[0]
    shape = result.type.shape
    tainted = {a for a, v in zip(block.args, kernel.operands) if view_base(v) is value}
    if any(a.type.shape != shape for a in tainted):
        return False
    for op in block:
        hit = any(v in tainted for v in op.operands)
        if op.name == YIELD:
            return all(kernel.results[j] is result for j, v in enumerate(op.operands) if v in tainted)
        if hit:
            if not op.has_trait(ELEMENTWISE) or any(r.type.shape != shape for r in op.results):
                return False
            tainted.update(op.results)
    return False


def _in_place(a: Value, b: Value, spans: dict[Value, tuple[int, int]], kernels: list[Operation]) -> bool:
    """``b`` overwrites ``a`` where ``a`` dies (or the reverse)."""
    (sa, ea), (sb, eb) = spans[a], spans[b]
    if sb < sa:
        a, b, (sa, ea), (sb, eb) = b, a, (sb, eb), (sa, ea)
    if ea != sb or a.type.nbytes != b.type.nbytes:
        return False
    kernel = kernels[sb]
    return _elementwise_from(kernel, a, b)


def plan_errors(fn: Function) -> list[str]:
    """Everything wrong with ``fn``'s memory plan (empty when it is valid)."""
    errors: list[str] = []
    arena = fn.attributes.get("arena_bytes")
    if not isinstance(arena, int):
        return [f"@{fn.sym_name} has no 'arena_bytes' attribute"]
    kernels, spans = _lifetimes(fn)
    placed: list[tuple[int, int, Value, str]] = []
    for k in kernels:
        offsets = k.attributes.get("offsets")
        name = k.attr("name")
        if offsets is None or len(offsets) != len(k.results):
            errors.append(f"kernel '{name}' has no offset for every result")
            continue
        for i, (r, off) in enumerate(zip(k.results, offsets)):
            size = r.type.nbytes
            what = f"result #{i} of '{name}'"
            if off % ALIGNMENT:
                errors.append(f"{what} is at offset {off}, not a multiple of {ALIGNMENT}")
            if off < 0 or off + size > arena:
                errors.append(f"{what} ([{off}, {off + size})) lies outside the arena of {arena} bytes")
            if size:
                placed.append((off, size, r, what))
    placed.sort(key=lambda p: p[0])
    for i, (off, size, r, what) in enumerate(placed):
        for off2, size2, r2, what2 in placed[i + 1:]:
            if off2 >= off + size:
                break
            (s1, e1), (s2, e2) = spans[r], spans[r2]
            if s1 <= e2 and s2 <= e1 and not (off == off2 and _in_place(r, r2, spans, kernels)):
                errors.append(f"{what} [{off}, {off + size}) and {what2} [{off2}, {off2 + size2}) "
                              f"overlap while both live (steps {s1}-{e1} and {s2}-{e2})")
    return errors
