"""Zenith as an ``onnx.backend.base.Backend``, so the ONNX backend test suite runs on it.

``prepare`` imports and compiles the model once; ``run`` calls the compiled model.
Only the CPU device is supported (there is no CUDA backend yet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import Backend, BackendRep, Device, DeviceType

from zenith.frontend.onnx.dtypes import to_onnx_type
from zenith.frontend.onnx.importer import newest_opset
from zenith.ir.dtypes import from_numpy


class ZenithRep(BackendRep):
    """A prepared model: ``run(inputs)`` returns a tuple of NumPy arrays."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        if not isinstance(inputs, Mapping):
            inputs = list(inputs)
        return tuple(self.compiled.run(inputs))


def _device_ok(device: str) -> bool:
    return Device(device).type == DeviceType.CPU


class ZenithBackend(Backend):
    """The ONNX backend interface over ``zenith.compile``."""

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        return _device_ok(device)

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> ZenithRep:
        from zenith.api import compile

        if not _device_ok(device):
            raise RuntimeError(f"Zenith's ONNX backend supports only the CPU device, not {device}")
        passes = kwargs.get("passes")
        return ZenithRep(compile(model, target="cpu", passes=passes,
                                 input_shapes=kwargs.get("input_shapes")))

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> tuple[Any, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Sequence[Any], device: str = "CPU",
                 outputs_info: Sequence[tuple[Any, tuple]] | None = None,
                 **kwargs: Any) -> tuple[Any, ...]:
        """Run one node on ``inputs`` by wrapping it in a one-node model."""
        arrays = [np.asarray(x) for x in inputs]
        names = [n for n in node.input if n]
        vis = [helper.make_tensor_value_info(n, to_onnx_type(from_numpy(a.dtype)), a.shape)
               for n, a in zip(names, arrays)]
        outs = [helper.make_tensor_value_info(n, 0, None) for n in node.output if n]
        graph = helper.make_graph([node], "node", vis, outs)
        opset = int(kwargs.pop("opset_version", newest_opset()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return cls.run_model(model, arrays, device, **kwargs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return _device_ok(device)


prepare = ZenithBackend.prepare
run_model = ZenithBackend.run_model
run_node = ZenithBackend.run_node
supports_device = ZenithBackend.supports_device
