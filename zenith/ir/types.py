"""Types of SSA values: ranked tensors with static or symbolic dims.

A dim is an ``int`` (static), a ``str`` (a named symbol such as ``"batch"``: all
dims with the same name are equal at run time) or ``None`` (unknown, printed
``?``). Text form: ``tensor<1x128xf32>``, ``tensor<?x128xf32>``,
``tensor<"batch"x128xf32>``, ``tensor<f32>`` for a scalar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from zenith.ir.dtypes import DType

Dim = int | str | None


def format_dim(d: Dim) -> str:
    """Text of one dim: ``128``, ``?`` or ``"batch"``."""
    if d is None:
        return "?"
    if isinstance(d, str):
        return json.dumps(d)
    return str(d)


@dataclass(frozen=True)
class TensorType:
    """A ranked tensor type; immutable and hashable."""

    dtype: DType
    shape: tuple[Dim, ...]

    def __post_init__(self) -> None:
        for d in self.shape:
            if d is not None and not isinstance(d, str) and (not isinstance(d, int) or d < 0):
                raise ValueError(f"invalid dim {d!r} in shape {self.shape!r}")

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        """True when every dim is a known integer."""
        return all(isinstance(d, int) for d in self.shape)

    @property
    def num_elements(self) -> int | None:
        """Element count, or None when some dim is not static."""
        n = 1
        for d in self.shape:
            if not isinstance(d, int):
                return None
            n *= d
        return n

    @property
    def nbytes(self) -> int | None:
        n = self.num_elements
        return None if n is None else n * self.dtype.itemsize

    def with_shape(self, shape: tuple[Dim, ...]) -> TensorType:
        return TensorType(self.dtype, tuple(shape))

    def with_dtype(self, dtype: DType) -> TensorType:
        return TensorType(dtype, self.shape)

    def __str__(self) -> str:
        dims = "".join(format_dim(d) + "x" for d in self.shape)
        return f"tensor<{dims}{self.dtype.name}>"

    __repr__ = __str__


@dataclass(frozen=True)
class FunctionType:
    """The signature of a function: input and result types."""

    inputs: tuple[TensorType, ...]
    results: tuple[TensorType, ...]

    def __str__(self) -> str:
        ins = ", ".join(map(str, self.inputs))
        outs = ", ".join(map(str, self.results))
        return f"({ins}) -> ({outs})"


def dims_compatible(a: Dim, b: Dim) -> bool:
    """Whether two dims may be equal at run time (equal, or one not static)."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return True


def types_compatible(a: TensorType, b: TensorType) -> bool:
    """Same dtype and rank, and every dim pair compatible."""
    return (
        a.dtype is b.dtype
        and a.rank == b.rank
        and all(dims_compatible(x, y) for x, y in zip(a.shape, b.shape))
    )
