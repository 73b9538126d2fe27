"""Building blocks of type rules: broadcasting, axes, reductions, dtype checks.

All helpers work on dims that may be symbolic (``str``) or unknown (``None``)
and raise :class:`InferError` with a message that names the offending operand.
"""

from __future__ import annotations

from collections.abc import Sequence

from zenith.ir.dtypes import DType
from zenith.ir.opdef import InferContext, InferError
from zenith.ir.types import Dim, TensorType


def broadcast_dim(a: Dim, b: Dim) -> Dim:
    """The broadcast of two dims (NumPy rules), staying symbolic when it can."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        raise InferError(f"dims {a} and {b} do not broadcast")
    if isinstance(a, int):
        return a
    if isinstance(b, int):
        return b
    return None


def broadcast_shapes(*shapes: Sequence[Dim]) -> tuple[Dim, ...]:
    """NumPy broadcasting of several shapes."""
    first = shapes[0] if shapes else ()
    if all(s == first for s in shapes):
        return tuple(first)
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = [1] * rank
    for s in shapes:
        padded = [1] * (rank - len(s)) + list(s)
        try:
            out = [broadcast_dim(x, y) for x, y in zip(out, padded)]
        except InferError:
            raise InferError(
                "shapes " + ", ".join(_shape(s) for s in shapes) + " do not broadcast"
            ) from None
    return tuple(out)


def _shape(s: Sequence[Dim]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in s) + "]"


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    """Map a possibly negative axis into [0, rank)."""
    if not -rank <= axis < rank:
        raise InferError(f"{what} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def normalize_axes(axes: Sequence[int], rank: int, what: str = "axes") -> list[int]:
    out = [normalize_axis(a, rank, what) for a in axes]
    if len(set(out)) != len(out):
        raise InferError(f"{what} {list(axes)} repeat an axis")
    return out


def same_dtype(ctx: InferContext, indices: Sequence[int] | None = None) -> DType:
    """Check that the given operands (default all) share a dtype; return it."""
    types = ctx.operand_types
    idx = list(range(len(types))) if indices is None else list(indices)
    first = types[idx[0]].dtype
    for i in idx[1:]:
        if types[i].dtype is not first:
            raise InferError(
                f"operand #{i} has dtype {types[i].dtype} but operand #{idx[0]} has {first}"
            )
    return first


def require_float(t: TensorType, what: str = "operand") -> None:
    if not t.dtype.is_float:
        raise InferError(f"{what} must have a floating-point dtype, got {t.dtype}")


def require_rank(t: TensorType, rank: int | Sequence[int], what: str = "operand") -> None:
    ranks = (rank,) if isinstance(rank, int) else tuple(rank)
    if t.rank not in ranks:
        want = " or ".join(map(str, ranks))
        raise InferError(f"{what} must have rank {want}, got {t}")


def reduce_shape(shape: Sequence[Dim], axes: Sequence[int] | None, keepdims: bool) -> tuple[Dim, ...]:
    """Shape after reducing ``axes`` (None: all axes)."""
    rank = len(shape)
    ax = set(range(rank)) if axes is None else set(normalize_axes(axes, rank))
    if keepdims:
        return tuple(1 if i in ax else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in ax)


def dim_mul(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:
        return b
    if b == 1:
        return a
    return None


def dim_add(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if a == 0:
        return b
    if b == 0:
        return a
    return None


def dims_product(dims: Sequence[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = dim_mul(out, d)
    return out


def check_dims_match(a: Dim, b: Dim, what: str) -> Dim:
    """Two dims that must be equal; returns the more precise one."""
    if isinstance(a, int) and isinstance(b, int) and a != b:
        raise InferError(f"{what}: {a} != {b}")
    return a if isinstance(a, int) else b


def conv_out_dim(size: Dim, kernel: int, stride: int, dilation: int, pad_begin: int,
                 pad_end: int, ceil_mode: bool = False) -> Dim:
    """Output length of a sliding window over ``size`` (ONNX and PyTorch rules)."""
    if not isinstance(size, int):
        return None
    eff = dilation * (kernel - 1) + 1
    span = size + pad_begin + pad_end - eff
    if span < 0:
        raise InferError(
            f"window of {eff} does not fit input of {size} with padding {pad_begin}+{pad_end}"
        )
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    # The last window must start inside the input or the left padding.
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def check_broadcasts_to(shape: Sequence[Dim], target: Sequence[Dim], what: str) -> None:
    """Check that ``shape`` broadcasts to ``target`` without changing it (ONNX unidirectional)."""
    if len(shape) > len(target):
        raise InferError(f"{what} of rank {len(shape)} does not broadcast to rank {len(target)}")
    for s, t in zip(reversed(shape), reversed(target)):
        if isinstance(s, int) and s != 1 and isinstance(t, int) and s != t:
            raise InferError(f"{what} {_shape(shape)} does not broadcast to {_shape(target)}")


def format_shape(shape: Sequence[Dim]) -> str:
    """``[2, ?, "n"]``: a shape for error messages."""
    return "[" + ", ".join("?" if d is None else repr(d) if isinstance(d, str) else str(d)
                           for d in shape) + "]"


def dim_scale(d: Dim, k: int) -> Dim:
    """``d * k`` for a static factor ``k`` (exact for 0 and 1 even when ``d`` is symbolic)."""
    if k == 0:
        return 0
    if isinstance(d, int):
        return d * k
    return d if k == 1 else None


def require_int(t: TensorType, what: str = "operand") -> None:
    if not t.dtype.is_int:
        raise InferError(f"{what} must have an integer dtype, got {t.dtype}")


def static_length(t: TensorType, what: str) -> int:
    """The length of a 1-D operand whose length must be known (it decides a rank)."""
    require_rank(t, 1, what)
    n = t.shape[0]
    if not isinstance(n, int):
        raise InferError(f"{what} {t} must have a static length: it decides the result's rank")
    return n


def non_negative(values: Sequence[int], what: str) -> None:
    bad = [v for v in values if v < 0]
    if bad:
        raise InferError(f"{what} {list(values)} has negative entries")
