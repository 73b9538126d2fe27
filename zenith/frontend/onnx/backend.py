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

from zenith.frontend.onnx.context import NeedsStaticInput
from zenith.frontend.onnx.dtypes import to_onnx_type
from zenith.frontend.onnx.importer import newest_opset
from zenith.ir.dtypes import from_numpy


def structure_of(value: Any) -> tuple:
    """The input_structure entry of a run-time value: a list is a sequence, None an
    absent optional, anything else a tensor."""
    if value is None:
        return ("none",)
    if isinstance(value, (list, tuple)):
        return ("seq", [np.shape(x) for x in value])
    return ("tensor", np.shape(value))


def flatten_inputs(named: dict[str, Any]) -> dict[str, Any]:
    """Sequence inputs become ``name[i]`` entries; absent optionals disappear."""
    out: dict[str, Any] = {}
    for k, v in named.items():
        if isinstance(v, (list, tuple)):
            out.update({f"{k}[{i}]": np.asarray(x) for i, x in enumerate(v)})
        elif v is not None:
            out[k] = v
    return out


class ZenithRep(BackendRep):
    """A prepared model: ``run(inputs)`` returns a tuple of NumPy arrays.

    When the model computes an op parameter (a reshape's shape, reduction axes)
    from its inputs, or takes sequence or optional inputs, compilation waits for
    ``run``: those inputs are then fixed to the given values (``static_inputs``)
    or structures (``input_structure``), and the specialization is cached.
    """

    MAX_SPECIALIZATIONS = 8

    def __init__(self, model: onnx.ModelProto, options: dict[str, Any],
                 compiled: Any = None, static: Sequence[str] = ()) -> None:
        self.model = model
        self.options = options
        self.compiled = compiled
        self.static = list(static)
        inits = {t.name for t in model.graph.initializer}
        graph_inputs = [vi for vi in model.graph.input if vi.name not in inits]
        self.input_names = [vi.name for vi in graph_inputs]
        self.structured = [vi.name for vi in graph_inputs
                           if not vi.type.HasField("tensor_type")]
        self._cache: dict[tuple, Any] = {}

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        if self.compiled is not None:
            return tuple(self.compiled.run(inputs if isinstance(inputs, Mapping) else list(inputs)))
        named = dict(inputs) if isinstance(inputs, Mapping) else dict(zip(self.input_names, inputs))
        compiled = self._specialize(named)
        rest = flatten_inputs({k: v for k, v in named.items() if k not in self.static})
        return tuple(compiled.run(rest))

    def _specialize(self, named: dict[str, Any]) -> Any:
        from zenith.api import compile

        structure = {k: structure_of(named.get(k)) for k in self.structured}
        for _ in range(len(self.input_names) + 1):
            fixed = {k: np.asarray(named[k]) for k in self.static}
            key = (repr(sorted(structure.items())),) + tuple(
                (k, a.dtype.str, a.shape, a.tobytes()) for k, a in sorted(fixed.items()))
            if key in self._cache:
                return self._cache[key]
            try:
                compiled = compile(self.model, static_inputs=fixed, input_structure=structure,
                                   **self.options)
            except NeedsStaticInput as e:
                if set(e.inputs) <= set(self.static):
                    raise
                self.static += [n for n in e.inputs if n not in self.static]
                continue
            if len(self._cache) >= self.MAX_SPECIALIZATIONS:
                self._cache.clear()
            self._cache[key] = compiled
            return compiled
        raise RuntimeError("could not specialize the model on its inputs")


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
        options = {"target": "cpu", "passes": kwargs.get("passes"),
                   "input_shapes": kwargs.get("input_shapes")}
        if any(not vi.type.HasField("tensor_type") for vi in model.graph.input):
            return ZenithRep(model, options)  # sequence / optional inputs: compile at run
        try:
            return ZenithRep(model, options, compile(model, **options))
        except NeedsStaticInput as e:
            return ZenithRep(model, options, static=e.inputs)

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
