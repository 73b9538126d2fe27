"""Pure pointer and launch planning for a CUDA :class:`~zenith.codegen.program.Program`.

Nothing here touches a driver: given the arena base, the parameter and input
pointers and the outputs redirected to caller memory, :func:`buffer_pointers`
gives every buffer its device address and :func:`plan_launches` the argument
list of every kernel call (input pointers in operand order, then output
pointers in result order, the entry-point convention of codegen/cuda/kernel.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zenith.codegen.program import Buffer, Launch, Program
from zenith.ir.diagnostics import ZenithError
from zenith.runtime.cuda.dtypes import itemsize

POINTER = "P"  # struct format of a kernel pointer argument (PyCUDA's Function.prepare)
DEFAULT_SHARED_LIMIT = 48 * 1024  # dynamic shared memory needing no opt-in


@dataclass(frozen=True)
class LaunchSpec:
    """One prepared kernel call: everything but the stream."""

    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_bytes: int
    args: tuple[int, ...]


def nbytes(b: Buffer) -> int:
    return b.numel * itemsize(b.dtype)


def _dim3(v: Any, what: str) -> tuple[int, int, int]:
    t = tuple(int(x) for x in v)
    if not 1 <= len(t) <= 3 or any(x < 1 for x in t):
        raise ZenithError(f"{what} must be 1 to 3 positive sizes, got {v!r}")
    return t + (1,) * (3 - len(t))  # type: ignore[return-value]


def geometry(program: Program, launch: Launch) -> tuple[tuple[int, int, int], tuple[int, int, int], int]:
    """Grid, block and dynamic shared bytes of ``launch`` (its config, else its kernel's)."""
    ck = program.kernels[launch.kernel]
    k = getattr(ck, "kernel", ck)
    cfg = launch.config or {}
    grid = _dim3(cfg.get("grid", k.grid), f"kernel '{launch.kernel}': grid")
    block = _dim3(cfg.get("block", k.block), f"kernel '{launch.kernel}': block")
    shared = int(cfg.get("shared_bytes", k.shared_bytes))
    if block[0] * block[1] * block[2] > 1024:
        raise ZenithError(f"kernel '{launch.kernel}': block {block} has more than 1024 threads")
    return grid, block, shared


def check_program(program: Program) -> None:
    """ZenithError unless ``program`` is a CUDA program the runtime can run."""
    if program.target != "cuda":
        raise ZenithError(f"CudaExecutable runs CUDA programs, not '{program.target}' ones")
    for launch in program.launches:
        ck = program.kernels.get(launch.kernel)
        if ck is None:
            raise ZenithError(f"launch of unknown kernel '{launch.kernel}'")
        image = getattr(ck, "image", None)
        if not image:
            raise ZenithError(f"kernel '{launch.kernel}' has no compiled image; build the program "
                              "with compile=True")
        k = ck.kernel
        if (k.n_inputs, k.n_outputs) != (len(launch.inputs), len(launch.outputs)):
            raise ZenithError(f"kernel '{launch.kernel}' takes {k.n_inputs} input(s) and {k.n_outputs} "
                              f"output(s); its launch passes {len(launch.inputs)} and {len(launch.outputs)}")
        geometry(program, launch)
    for i, b in enumerate(program.buffers):
        if b.kind == "view" and program.buffers[b.base].kind == "view":
            raise ZenithError(f"buffer {i} is a view of a view")
        if b.kind == "arena" and b.offset + nbytes(b) > program.arena_bytes:
            raise ZenithError(f"buffer {i} ({b.name or 'unnamed'}) at offset {b.offset} overruns the "
                              f"arena of {program.arena_bytes} bytes")


def output_roots(program: Program) -> list[int | None]:
    """Per output, the arena buffer it can be written to directly in caller memory, or None.

    An output can be redirected when its root is an arena buffer of the same byte
    size that no earlier output already claimed; the rest are copied out.
    """
    out: list[int | None] = []
    claimed: set[int] = set()
    for o in program.outputs:
        r = program.root(o)
        ok = (program.buffers[r].kind == "arena" and r not in claimed
              and nbytes(program.buffers[r]) == nbytes(program.buffers[o]))
        out.append(r if ok else None)
        if ok:
            claimed.add(r)
    return out


def buffer_pointers(program: Program, arena: int, params: list[int], inputs: list[int],
                    redirect: dict[int, int] | None = None) -> list[int]:
    """The device address of every buffer (``redirect``: arena buffer id -> caller pointer)."""
    redirect = redirect or {}
    if len(params) != len(program.params) or len(inputs) != len(program.inputs):
        raise ZenithError(f"{len(params)} parameter and {len(inputs)} input pointers for a program with "
                          f"{len(program.params)} and {len(program.inputs)}")
    ptrs = [0] * len(program.buffers)
    for i, b in enumerate(program.buffers):
        if b.kind == "input":
            ptrs[i] = inputs[b.index]
        elif b.kind == "param":
            ptrs[i] = params[b.index]
        elif b.kind == "arena":
            ptrs[i] = redirect[i] if i in redirect else arena + b.offset
    for i, b in enumerate(program.buffers):
        if b.kind == "view":
            ptrs[i] = ptrs[b.base]
    return ptrs


def plan_launches(program: Program, ptrs: list[int]) -> list[LaunchSpec]:
    """Every launch with its bound pointer arguments, in program order."""
    specs = []
    for launch in program.launches:
        grid, block, shared = geometry(program, launch)
        args = tuple(ptrs[b] for b in launch.inputs) + tuple(ptrs[b] for b in launch.outputs)
        specs.append(LaunchSpec(launch.kernel, grid, block, shared, args))
    return specs
