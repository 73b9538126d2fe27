"""CUDA C++ code generation: one kernel per ``zk.fused`` op (see kernel.py)."""

from zenith.codegen.cuda.kernel import (
    CompiledCudaKernel,
    CudaKernel,
    CudaOptions,
    generate_kernel,
    register,
)

__all__ = ["CompiledCudaKernel", "CudaKernel", "CudaOptions", "generate_kernel", "register"]

# Generators register themselves on import (kernel.register).
from zenith.codegen.cuda import attention, conv, gemm  # noqa: F401
