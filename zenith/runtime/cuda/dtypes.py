"""Zenith dtype names as NumPy and PyTorch dtypes (the runtime sees names only)."""

from __future__ import annotations

import ml_dtypes
import numpy as np

NUMPY: dict[str, np.dtype] = {
    "f64": np.dtype(np.float64), "f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "i8": np.dtype(np.int8), "i16": np.dtype(np.int16), "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64), "u8": np.dtype(np.uint8), "u16": np.dtype(np.uint16),
    "u32": np.dtype(np.uint32), "u64": np.dtype(np.uint64), "bool": np.dtype(np.bool_),
    "f8e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn), "f8e4m3fnuz": np.dtype(ml_dtypes.float8_e4m3fnuz),
    "f8e5m2": np.dtype(ml_dtypes.float8_e5m2), "f8e5m2fnuz": np.dtype(ml_dtypes.float8_e5m2fnuz),
    "f4e2m1": np.dtype(ml_dtypes.float4_e2m1fn),  # 4-bit types: one byte per element, as NumPy stores them
    "i4": np.dtype(ml_dtypes.int4), "u4": np.dtype(ml_dtypes.uint4),
    "c64": np.dtype(np.complex64), "c128": np.dtype(np.complex128),
}

# str(torch.dtype) -> zenith name (no torch import needed to compare)
TORCH: dict[str, str] = {
    "torch.float64": "f64", "torch.float32": "f32", "torch.float16": "f16", "torch.bfloat16": "bf16",
    "torch.int8": "i8", "torch.int16": "i16", "torch.int32": "i32", "torch.int64": "i64",
    "torch.uint8": "u8", "torch.uint16": "u16", "torch.uint32": "u32", "torch.uint64": "u64",
    "torch.bool": "bool", "torch.float8_e4m3fn": "f8e4m3fn", "torch.float8_e4m3fnuz": "f8e4m3fnuz",
    "torch.float8_e5m2": "f8e5m2", "torch.float8_e5m2fnuz": "f8e5m2fnuz", "torch.complex64": "c64",
    "torch.complex128": "c128",
}


def numpy_dtype(name: str) -> np.dtype:
    try:
        return NUMPY[name]
    except KeyError:
        raise ValueError(f"the CUDA runtime has no dtype '{name}'") from None


def itemsize(name: str) -> int:
    return numpy_dtype(name).itemsize


def name_of_numpy(dt: np.dtype) -> str | None:
    """The zenith name of a NumPy dtype (None if it has none)."""
    for k, v in NUMPY.items():
        if v == dt:
            return k
    return None
