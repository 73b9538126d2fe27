"""Call arguments: NumPy arrays (copied to the device) or device arrays (used in place).

Device arrays are PyTorch CUDA tensors (``data_ptr``), objects with
``__cuda_array_interface__`` (CuPy, Numba, PyCUDA GPUArray) and DLPack CUDA
objects (converted to a tensor by ``torch.from_dlpack``, no copy). They must be
C-contiguous, of the input's dtype and shape, and on the executable's device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zenith.codegen.program import Buffer
from zenith.ir.diagnostics import ZenithError
from zenith.runtime.cuda.dtypes import TORCH, name_of_numpy, numpy_dtype

DLPACK_CUDA = 2  # kDLCUDA


@dataclass(frozen=True)
class DeviceArg:
    ptr: int
    kind: str  # "torch" or "cai"
    owner: Any


def is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "data_ptr") and hasattr(x, "is_cuda")


def _c_strides(shape: tuple[int, ...], item: int) -> tuple[int, ...]:
    out, s = [], item
    for d in reversed(shape):
        out.append(s)
        s *= max(d, 1)
    return tuple(reversed(out))


def _check(what: str, want: Buffer, shape: tuple[int, ...], dtype: str | None) -> None:
    if dtype != want.dtype:
        raise ZenithError(f"{what}: dtype {dtype or 'unsupported'} given, the model takes {want.dtype}")
    if tuple(shape) != tuple(want.shape):
        raise ZenithError(f"{what}: shape {list(shape)} given, the model takes {list(want.shape)}")


def device_arg(x: Any, want: Buffer, what: str, device: int) -> DeviceArg | None:
    """``x`` as a device pointer after checks, or None when ``x`` lives on the host."""
    if is_torch_tensor(x):
        if not x.is_cuda:
            return None
        _check(what, want, tuple(x.shape), TORCH.get(str(x.dtype)))
        if x.device.index != device:
            raise ZenithError(f"{what}: tensor is on cuda:{x.device.index}, the model runs on cuda:{device}")
        if not x.is_contiguous():
            raise ZenithError(f"{what}: tensor is not contiguous; pass x.contiguous()")
        return DeviceArg(int(x.data_ptr()), "torch", x)
    cai = getattr(x, "__cuda_array_interface__", None)
    if cai is not None:
        shape = tuple(cai["shape"])
        dt = np.dtype(cai["typestr"])
        _check(what, want, shape, name_of_numpy(dt))
        strides = cai.get("strides")
        if strides is not None and tuple(strides) != _c_strides(shape, dt.itemsize):
            raise ZenithError(f"{what}: array is not C-contiguous (strides {tuple(strides)})")
        return DeviceArg(int(cai["data"][0]), "cai", x)
    dev = getattr(x, "__dlpack_device__", None)
    if dev is not None and not isinstance(x, np.ndarray) and dev()[0] == DLPACK_CUDA:
        try:
            import torch
        except ImportError as e:
            raise ZenithError(f"{what}: DLPack CUDA arrays need PyTorch to be read without a copy") from e
        return device_arg(torch.from_dlpack(x), want, what, device)
    return None


def host_array(x: Any, want: Buffer, what: str) -> np.ndarray:
    """``x`` as a C-contiguous NumPy array of the input's dtype and shape (ZenithError if not)."""
    if is_torch_tensor(x):
        x = x.detach().numpy()
    arr = np.asarray(x)
    if not isinstance(x, np.ndarray) and arr.dtype != numpy_dtype(want.dtype):
        same_kind = arr.dtype.kind == numpy_dtype(want.dtype).kind or (
            arr.dtype.kind in "iu" and numpy_dtype(want.dtype).kind in "iu")
        if same_kind:
            arr = arr.astype(numpy_dtype(want.dtype))
    _check(what, want, arr.shape, name_of_numpy(arr.dtype))
    return np.ascontiguousarray(arr)


def is_device_array(x: Any) -> bool:
    """True for arrays that live on a CUDA device (torch CUDA tensors, CAI and DLPack CUDA objects)."""
    if is_torch_tensor(x):
        return bool(x.is_cuda)
    if hasattr(x, "__cuda_array_interface__"):
        return True
    dev = getattr(x, "__dlpack_device__", None)
    return dev is not None and not isinstance(x, np.ndarray) and dev()[0] == DLPACK_CUDA
