"""Element types of tensors.

Each dtype is one interned :class:`DType` object, named as it prints in IR text
(``f32``, ``bf16``, ``i64``...). Low-precision floats come from ``ml_dtypes`` (a
dependency of ``onnx``), so every dtype has a real NumPy dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True, eq=False)
class DType:
    """An element type: its IR name, NumPy dtype and category."""

    name: str
    np_dtype: np.dtype
    kind: str  # "float", "int", "uint", "bool", "complex", "string"

    @property
    def itemsize(self) -> int:
        """Bytes per element (sub-byte types round up to one byte)."""
        return self.np_dtype.itemsize

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        return self.kind in ("int", "uint")

    @property
    def is_signed(self) -> bool:
        return self.kind in ("int", "float", "complex")

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple:
        return (dtype, (self.name,))


_TABLE: list[tuple[str, object, str]] = [
    ("f64", np.float64, "float"),
    ("f32", np.float32, "float"),
    ("f16", np.float16, "float"),
    ("bf16", ml_dtypes.bfloat16, "float"),
    ("f8e4m3fn", ml_dtypes.float8_e4m3fn, "float"),
    ("f8e4m3fnuz", ml_dtypes.float8_e4m3fnuz, "float"),
    ("f8e5m2", ml_dtypes.float8_e5m2, "float"),
    ("f8e5m2fnuz", ml_dtypes.float8_e5m2fnuz, "float"),
    ("f4e2m1", ml_dtypes.float4_e2m1fn, "float"),
    ("i64", np.int64, "int"),
    ("i32", np.int32, "int"),
    ("i16", np.int16, "int"),
    ("i8", np.int8, "int"),
    ("i4", ml_dtypes.int4, "int"),
    ("u64", np.uint64, "uint"),
    ("u32", np.uint32, "uint"),
    ("u16", np.uint16, "uint"),
    ("u8", np.uint8, "uint"),
    ("u4", ml_dtypes.uint4, "uint"),
    ("bool", np.bool_, "bool"),
    ("c64", np.complex64, "complex"),
    ("c128", np.complex128, "complex"),
    ("str", np.object_, "string"),
]

DTYPES: dict[str, DType] = {
    name: DType(name, np.dtype(npt), kind) for name, npt, kind in _TABLE
}
_BY_NUMPY: dict[np.dtype, DType] = {d.np_dtype: d for d in DTYPES.values()}

f64 = DTYPES["f64"]
f32 = DTYPES["f32"]
f16 = DTYPES["f16"]
bf16 = DTYPES["bf16"]
i64 = DTYPES["i64"]
i32 = DTYPES["i32"]
i16 = DTYPES["i16"]
i8 = DTYPES["i8"]
u8 = DTYPES["u8"]
boolean = DTYPES["bool"]


def dtype(name: str) -> DType:
    """Return the dtype named ``name`` (``"f32"``); KeyError lists valid names."""
    try:
        return DTYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown dtype '{name}'; expected one of {', '.join(DTYPES)}"
        ) from None


def from_numpy(np_dtype: object) -> DType:
    """Return the dtype of a NumPy dtype (or anything ``np.dtype`` accepts)."""
    key = np.dtype(np_dtype)
    if key.kind in ("U", "S"):
        return DTYPES["str"]
    try:
        return _BY_NUMPY[key]
    except KeyError:
        raise TypeError(f"NumPy dtype {key} has no Zenith dtype") from None


# Promotion lattice used by builders and frontends (the IR itself never promotes
# implicitly: elementwise ops require equal operand dtypes). See docs/ir.md.
_FLOAT_RANK = [
    "f4e2m1", "f8e4m3fnuz", "f8e5m2fnuz", "f8e4m3fn", "f8e5m2", "bf16", "f16", "f32", "f64"
]


def promote(a: DType, b: DType) -> DType:
    """The dtype two operands are cast to before a binary elementwise op.

    Rules (documented in docs/ir.md): equal dtypes stay; bool loses to anything;
    float beats int; among floats the wider wins, and f16 with bf16 gives f32;
    among ints of one signedness the wider wins; signed with unsigned gives the
    signed type wide enough for both (u64 with any signed gives f64, as NumPy).
    """
    if a is b:
        return a
    if a.is_bool:
        return b
    if b.is_bool:
        return a
    if a.is_float and b.is_float:
        if {a.name, b.name} == {"f16", "bf16"}:
            return f32
        return a if _FLOAT_RANK.index(a.name) >= _FLOAT_RANK.index(b.name) else b
    if a.is_float:
        return a
    if b.is_float:
        return b
    return from_numpy(np.promote_types(a.np_dtype, b.np_dtype))
