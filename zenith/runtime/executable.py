"""``Executable``: runs a CPU ``Program`` (a static plan of kernels) over one planned arena.

    exe = Executable(program)          # binds params and arena views once
    outs = exe([x, mask])              # checks inputs, runs the launches, copies the outputs

The arena comes from a :class:`~zenith.runtime.pool.MemoryPool` (host memory by
default). It is taken from the pool at the start of each call and given back at
the end, so models sharing a pool share its cached memory; the pool hands back
the same block every time in a steady workload (a cache hit, no new memory), and
the views bound to it are kept. Every buffer is bound to a NumPy array once:
parameters as read-only arrays, arena buffers as views of the block, views as
re-reads of their root; only inputs (and views of inputs) are bound per call.
Outputs live in the arena and are returned as copies.

Imports: only ``zenith.codegen.program`` and ``zenith.runtime`` (the runtime never
sees the IR).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from zenith.codegen.program import Program, ZenithError
from zenith.runtime.host import HostBackend, view
from zenith.runtime.pool import Block, MemoryPool
from zenith.runtime.threads import blas_threads, set_blas_threads


class Executable:
    """A callable over a CPU Program: ``exe(inputs) -> outputs`` (lists of arrays)."""

    def __init__(self, program: Program, pool: MemoryPool | None = None, profile: bool = False
                 ) -> None:
        if "np_dtypes" not in program.info:
            raise ZenithError(f"program for target '{program.target}' has no NumPy dtypes; "
                              "the CPU runtime runs programs made by zenith.codegen.cpu")
        self.program = program
        self.pool = pool if pool is not None else MemoryPool(HostBackend())
        self.profile = profile
        self.calls = 0
        self.profiled_calls = 0  # calls made with profile=True (the divisor of profile_table)
        self.kernel_seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._np = [np.dtype(program.info["np_dtypes"][b.dtype]) for b in program.buffers]
        self._arrays: list[np.ndarray | None] = [None] * len(program.buffers)
        self._block: Block | None = None
        self._per_call = [i for i, b in enumerate(program.buffers)
                          if program.buffers[program.root(i)].kind == "input"]
        self._bind_params()
        # launch argument lists: filled by _bind_arena (arena) and per call (inputs)
        self._launches = [(program.kernels[ln.kernel].run, ln.kernel, [None] * len(ln.inputs),
                           [None] * len(ln.outputs)) for ln in program.launches]
        self._slots: dict[int, list[tuple[list, int]]] = {}
        for (_, _, ins, outs), ln in zip(self._launches, program.launches):
            for lst, ids in ((ins, ln.inputs), (outs, ln.outputs)):
                for pos, b in enumerate(ids):
                    self._slots.setdefault(b, []).append((lst, pos))

    # -- binding ------------------------------------------------------------------------
    def _bind_params(self) -> None:
        p = self.program
        for i, b in enumerate(p.buffers):
            root = p.buffers[p.root(i)]
            if root.kind != "param":
                continue
            arr = np.asarray(p.params[root.index])
            arr = arr.reshape(b.shape) if b.kind == "view" else arr.view()
            arr.flags.writeable = False
            self._arrays[i] = arr

    def _bind_arena(self, block: Block) -> None:
        p = self.program
        for i, b in enumerate(p.buffers):
            root = p.buffers[p.root(i)]
            if root.kind == "arena":
                self._arrays[i] = view(block, root.offset, b.shape, self._np[i])
        for b, slots in self._slots.items():
            arr = self._arrays[b]
            if arr is not None:
                for lst, pos in slots:
                    lst[pos] = arr
        self._block = block

    def _bind_inputs(self, inputs: list[np.ndarray]) -> None:
        p = self.program
        for i in self._per_call:
            b = p.buffers[i]
            src = inputs[p.buffers[p.root(i)].index]
            arr = src if b.kind == "input" else src.reshape(b.shape)
            self._arrays[i] = arr
            for lst, pos in self._slots.get(i, ()):
                lst[pos] = arr

    def check_inputs(self, inputs: list[Any]) -> list[np.ndarray]:
        """Contiguous arrays of the program's input dtypes and shapes (ZenithError otherwise)."""
        p = self.program
        if len(inputs) != len(p.inputs):
            raise ZenithError(f"the program takes {len(p.inputs)} input(s) "
                              f"({', '.join(p.input_names)}), got {len(inputs)}")
        out = []
        for name, bid, x in zip(p.input_names, p.inputs, inputs):
            b, want = p.buffers[bid], self._np[bid]
            x = np.asarray(x)
            if x.dtype != want:
                raise ZenithError(f"input '{name}' has dtype {x.dtype}, expected {want} ({b.dtype})")
            if tuple(x.shape) != b.shape:
                raise ZenithError(f"input '{name}' has shape {tuple(x.shape)}, expected {b.shape}")
            out.append(x if x.flags.c_contiguous else np.ascontiguousarray(x).reshape(x.shape))
        return out

    # -- running ------------------------------------------------------------------------
    def __call__(self, inputs: list[Any]) -> list[np.ndarray]:
        arrays = self.check_inputs(list(inputs))
        with self._lock:
            block = self.pool.allocate(self.program.arena_bytes)
            try:
                if self._block is None or block.handle is not self._block.handle or \
                        block.offset != self._block.offset:
                    self._bind_arena(block)
                self._bind_inputs(arrays)
                self._run_with_blas_threads()
                self.calls += 1
                return [np.array(self._arrays[o], copy=True) for o in self.program.outputs]
            finally:
                self.pool.free(block)

    def _run_with_blas_threads(self) -> None:
        """``_run`` with OpenBLAS at the program's ``blas_threads`` (restored after)."""
        want = self.program.info.get("blas_threads")
        before = blas_threads() if want else None
        if before is None or before == want:
            self._run()
            return
        set_blas_threads(want)
        try:
            self._run()
        finally:
            set_blas_threads(before)

    def _run(self) -> None:
        name = ""
        try:
            if not self.profile:
                for run, name, ins, outs in self._launches:  # noqa: B007 (name: for errors)
                    run(ins, outs)
                return
            clock, acc = time.perf_counter, self.kernel_seconds
            for run, name, ins, outs in self._launches:
                t0 = clock()
                run(ins, outs)
                acc[name] = acc.get(name, 0.0) + clock() - t0
            self.profiled_calls += 1
        except ZenithError as e:
            if name and name not in str(e):
                raise ZenithError(f"kernel '{name}': {e.message}", e.loc, e.notes) from e
            raise
        except Exception as e:
            raise ZenithError(f"kernel '{name}' failed: {type(e).__name__}: {e}") from e

    # -- reporting ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Pool statistics plus the number of calls."""
        return {"calls": self.calls, **self.pool.stats.as_dict()}

    def profile_table(self, top: int = 20) -> str:
        """Per-kernel times (``profile=True``), slowest first, with kind and implementation."""
        if not self.kernel_seconds:
            return "no profile: create the Executable with profile=True and call it"
        total = sum(self.kernel_seconds.values())
        n = max(self.profiled_calls, 1)
        lines = [f"{'kernel':40s} {'kind':11s} {'impl':18s} {'ms/call':>8s} {'%':>6s}"]
        for name, s in sorted(self.kernel_seconds.items(), key=lambda kv: -kv[1])[:top]:
            k = self.program.kernels[name]
            lines.append(f"{name[:40]:40s} {getattr(k, 'kind', ''):11s} {getattr(k, 'impl', ''):18s} "
                         f"{1e3 * s / n:8.3f} {100 * s / total:6.1f}")
        lines.append(f"{'total':40s} {'':11s} {'':18s} {1e3 * total / n:8.3f}")
        return "\n".join(lines)
