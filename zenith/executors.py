"""Executors: what runs a compiled module for a target.

An executor factory takes the optimized module and returns a callable from a
list of input arrays to a list of output arrays. The CPU target runs the CPU
runtime (``zenith/cpu_executor.py``); ``cpu-interpreter`` runs the reference
interpreter (``zenith.compile(..., runtime="interpreter")``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from zenith.interpreter import Interpreter
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module


class Executor(Protocol):
    def __call__(self, inputs: list[np.ndarray]) -> list[np.ndarray]: ...


ExecutorFactory = Callable[[Module], Executor]


class InterpreterExecutor:
    """Runs the module's main function with the reference interpreter."""

    def __init__(self, module: Module) -> None:
        self.fn = module.main
        self.interp = Interpreter()

    def __call__(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self.interp.run_block(self.fn.body, list(inputs), {})


def _cpu_runtime(module: Module) -> Executor:
    from zenith.cpu_executor import CpuExecutor

    return CpuExecutor(module)


def cuda_executor(module: Module) -> Executor:
    """Fuse, plan, generate CUDA, compile and load (see zenith/cuda_target.py)."""
    from zenith.cuda_target import compile_cuda

    return compile_cuda(module)


EXECUTORS: dict[str, ExecutorFactory] = {"cpu": _cpu_runtime, "cpu-interpreter": InterpreterExecutor,
                                         "cuda": cuda_executor}


def register_executor(target: str, factory: ExecutorFactory) -> None:
    """Make ``factory`` the executor of ``target`` (replacing the previous one)."""
    EXECUTORS[target] = factory


def executor_for(target: str, module: Module) -> Executor:
    factory = EXECUTORS.get(target)
    if factory is None:
        raise ZenithError(f"no executor for target '{target}' (have: {', '.join(EXECUTORS)})")
    return factory(module)
