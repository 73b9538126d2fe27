"""CUDA C++ code generation: one kernel per ``zk.fused`` op (see kernel.py)."""

from zenith.codegen.cuda.kernel import CudaKernel, CudaOptions, generate_kernel, register

__all__ = ["CudaKernel", "CudaOptions", "generate_kernel", "register"]
