"""CPU code generation: a kernel per ``zk.fused`` op that writes into arena views.

``generate(fn)`` lowers a fused, planned function (``zenith.codegen.lower``) and
fills ``program.kernels`` with :class:`CpuKernel` records (see kernel.py, and
docs/runtime.md for the paths: NumPy with ``out=``, im2col + GEMM, generated C).
"""

from zenith.codegen.cpu.kernel import BUILDERS, CpuKernel, CpuOptions, build_kernel, generate, register

__all__ = ["BUILDERS", "CpuKernel", "CpuOptions", "build_kernel", "generate", "register"]
