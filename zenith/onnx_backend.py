"""``zenith.onnx_backend``: Zenith as an ONNX backend (``onnx.backend.base.Backend``)."""

from zenith.frontend.onnx.backend import (
    ZenithBackend,
    ZenithRep,
    prepare,
    run_model,
    run_node,
    supports_device,
)

__all__ = ["ZenithBackend", "ZenithRep", "prepare", "run_model", "run_node", "supports_device"]
