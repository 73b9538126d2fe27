"""Buffers and their lifetimes over the scheduled kernels, with in-place reuse.

Time is the index of a kernel in the function (``zk.fused`` ops in order);
``func.return`` is one step past the last kernel. A kernel result lives from its
kernel to the last kernel that reads it, directly or through views (a result the
function returns lives to the end). Function inputs, constants and views take no
arena space.

In place: an ``elementwise`` kernel may write a result over an input buffer that
dies at that kernel when both have the same byte size, every body op that
depends on the input is elementwise with the result's shape (so output element
``i`` reads input element ``i`` only), and no other result depends on that input
(:func:`in_place_ok`). The result then joins the input's buffer, which lives on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zenith.ir.core import Operation, Value
from zenith.ir.module import Function
from zenith.ir.opdef import ELEMENTWISE
from zenith.passes.fuse.classify import FUSED, YIELD, is_view, view_base

ALIGNMENT = 64


def align(n: int, to: int = ALIGNMENT) -> int:
    return -(-n // to) * to


@dataclass(eq=False)
class Buffer:
    """Arena bytes shared by one kernel result and the results written over it in place."""

    values: list[Value]
    size: int  # bytes, aligned
    start: int
    end: int
    offset: int = -1


@dataclass
class Liveness:
    kernels: list[Operation]
    buffers: list[Buffer]
    buffer_of: dict[Value, Buffer] = field(default_factory=dict)
    in_place: int = 0  # results written over an input

    @property
    def steps(self) -> int:
        return len(self.kernels) + 1


def readers(v: Value) -> list[Operation]:
    """Function-level ops reading ``v`` directly or through views (views left out)."""
    out: list[Operation] = []
    stack = [v]
    while stack:
        u = stack.pop()
        for user in u.users:
            if is_view(user):
                stack.extend(user.results)
            else:
                out.append(user)
    return out


def value_bytes(v: Value) -> int:
    n = v.type.nbytes
    if n is None:
        raise ValueError(f"{v.type} is not static")
    return n


def in_place_ok(kernel: Operation, arg_indices: list[int], result_index: int) -> bool:
    """Whether result ``result_index`` may overwrite the inputs at ``arg_indices``."""
    if kernel.attr("kind") != "elementwise":
        return False
    block = kernel.regions[0].blocks[0]
    shape = kernel.results[result_index].type.shape
    slice_: set[Value] = set()
    for i in arg_indices:
        arg = block.args[i]
        if arg.type.shape != shape:
            return False
        slice_.add(arg)
    for op in block:
        if not any(v in slice_ for v in op.operands):
            continue
        if op.name == YIELD:  # only this result may depend on the input it overwrites
            return all(j == result_index for j, v in enumerate(op.operands) if v in slice_)
        if not op.has_trait(ELEMENTWISE) or any(r.type.shape != shape for r in op.results):
            return False
        slice_.update(op.results)
    return True


def compute_liveness(fn: Function, allow_in_place: bool = True) -> Liveness:
    """Buffers of every kernel result of ``fn``, in-place chains merged."""
    kernels = [op for op in fn.body if op.name == FUSED]
    step = {k: i for i, k in enumerate(kernels)}
    end_step = len(kernels)
    live = Liveness(kernels, [])
    last: dict[Value, int] = {}
    for k in kernels:
        for r in k.results:
            last[r] = max((step.get(u, end_step) for u in readers(r)), default=step[k])
    for k in kernels:
        i = step[k]
        taken: set[Buffer] = set()
        for ri, r in enumerate(k.results):
            nbytes = value_bytes(r)
            buf = _reusable(k, ri, nbytes, i, live, last, taken) if allow_in_place else None
            if buf is not None:
                taken.add(buf)
                buf.values.append(r)
                buf.end = last[r]
                live.in_place += 1
            else:
                buf = Buffer([r], align(nbytes), i, last[r])
                live.buffers.append(buf)
            live.buffer_of[r] = buf
    return live


def _reusable(kernel: Operation, ri: int, nbytes: int, i: int, live: Liveness, last: dict[Value, int],
              taken: set[Buffer]) -> Buffer | None:
    """An input buffer of ``kernel`` that result ``ri`` may take over, or None."""
    by_buffer: dict[Buffer, list[int]] = {}
    for ai, v in enumerate(kernel.operands):
        buf = live.buffer_of.get(view_base(v))
        if buf is not None:
            by_buffer.setdefault(buf, []).append(ai)
    for buf, args in by_buffer.items():
        base = buf.values[-1]
        if buf in taken or buf.end != i or last[base] != i or value_bytes(base) != nbytes:
            continue
        if in_place_ok(kernel, args, ri):
            return buf
    return None
