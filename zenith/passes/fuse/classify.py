"""What each op is to the partitioner: a table from op name to fusion class.

Every function-level op falls in exactly one class:

- ``constant``: constant-like ops; they stay outside kernels as parameters;
- ``view``: ops that only re-interpret memory (the ``view`` trait: reshape,
  squeeze, unsqueeze, flatten, identity); they stay outside kernels and alias
  their operand, unless they sit inside an elementwise chain;
- ``elementwise``: ops with the ``elementwise`` trait;
- ``injective``: data-movement ops whose every output element is one input
  element at a computed index (or a value computed from the index alone);
- an anchor kind (``matmul``, ``conv``, ``attention``, ``pool``, ``reduction``);
- ``opaque``: everything else (ops with regions, scans, sorts, scatters...).
- ``kernel``: a ``zk.fused`` op from an earlier run, kept as it is.
"""

from __future__ import annotations

from zenith.ir.core import Operation, Value
from zenith.ir.opdef import CONSTANT_LIKE, ELEMENTWISE, TERMINATOR, VIEW
from zenith.ir.types import TensorType

FUSED = "zk.fused"
YIELD = "zk.yield"

INJECTIVE = frozenset(f"zt.{n}" for n in (
    "transpose", "expand", "slice", "concat", "split", "pad", "tile", "gather", "gather_elements",
    "gather_nd", "depth_to_space", "space_to_depth", "trilu", "reverse_sequence", "fill", "range",
    "eye_like", "one_hot",
))

ANCHOR_KINDS: dict[str, str] = {
    **{f"zt.{n}": "matmul" for n in ("matmul", "gemm", "linear")},
    **{f"zt.{n}": "conv" for n in ("conv", "conv_transpose")},
    "zt.attention": "attention",
    **{f"zt.{n}": "pool" for n in ("max_pool", "avg_pool", "lp_pool", "max_pool_with_indices",
                                    "global_avg_pool", "global_max_pool", "global_lp_pool")},
    **{f"zt.reduce_{n}": "reduction" for n in ("sum", "mean", "max", "min", "prod", "l1", "l2",
                                                "log_sum", "log_sum_exp", "sum_square")},
    **{f"zt.{n}": "reduction" for n in (
        "argmax", "argmin", "softmax", "log_softmax", "hardmax", "layer_norm", "rms_norm",
        "group_norm", "instance_norm", "batch_norm", "lp_normalization",
        "mean_variance_normalization", "lrn")},
}
ANCHOR_KIND_NAMES = ("matmul", "conv", "attention", "pool", "reduction")

# Elementwise ops cheap enough to recompute for every element of a broadcast.
CHEAP = frozenset(f"zt.{n}" for n in (
    "add", "sub", "mul", "neg", "abs", "relu", "max", "min", "cast", "where", "eq", "ne", "lt",
    "le", "gt", "ge", "and", "or", "xor", "not", "clip", "sign", "floor", "ceil", "round",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
)) | INJECTIVE


def op_class(op: Operation) -> str:
    """The fusion class of a function-level op (see the module doc)."""
    if op.name == FUSED:
        return "kernel"
    if op.has_trait(CONSTANT_LIKE):
        return "constant"
    if op.has_trait(TERMINATOR):
        return "terminator"
    if op.regions:
        return "opaque"
    if op.has_trait(VIEW) and len(op.operands) == 1 and len(op.results) == 1:
        return "view"
    if op.has_trait(ELEMENTWISE):
        return "elementwise"
    if op.name in INJECTIVE:
        return "injective"
    return ANCHOR_KINDS.get(op.name, "opaque")


def kernel_kind(cls: str) -> str:
    """The ``zk.fused`` kind of a single op of class ``cls``."""
    if cls in ("elementwise", "injective", "view"):
        return "elementwise"
    if cls in ANCHOR_KIND_NAMES:
        return cls
    return "opaque"


def is_view(op: Operation | None) -> bool:
    return op is not None and op_class(op) == "view"


def view_base(v: Value) -> Value:
    """The value a chain of views starting at ``v`` re-interprets (``v`` if none)."""
    op = getattr(v, "op", None)
    while is_view(op):
        v = op.operand(0)
        op = getattr(v, "op", None)
    return v


def numel(t: TensorType, unknown: int = 16) -> int:
    """Element count, counting each non-static dim as ``unknown`` (for estimates)."""
    n = 1
    for d in t.shape:
        n *= d if isinstance(d, int) else unknown
    return n


def nbytes(t: TensorType, unknown: int = 16) -> int:
    """Byte size (an estimate when some dim is not static)."""
    return numel(t, unknown) * t.dtype.itemsize


def short_name(op: Operation) -> str:
    """``zt.layer_norm`` -> ``layer_norm``."""
    return op.name.split(".", 1)[-1]
