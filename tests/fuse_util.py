"""Helpers for the fusion and memory-planning tests."""

from __future__ import annotations

import numpy as np

from zenith.interpreter import interpret
from zenith.ir import Module, parse_module, verify
from zenith.ir.core import Operation
from zenith.passes import run_pipeline
from zenith.passes.semantics import random_inputs
from zenith.tolerance import assert_close


def kernels(m: Module) -> list[Operation]:
    return [op for op in m.main.body if op.name == "zk.fused"]


def body_ops(kernel: Operation) -> list[str]:
    """Names of a kernel's body ops, the yield left out."""
    return [op.name for op in kernel.regions[0].blocks[0] if op.name != "zk.yield"]


def kernel_ops(m: Module) -> list[list[str]]:
    return [body_ops(k) for k in kernels(m)]


def run_and_compare(text_or_module: str | Module, pipeline: str = "fuse", seed: int = 0, trials: int = 2,
                    scale: float = 4.0, inputs: list[np.ndarray] | None = None) -> Module:
    """Run ``pipeline``; the interpreter's results before and after must agree."""
    m = parse_module(text_or_module) if isinstance(text_or_module, str) else text_or_module
    verify(m)
    rng = np.random.default_rng(seed)
    sets = [inputs] if inputs is not None else [random_inputs(m.main, rng) for _ in range(trials)]
    want = [interpret(m, ins) for ins in sets]
    run_pipeline(m, pipeline)
    verify(m)
    for ins, w in zip(sets, want):
        got = interpret(m, ins)
        for i, (a, b) in enumerate(zip(w, got, strict=True)):
            assert_close(a, b, scale=scale, what=f"{pipeline}: result #{i}")
    return m
