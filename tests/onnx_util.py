"""Helpers for the ONNX frontend tests: tiny models built with onnx.helper, and ORT runs."""

from __future__ import annotations

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


def ort_run(m: onnx.ModelProto | str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run a model in ONNX Runtime on the CPU (one thread, no spinning)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    src = m if isinstance(m, str) else m.SerializeToString()
    sess = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
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


def randomized_light_model(path: str, seed: int = 0) -> onnx.ModelProto:
    """A light model (constant weights from ConstantOfShape) with random weights instead, so
    its outputs depend on every layer: conv/gemm weights ~ N(0, 1/fan_in) (huge ones repeat
    one random block of a prime length), batch-norm scales in [0.2, 0.6] and variances in
    [0.5, 1.5], biases and means small. The input of the final Softmax (the logits) becomes
    an extra output: the probabilities alone are nearly one-hot."""
    m = onnx.load(path)
    rng = np.random.default_rng(seed)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    role = {}
    for node in m.graph.node:
        for i, name in enumerate(node.input):
            role[name] = (node.op_type, i)
    pool = rng.standard_normal(1_000_003).astype(np.float32)  # prime length: no aligned repeats

    def normal(shape: tuple[int, ...], std: float) -> np.ndarray:
        if int(np.prod(shape)) <= pool.size:
            return (rng.standard_normal(shape) * std).astype(np.float32)
        return np.resize(pool * np.float32(std), shape)

    keep = []
    for node in m.graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in inits:
            keep.append(node)
            continue
        shape = tuple(int(d) for d in inits[node.input[0]])
        op, i = role.get(node.output[0], ("", 0))
        if op in ("Conv", "Gemm") and i == 1:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
            arr = normal(shape, float(np.sqrt(1.0 / max(fan_in, 1))))
        elif op == "BatchNormalization" and i == 1:
            arr = rng.uniform(0.2, 0.6, shape)
        elif op == "BatchNormalization" and i == 4:
            arr = rng.uniform(0.5, 1.5, shape)
        else:
            arr = rng.uniform(-0.1, 0.1, shape)
        m.graph.initializer.append(onnx.numpy_helper.from_array(arr.astype(np.float32),
                                                                node.output[0]))
    del m.graph.node[:]
    m.graph.node.extend(keep)
    softmax = [n for n in keep if n.op_type == "Softmax"]
    if softmax:
        m.graph.output.append(helper.make_tensor_value_info(softmax[-1].input[0], F32, None))
    return m
