"""The CUDA kernel record and the generator registry (one generator per ``zk.fused`` kind).

A generator takes one ``zk.fused`` op with static shapes and returns a
:class:`CudaKernel`: CUDA C++ source with one ``extern "C" __global__`` entry
whose parameters are the kernel's input pointers in operand order, then its
output pointers in result order (``const T* __restrict__`` / ``T* __restrict__``);
shapes are baked into the source as constants. Launch geometry is fixed at
generation time (static shapes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from zenith.ir.core import Operation
from zenith.ir.diagnostics import ZenithError


@dataclass(frozen=True)
class CudaOptions:
    """What a generator may specialise on."""

    arch: str = "sm_90"          # the target architecture (sm_80, sm_90...)
    tensor_cores: bool = True    # f16/bf16 GEMMs may use mma instructions


@dataclass(frozen=True)
class CudaKernel:
    name: str                       # the zk.fused name (unique in the function)
    entry: str                      # the extern "C" symbol
    source: str                     # a complete translation unit
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_bytes: int = 0           # dynamic shared memory
    n_inputs: int = 0
    n_outputs: int = 0
    notes: dict[str, str] = field(default_factory=dict)  # template chosen, tile sizes...


@dataclass(frozen=True)
class CompiledCudaKernel:
    """A kernel with its compiled image (cubin for ``arch``): what a CUDA Program holds."""

    kernel: CudaKernel
    image: bytes
    arch: str


Generator = Callable[[Operation, CudaOptions], CudaKernel]
GENERATORS: dict[str, Generator] = {}


def register(kind: str) -> Callable[[Generator], Generator]:
    """Decorator: make ``fn`` the generator for kernels of ``kind``."""
    def deco(fn: Generator) -> Generator:
        GENERATORS[kind] = fn
        return fn
    return deco


def generate_kernel(op: Operation, options: CudaOptions | None = None) -> CudaKernel:
    """The CUDA kernel for one ``zk.fused`` op; ZenithError names the kernel and op if none."""
    kind = op.attr("kind")
    gen = GENERATORS.get(kind)
    if gen is None:
        body = [o.name for o in op.regions[0].blocks[0].ops if o.name != "zk.yield"]
        raise ZenithError(f"kernel '{op.attr('name')}' at {op.loc}: the CUDA target has no "
                          f"generator for kind '{kind}' ({', '.join(body)})")
    return gen(op, options or CudaOptions())
