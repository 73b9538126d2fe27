"""CUDA C++ code generation: one kernel per ``zk.fused`` op (see kernel.py)."""

import importlib

from zenith.codegen.cuda.kernel import (
    CompiledCudaKernel,
    CudaKernel,
    CudaOptions,
    generate_kernel,
    register,
)

# Generator modules register their kinds on import; a module not written yet is skipped.
for _mod in ("elementwise", "reduction", "pool", "gemm", "conv", "attention"):
    try:
        importlib.import_module(f"zenith.codegen.cuda.{_mod}")
    except ModuleNotFoundError as _e:
        if _e.name != f"zenith.codegen.cuda.{_mod}":
            raise

__all__ = ["CompiledCudaKernel", "CudaKernel", "CudaOptions", "generate_kernel", "register"]
