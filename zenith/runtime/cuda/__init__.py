"""The CUDA runtime: PyCUDA device memory for the pool, and :class:`CudaExecutable`.

Importing this package never imports PyCUDA; the driver is loaded on first use
(:func:`device_context`), so ``import zenith.runtime.cuda`` works on any machine.
:func:`availability` says why the CUDA target cannot run here (or None if it can).
Tests inject a fake driver with :func:`set_driver`.
"""

from zenith.runtime.cuda.backend import CudaBackend
from zenith.runtime.cuda.driver import (
    DeviceContext,
    availability,
    device_context,
    reset_driver,
    set_driver,
)
from zenith.runtime.cuda.executable import CudaExecutable

__all__ = ["CudaBackend", "CudaExecutable", "DeviceContext", "availability", "device_context",
           "reset_driver", "set_driver"]
