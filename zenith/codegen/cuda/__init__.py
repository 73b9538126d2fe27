"""CUDA C++ code generation: one kernel per ``zk.fused`` op (see kernel.py)."""

from zenith.codegen.cuda.kernel import (
    CompiledCudaKernel,
    CudaKernel,
    CudaOptions,
    generate_kernel,
    register,
)

__all__ = ["CompiledCudaKernel", "CudaKernel", "CudaOptions", "generate_kernel", "register"]
