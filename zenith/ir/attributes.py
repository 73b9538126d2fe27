"""Attribute values.

Attributes are plain, immutable Python values: ``bool``, ``int``, ``float``,
``str``, ``tuple`` of attributes, :class:`~zenith.ir.dtypes.DType`,
:class:`~zenith.ir.types.TensorType`, ``None`` (an absent optional) and
:class:`DenseAttr` (a constant tensor backed by a read-only NumPy array). Being
hashable, attribute dicts can key CSE tables directly.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from zenith.ir.dtypes import DType, from_numpy
from zenith.ir.types import FunctionType, TensorType


class DenseAttr:
    """A constant tensor; equality and hashing are by dtype, shape and bytes."""

    __slots__ = ("_digest", "array", "type")

    def __init__(self, array: np.ndarray, dtype: DType | None = None) -> None:
        arr = np.asarray(array)
        if dtype is not None and arr.dtype != dtype.np_dtype:
            arr = arr.astype(dtype.np_dtype)
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        if arr.flags.writeable:
            arr = arr.copy()
            arr.flags.writeable = False
        self.array = arr
        self.type = TensorType(dtype or from_numpy(arr.dtype), tuple(int(d) for d in arr.shape))
        self._digest: bytes | None = None

    @property
    def dtype(self) -> DType:
        return self.type.dtype

    @property
    def size(self) -> int:
        return int(self.array.size)

    def digest(self) -> bytes:
        """A content hash (cached): dtype, shape and raw bytes."""
        if self._digest is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(str(self.type).encode())
            if self.dtype.kind == "string":
                h.update(repr(self.array.tolist()).encode())
            else:
                h.update(self.array.tobytes())
            self._digest = h.digest()
        return self._digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DenseAttr):
            return NotImplemented
        return self is other or (self.type == other.type and self.digest() == other.digest())

    def __hash__(self) -> int:
        return hash(self.digest())

    def __repr__(self) -> str:
        return f"DenseAttr({self.type})"


ATTR_SCALARS = (bool, int, float, str, DType, TensorType, FunctionType, DenseAttr)


def normalize_attr(value: Any) -> Any:
    """Convert a user-supplied value to a canonical attribute value.

    Lists become tuples, NumPy scalars become Python scalars, NumPy arrays become
    :class:`DenseAttr`. Raises TypeError for anything that is not an attribute.
    """
    if value is None or isinstance(value, ATTR_SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(normalize_attr(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return DenseAttr(value)
    raise TypeError(f"{type(value).__name__} is not a valid attribute value")


def attr_kind(value: Any) -> str:
    """A short name of an attribute value's kind, for diagnostics."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, DType):
        return "dtype"
    if isinstance(value, TensorType):
        return "type"
    if isinstance(value, FunctionType):
        return "function type"
    if isinstance(value, DenseAttr):
        return "dense"
    if isinstance(value, tuple):
        return "list"
    return type(value).__name__
