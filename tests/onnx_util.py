"""Helpers for the ONNX frontend tests: tiny models built with onnx.helper, and ORT runs."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper

F32 = TensorProto.FLOAT


def model(nodes: Sequence[onnx.NodeProto], inputs: Sequence[onnx.ValueInfoProto],
          outputs: Sequence[onnx.ValueInfoProto], initializers: Sequence[onnx.TensorProto] = (),
          opset: int = 17, name: str = "g") -> onnx.ModelProto:
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def tensor(name: str, shape: Sequence, elem: int = F32) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, list(shape))


@functools.lru_cache(maxsize=4)
def _session(path: str):
    return _make_session(path)


def _make_session(src: str | bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def ort_run(m: onnx.ModelProto | str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run a model in ONNX Runtime on the CPU (one thread, no spinning; sessions of model
    files are cached)."""
    sess = _session(m) if isinstance(m, str) else _make_session(m.SerializeToString())
    return sess.run(None, feeds)


def mlp() -> onnx.ModelProto:
    """x[batch, 4] -> relu(x @ W + b) with a symbolic batch dim, and named nodes."""
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    b = np.array([0.5, -1.0, 0.25], np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="fc"),
             helper.make_node("Add", ["h", "b"], ["hb"], name="bias"),
             helper.make_node("Relu", ["hb"], ["y"])]
    return model(nodes, [tensor("x", ["batch", 4])], [tensor("y", ["batch", 3])],
                 [onnx.numpy_helper.from_array(w, "W"), onnx.numpy_helper.from_array(b, "b")])


def mlp_oracle(x: np.ndarray) -> np.ndarray:
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    b = np.array([0.5, -1.0, 0.25], np.float32)
    return np.maximum(x @ w + b, 0)
