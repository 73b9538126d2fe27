"""Per-op sample generators and independent NumPy/PyTorch oracles.

Every registered op has an entry here (``test_opdefs.py`` enforces it). An entry
draws valid operands and attributes for its op, and gives an *oracle*: an
evaluation written independently of the op's reference implementation (plain
NumPy, or PyTorch for the heavy ops). The random-module strategy in
``tests/strategies.py`` composes these entries into whole programs.

Add an op: write ``@sample("zt.name", oracle=...)`` over a generator in the
module of its family.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from zenith.ir import DTYPES, DType, TensorType

FLOATS = ("f32", "f64", "f16", "bf16")
INTS = ("i64", "i32", "i8", "u8")
NUMERIC = FLOATS + INTS


@dataclass
class Arg:
    """One operand: a random tensor of ``type`` in [low, high], or a fixed constant."""

    type: TensorType
    low: float = -2.0
    high: float = 2.0
    const: np.ndarray | None = None
    reusable: bool = True  # may another op's result of this type stand in for it?

    @staticmethod
    def constant(value: np.ndarray) -> Arg:
        from zenith.ir import from_numpy

        value = np.asarray(value)
        return Arg(TensorType(from_numpy(value.dtype), value.shape), const=value, reusable=False)


@dataclass
class OpSample:
    name: str
    gen: Callable[[Draw, TensorType | None], tuple[list[Arg], dict[str, Any]]]
    oracle: Callable[..., Any] | None
    # Extra relative tolerance for this op on top of the dtype's (e.g. long reductions).
    rtol_scale: float = 1.0
    # Ops whose results depend on values below tolerance (argmax ties...) are not composed.
    composable: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Ops with regions: build(builder, operands, attrs) creates the op (its regions fixed
    # by the sample, so the oracle knows what they compute); None: builder.create.
    build: Callable[..., Any] | None = None

    def create(self, b: Any, operands: list, attrs: dict[str, Any]) -> Any:
        """Create this sample's op with ``b`` (an ir.Builder)."""
        if self.build is not None:
            return self.build(b, operands, attrs)
        return b.create(self.name, operands, attrs)


SAMPLES: dict[str, OpSample] = {}


def sample(name: str, oracle: Callable[..., Any] | None, rtol_scale: float = 1.0,
           composable: bool = True, build: Callable[..., Any] | None = None):
    """Register the decorated generator as the sample of op ``name``."""

    def deco(gen):
        if name in SAMPLES:
            raise ValueError(f"two samples for {name}")
        SAMPLES[name] = OpSample(name, gen, oracle, rtol_scale, composable, build=build)
        return gen

    return deco


class Draw:
    """Small drawing vocabulary over a hypothesis draw function."""

    def __init__(self, draw: Callable[[st.SearchStrategy], Any]) -> None:
        self._draw = draw

    def __call__(self, strategy: st.SearchStrategy) -> Any:
        return self._draw(strategy)

    def int(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi))

    def bool(self) -> bool:
        return self._draw(st.booleans())

    def choice(self, seq: Sequence[Any]) -> Any:
        return self._draw(st.sampled_from(list(seq)))

    def float(self, lo: float, hi: float) -> float:
        return self._draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=32))

    def dtype(self, names: Sequence[str]) -> DType:
        return DTYPES[self.choice(names)]

    def shape(self, min_rank: int = 0, max_rank: int = 4, min_dim: int = 1, max_dim: int = 5
              ) -> tuple[int, ...]:
        rank = self.int(min_rank, max_rank)
        return tuple(self.int(min_dim, max_dim) for _ in range(rank))

    def type(self, dtypes: Sequence[str], like: TensorType | None = None, **shape_kw
             ) -> TensorType:
        """A tensor type; reuses ``like`` when its dtype is allowed (to chain ops)."""
        if like is not None and like.dtype.name in dtypes and like.is_static and self.bool():
            return like
        return TensorType(self.dtype(dtypes), self.shape(**shape_kw))

    def broadcastable(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts against ``shape`` (drop leading dims, set some to 1)."""
        k = self.int(0, len(shape))
        out = tuple(1 if self.int(0, 3) == 0 else d for d in shape[k:])
        return out


def random_array(rng: np.random.Generator, arg: Arg) -> np.ndarray:
    """Test data for ``arg`` (its constant, or uniform in its range)."""
    if arg.const is not None:
        return arg.const
    t = arg.type
    shape = tuple(int(d) for d in t.shape)
    dt = t.dtype
    if dt.is_bool:
        return rng.random(shape) < 0.5
    if dt.is_int:
        info = np.iinfo(dt.np_dtype) if dt.itemsize > 1 or dt.name in ("i8", "u8") else None
        lo = int(max(arg.low, info.min if info else -8))
        hi = int(min(arg.high, info.max if info else 7))
        return rng.integers(lo, hi + 1, size=shape).astype(dt.np_dtype)
    vals = rng.uniform(arg.low, arg.high, size=shape)
    return vals.astype(dt.np_dtype)


def _load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


_load_all()
