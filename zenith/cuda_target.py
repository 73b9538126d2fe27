"""The CUDA target of ``zenith.compile``: fuse, plan, generate, compile, load.

    module --fuse,plan-memory--> lower_function --build_program (codegen/cuda)--> Program
           --> runtime.cuda.CudaExecutable (the executor)

Everything GPU-specific is imported lazily, so this module imports anywhere.
"""

from __future__ import annotations

from typing import Any

from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module

PRECISIONS = {"fp32": None, "fp16": "f16", "bf16": "bf16"}


def precision_pipeline(precision: str) -> str:
    """The pass that gives ``precision`` ("" for fp32); ZenithError for an unknown one."""
    if precision not in PRECISIONS:
        raise ZenithError(f"unknown precision '{precision}'; expected one of {', '.join(PRECISIONS)}")
    dt = PRECISIONS[precision]
    return f"lower-precision{{dtype={dt}}}" if dt else ""


def codegen_missing() -> str | None:
    """Why CUDA code generation cannot run in this checkout (None if it can)."""
    try:
        from zenith.codegen.cuda.build import build_program  # noqa: F401
    except ImportError as e:
        return f"CUDA code generation (zenith.codegen.cuda.build) is not available: {e}"
    return None


def cuda_unavailable() -> str | None:
    """None when target 'cuda' can run here, else what is missing and how to install it."""
    from zenith.runtime.cuda import availability

    return availability() or codegen_missing()


def device_arch(device: int = 0) -> str:
    from zenith.runtime.cuda import device_context

    major, minor = device_context(device).device.compute_capability()
    return f"sm_{major}{minor}"


def compile_cuda(module: Module, *, device: int = 0, graphs: bool = True, pool: Any = None) -> Any:
    """A :class:`~zenith.runtime.cuda.CudaExecutable` for ``module`` (fused and planned in place)."""
    from zenith.codegen.lower import lower_function
    from zenith.passes import run_pipeline
    from zenith.runtime.cuda import CudaExecutable

    missing = codegen_missing()
    if missing:
        raise ZenithError(f"target 'cuda': {missing}")
    from zenith.codegen.cuda.build import build_program
    from zenith.codegen.cuda.kernel import CudaOptions

    run_pipeline(module, "fuse,plan-memory")
    fn = module.main
    if "arena_bytes" not in fn.attributes:
        dyn = [f"{a.name_hint or i}: {a.type}" for i, a in enumerate(fn.args) if not a.type.is_static]
        raise ZenithError("target 'cuda' needs static shapes and the memory plan could not be made"
                          + (f"; inputs with dynamic dims: {', '.join(dyn)}; pass input_shapes=" if dyn else
                             " (a kernel result has a data-dependent shape)"))
    lowered = lower_function(fn, "cuda")
    program = build_program(lowered, CudaOptions(arch=device_arch(device)), compile=True)
    return CudaExecutable(program, pool=pool, graphs=graphs, device=device)
