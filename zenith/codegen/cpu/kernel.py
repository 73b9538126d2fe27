"""The CPU kernel record, the fast-path registry, and ``generate`` (a planned function -> Program).

A CPU kernel is a Python callable ``run(ins, outs)``: ``ins`` are the kernel's
input arrays (``zk.fused`` operand order), ``outs`` views of the arena (result
order) that it must fill. Builders registered per ``zk.fused`` kind try to make
a fast kernel (NumPy with ``out=``, im2col + GEMM, generated C); the first that
accepts the op wins, and every kernel without one runs its body through the
op references (``reference.py``) and copies into its outputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from zenith.codegen.cpu.reference import reference_kernel
from zenith.codegen.lower import lower_function
from zenith.codegen.program import Program
from zenith.ir.core import Operation
from zenith.ir.dtypes import dtype
from zenith.ir.module import Function

Run = Callable[[list[np.ndarray], list[np.ndarray]], None]


@dataclass(frozen=True)
class CpuOptions:
    """What CPU kernels may specialise on."""

    threads: int = 2            # the runtime's threads (split GEMMs, attention heads)
    use_c: bool = True          # generated C for large elementwise work (gcc, cached)
    c_min_elements: int = 1 << 15  # below this, NumPy is faster than a C call
    split_gemm: bool = False    # GEMMs split over our threads, OpenBLAS single-threaded
    # OpenMP threads of generated C. 1 by default: an OpenMP pool next to OpenBLAS's
    # spinning one (and PyTorch's, when loaded) slowed every configuration measured,
    # split GEMMs included (ResNet-50 split: 190 ms with 2, 114 ms with 1).
    c_threads: int = 1
    # convolutions through the C direct-conv engine (conv.py) instead of im2col + OpenBLAS
    direct_conv: bool = True
    # 3x3 stride-1 convolutions with enough tiles through Winograd F(4x4, 3x3) (winograd.py;
    # needs direct_conv: its fallback for non-finite inputs)
    winograd: bool = True

    @staticmethod
    def from_env() -> CpuOptions:
        threads = int(os.environ.get("ZENITH_NUM_THREADS", "0") or 0) or min(2, os.cpu_count() or 1)
        use_c = os.environ.get("ZENITH_CPU_C", "1") != "0"
        split = os.environ.get("ZENITH_GEMM_SPLIT", "0") == "1"
        c_threads = int(os.environ.get("ZENITH_C_THREADS", "1") or 1)
        direct = os.environ.get("ZENITH_DIRECT_CONV", "1") != "0"
        wino = os.environ.get("ZENITH_WINOGRAD", "1") != "0"
        return CpuOptions(threads=threads, use_c=use_c, split_gemm=split, c_threads=c_threads,
                          direct_conv=direct, winograd=wino)

    @property
    def gemm_threads(self) -> int:
        """Threads of the runtime's own GEMM split (1: leave threading to the BLAS)."""
        return self.threads if self.split_gemm else 1


@dataclass
class CpuKernel:
    name: str
    kind: str          # the zk.fused kind
    impl: str          # which path writes it: "reference", "numpy-gemm", "c-elementwise"...
    run: Run
    ops: tuple[str, ...] = ()  # body op names
    notes: dict[str, str] = field(default_factory=dict)


Builder = Callable[[Operation, CpuOptions], "tuple[str, Run] | None"]
BUILDERS: dict[str, list[Builder]] = {}


def register(*kinds: str) -> Callable[[Builder], Builder]:
    """Decorator: try ``fn`` for kernels of ``kinds`` (in registration order)."""
    def deco(fn: Builder) -> Builder:
        for k in kinds:
            BUILDERS.setdefault(k, []).append(fn)
        return fn
    return deco


def body_ops(op: Operation) -> list[Operation]:
    return [o for o in op.regions[0].blocks[0].ops if o.name != "zk.yield"]


def build_kernel(op: Operation, options: CpuOptions) -> CpuKernel:
    """The best CPU kernel for one ``zk.fused`` op."""
    name, kind = op.attr("name"), op.attr("kind")
    ops = tuple(o.name for o in body_ops(op))
    for builder in BUILDERS.get(kind, ()):
        made = builder(op, options)
        if made is not None:
            return CpuKernel(name, kind, made[0], made[1], ops)
    return CpuKernel(name, kind, "reference", reference_kernel(op), ops)


def generate(fn: Function, options: CpuOptions | None = None) -> Program:
    """The CPU Program of a fused, planned function (ZenithError if it is not planned)."""
    from zenith.codegen.cpu import anchors, elementwise, norm, pool  # noqa: F401  (register the builders)

    options = options or CpuOptions.from_env()
    lowered = lower_function(fn, "cpu")
    program = lowered.program
    for name, op in lowered.kernel_ops.items():
        program.kernels[name] = build_kernel(op, options)
    program.info["np_dtypes"] = {b.dtype: dtype(b.dtype).np_dtype for b in program.buffers}
    program.info["threads"] = options.threads
    # GEMMs split over our threads, or OpenMP convolutions: OpenBLAS must stay single-threaded
    # while the program runs, or its pool, which spins for a while after each call, takes a
    # core from them (ResNet-50: 2.44x ORT's time against 1.58x). The Executable applies it per call.
    if options.split_gemm or any(k.impl.startswith("c-direct-conv") for k in program.kernels.values()):
        program.info["blas_threads"] = 1
    return program
