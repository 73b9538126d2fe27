"""Loading PyCUDA lazily, the device context, and an injectable driver for tests.

PyCUDA is imported on first use only. The context is the device's *primary*
context (the one PyTorch uses), so device pointers pass freely between Zenith
and PyTorch. A test replaces the driver with a fake object of the same shape
(``mem_alloc``, ``memcpy_*_async``, ``module_from_buffer``, ``Stream``,
``Device``, ``pagelocked_empty``...) and a fake graph API with :func:`set_driver`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zenith.runtime.cuda.graphs import GraphAPI, libcuda_graphs

INSTALL_HINT = ('install it on a machine with an NVIDIA GPU and the CUDA toolkit: pip install -e ".[cuda]" '
                "(see docs/cuda.md, 'Runtime and PyCUDA')")


class CudaUnavailable(RuntimeError):
    """PyCUDA or a GPU is missing; the message says which and how to fix it."""


@dataclass
class DeviceContext:
    """A driver module, a device and its (pushed) primary context, and the graph API."""

    driver: Any
    device_index: int
    device: Any
    context: Any
    graphs: GraphAPI | None
    graph_error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def attribute(self, name: str) -> int:
        return int(self.device.get_attribute(getattr(self.driver.device_attribute, name)))


_override: tuple[Any, GraphAPI | None] | None = None
_contexts: dict[int, DeviceContext] = {}


def set_driver(driver: Any, graphs: GraphAPI | None = None) -> None:
    """Use ``driver`` (a fake ``pycuda.driver``) and ``graphs`` instead of PyCUDA and libcuda."""
    global _override
    _override = (driver, graphs)
    _contexts.clear()


def reset_driver() -> None:
    """Forget an injected driver and every context made so far."""
    global _override
    _override = None
    _contexts.clear()


def _import_pycuda() -> Any:
    try:
        import pycuda.driver as drv
    except ImportError as e:
        raise CudaUnavailable(f"PyCUDA is not installed ({e}); {INSTALL_HINT}") from e
    return drv


def availability() -> str | None:
    """None when the CUDA target can run here, else the reason (what is missing, how to fix)."""
    if _override is not None:
        return None
    try:
        drv = _import_pycuda()
    except CudaUnavailable as e:
        return str(e)
    try:
        drv.init()
        count = drv.Device.count()
    except Exception as e:
        return (f"PyCUDA is installed but the CUDA driver could not start ({type(e).__name__}: {e}); "
                "this machine needs an NVIDIA GPU with its driver")
    if count == 0:
        return "PyCUDA is installed but no CUDA device is visible (check CUDA_VISIBLE_DEVICES and nvidia-smi)"
    return None


def device_context(device: int = 0) -> DeviceContext:
    """The context of ``device``, made once (CudaUnavailable if PyCUDA or the GPU is missing)."""
    ctx = _contexts.get(device)
    if ctx is not None:
        return ctx
    if _override is not None:
        drv, graphs = _override
        err = None if graphs is not None else "no graph API given"
    else:
        reason = availability()
        if reason is not None:
            raise CudaUnavailable(reason)
        drv = _import_pycuda()
        try:
            graphs, err = libcuda_graphs(), None
        except OSError as e:
            graphs, err = None, f"libcuda graph entry points unavailable: {e}"
    drv.init()
    if device >= drv.Device.count():
        raise CudaUnavailable(f"CUDA device {device} does not exist ({drv.Device.count()} visible)")
    dev = drv.Device(device)
    context = dev.retain_primary_context()
    context.push()
    ctx = DeviceContext(drv, device, dev, context, graphs, err)
    _contexts[device] = ctx
    return ctx
