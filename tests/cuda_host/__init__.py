"""Run generated CUDA kernels on the CPU: compile their source with g++ against shim.h.

:class:`HostKernels` compiles many kernels into a few shared libraries (by
default two g++ processes in parallel, never one a kernel), each kernel behind
an ``extern "C"`` wrapper that launches it over its grid (zk_launch in shim.h).
Kernels whose threads cooperate (warp/block reductions) run each block's
threads as real threads; the others run thread after thread.
:func:`run_emulated` executes a whole fused, planned function: its kernels
of the kinds in ``HOST_KINDS`` through the library, the others (GEMM, conv,
attention: emulated by their own tests) through the interpreter.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np

from zenith.codegen.cuda.common import storage
from zenith.codegen.cuda.kernel import CudaKernel, generate_kernel
from zenith.codegen.cuda.nvcc import rename_entry
from zenith.interpreter import Interpreter
from zenith.ir import Module
from zenith.ir.core import Operation
from zenith.ir.opdef import CONSTANT_LIKE, TERMINATOR

SHIM = Path(__file__).with_name("shim.h")
CXX = shutil.which("g++")


def cooperative(k: CudaKernel) -> bool:
    """Threads that meet at barriers or shuffles (row-* and column-split reductions)."""
    strategy = k.notes.get("strategy", "")
    return strategy.startswith("row") or strategy == "column-split"


class HostKernels:
    """The given (kernel op, CudaKernel) pairs compiled by g++ into ``jobs`` shared libraries."""

    def __init__(self, items: list[tuple[Operation, CudaKernel]], workdir: Path, jobs: int = 2) -> None:
        units: list[list[str]] = [[f'#include "{SHIM}"'] for _ in range(max(1, min(jobs, len(items))))]
        self.symbols: list[tuple[int, str]] = []
        for n, (op, k) in enumerate(items):
            unit = n % len(units)
            entry = f"{k.entry}_h{n}"
            units[unit].append(rename_entry(k.source, k.entry, entry))
            types = [storage(v.type.dtype, op) for v in op.operands] + \
                    [storage(v.type.dtype, op) for v in op.results]
            nin = len(op.operands)
            args = ", ".join(f"({'const ' if i < nin else ''}{t}*)p[{i}]" for i, t in enumerate(types))
            sym = f"zh_run{n}"
            units[unit].append(f'extern "C" void {sym}(void** p) {{ zk_launch({k.grid[0]}, {k.block[0]}, '
                               f'{str(cooperative(k)).lower()}, [&] {{ {entry}({args}); }}); }}')
            self.symbols.append((unit, sym))
        self.libs = [ctypes.CDLL(str(so)) for so in self._compile(units, workdir)]
        self.items = items

    @staticmethod
    def _compile(units: list[list[str]], workdir: Path) -> list[Path]:
        """One shared library per unit, g++ processes in parallel (skipped when already built)."""
        sos, procs = [], []
        for lines in units:
            src = "\n".join(lines) + "\n"
            digest = hashlib.sha256(src.encode() + SHIM.read_bytes()).hexdigest()[:16]
            so = workdir / f"host_{digest}.so"
            sos.append(so)
            if so.exists():
                continue
            cpp = workdir / f"host_{digest}.cpp"
            cpp.write_text(src)
            cmd = [CXX, "-std=c++20", "-O0", "-shared", "-fPIC", "-pthread", "-w", "-o", str(so), str(cpp)]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode:
                raise RuntimeError(f"g++ failed on the generated kernels:\n{err[-6000:]}")
        return sos

    def run(self, n: int, inputs: list[np.ndarray]) -> list[np.ndarray]:
        op, _k = self.items[n]
        ins = [np.ascontiguousarray(a, dtype=v.type.dtype.np_dtype) for a, v in zip(inputs, op.operands)]
        outs = [np.empty(tuple(int(d) for d in r.type.shape), dtype=r.type.dtype.np_dtype)
                for r in op.results]
        for o in outs:
            o.reshape(-1).view(np.uint8).fill(0xA5)  # garbage: every element must be written
        ptrs = (ctypes.c_void_p * (len(ins) + len(outs)))(*[a.ctypes.data for a in ins + outs])
        unit, sym = self.symbols[n]
        getattr(self.libs[unit], sym)(ptrs)
        return outs


def kernel_ops(m: Module) -> list[Operation]:
    return [op for op in m.main.body if op.name == "zk.fused"]


# Kinds whose kernels this harness runs (the GEMM/conv/attention kernels have their own,
# tests/test_cuda_gemm_host.py; here they are interpreted).
HOST_KINDS = ("elementwise", "reduction", "pool")


def build(m: Module, workdir: Path, kinds=HOST_KINDS) -> HostKernels:
    """The host library of every kernel of ``m`` whose kind is in ``kinds``."""
    items = [(op, generate_kernel(op)) for op in kernel_ops(m) if op.attr("kind") in kinds]
    return HostKernels(items, workdir)


def run_emulated(m: Module, inputs: list[np.ndarray], lib: HostKernels) -> list[np.ndarray]:
    """Run the fused function of ``m``: emulated kernels from ``lib``, the rest interpreted."""
    fn = m.main
    env = dict(zip(fn.args, inputs))
    index = {op: n for n, (op, _) in enumerate(lib.items)}
    interp = Interpreter()
    for op in fn.body:
        ins = [env[v] for v in op.operands]
        if op.has_trait(TERMINATOR):
            return [np.asarray(env[v]) for v in op.operands]
        if op.has_trait(CONSTANT_LIKE):
            outs = [op.attr("value").array]
        elif op in index:
            outs = lib.run(index[op], ins)
        else:
            outs = interp.eval_op(op, ins, env)
        env.update(zip(op.results, outs))
    raise AssertionError("function without return")
