"""``Program``: what code generation hands the runtime (plain data and kernel handles).

The runtime never sees the IR: it sees buffers (how each value is reached at run
time), parameters to upload once, kernels by name (target-specific objects:
C entry points, CUDA source, Python callables), an ordered list of launches and
the outputs. See docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zenith.ir.diagnostics import ZenithError  # re-exported: the runtime's error type

__all__ = ["Buffer", "Launch", "Program", "ZenithError"]

BUFFER_KINDS = ("input", "param", "arena", "view")


@dataclass(frozen=True)
class Buffer:
    """How one value is reached at run time.

    ``input``: call argument ``index``; ``param``: ``Program.params[index]``;
    ``arena``: ``offset`` bytes into the arena; ``view``: buffer ``base`` (never
    itself a view) re-read with this buffer's shape and dtype.
    """

    kind: str
    shape: tuple[int, ...]
    dtype: str  # zenith dtype name ("f32", "i64"...)
    index: int = -1
    offset: int = 0
    base: int = -1
    name: str = ""

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class Launch:
    """One kernel call: buffers read (zk.fused operand order) and written (result order)."""

    kernel: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    config: dict[str, Any] = field(default_factory=dict)  # target-specific (grid, block...)


@dataclass
class Program:
    target: str
    buffers: list[Buffer]
    params: list[np.ndarray]
    kernels: dict[str, Any]
    launches: list[Launch]
    inputs: list[int]
    input_names: list[str]
    outputs: list[int]
    output_names: list[str]
    arena_bytes: int
    info: dict[str, Any] = field(default_factory=dict)  # report data (kernel kinds, plan figures)

    def root(self, buffer_id: int) -> int:
        """The buffer a view re-reads (``buffer_id`` itself when it is no view)."""
        b = self.buffers[buffer_id]
        return b.base if b.kind == "view" else buffer_id
