"""ONNX element types and tensors to Zenith dtypes and NumPy arrays, and back."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from zenith.ir.diagnostics import Location, ZenithError
from zenith.ir.dtypes import DTYPES, DType

_T = TensorProto
# ONNX TensorProto.DataType -> Zenith dtype name.
_ONNX_TO_ZENITH: dict[int, str] = {
    _T.FLOAT: "f32", _T.DOUBLE: "f64", _T.FLOAT16: "f16", _T.BFLOAT16: "bf16",
    _T.FLOAT8E4M3FN: "f8e4m3fn", _T.FLOAT8E4M3FNUZ: "f8e4m3fnuz", _T.FLOAT8E5M2: "f8e5m2",
    _T.FLOAT8E5M2FNUZ: "f8e5m2fnuz", _T.FLOAT4E2M1: "f4e2m1",
    _T.INT64: "i64", _T.INT32: "i32", _T.INT16: "i16", _T.INT8: "i8", _T.INT4: "i4",
    _T.UINT64: "u64", _T.UINT32: "u32", _T.UINT16: "u16", _T.UINT8: "u8", _T.UINT4: "u4",
    _T.BOOL: "bool", _T.COMPLEX64: "c64", _T.COMPLEX128: "c128", _T.STRING: "str",
}
_ZENITH_TO_ONNX: dict[str, int] = {v: k for k, v in _ONNX_TO_ZENITH.items()}


def onnx_type_name(elem_type: int) -> str:
    """The ONNX spelling of an element type (``FLOAT``), for messages."""
    try:
        return TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"<elem_type {elem_type}>"


def to_dtype(elem_type: int, loc: Location | None = None) -> DType:
    """The Zenith dtype of an ONNX element type; ZenithError when Zenith has none."""
    name = _ONNX_TO_ZENITH.get(elem_type)
    if name is None:
        raise ZenithError(f"ONNX element type {onnx_type_name(elem_type)} has no Zenith dtype", loc)
    return DTYPES[name]


def to_onnx_type(dt: DType) -> int:
    """The ONNX element type of a Zenith dtype."""
    return _ZENITH_TO_ONNX[dt.name]


def tensor_to_array(t: onnx.TensorProto, loc: Location | None = None) -> np.ndarray:
    """A read-only NumPy array holding an ONNX tensor (its external data must be loaded)."""
    if t.data_location == TensorProto.EXTERNAL and not t.raw_data:
        raise ZenithError(f"tensor '{t.name}' keeps its data in an external file that was not "
                          "loaded; load the model from its path (or pass base_dir)", loc)
    dt = to_dtype(t.data_type, loc)
    try:
        arr = numpy_helper.to_array(t)
    except Exception as e:  # malformed tensor payloads
        raise ZenithError(f"cannot read tensor '{t.name}': {e}", loc) from None
    if dt.kind == "string":
        arr = np.array([s.decode() if isinstance(s, bytes) else s for s in arr.ravel()],
                       dtype=object).reshape(arr.shape)
    elif arr.dtype != dt.np_dtype:
        arr = arr.astype(dt.np_dtype)
    arr.flags.writeable = False
    return arr


def array_to_tensor(arr: np.ndarray, name: str) -> onnx.TensorProto:
    """An ONNX tensor holding ``arr`` (any Zenith dtype)."""
    arr = np.asarray(arr)
    if arr.dtype == object:
        return onnx.helper.make_tensor(name, TensorProto.STRING, arr.shape,
                                       [str(s).encode() for s in arr.ravel()])
    return numpy_helper.from_array(arr, name)
