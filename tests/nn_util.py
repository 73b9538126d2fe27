"""Helpers for the op-family tests: run one op, infer its types, compare with ONNX.

``run_op`` builds a one-op module, verifies it and runs it in the reference
interpreter; ``result_types`` builds it over (possibly symbolic) operand types;
``onnx_ref`` runs the same computation through ``onnx.reference`` so the ONNX
semantics the frontend relies on are checked against ONNX's own evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zenith.interpreter import interpret
from zenith.ir import Builder, Function, Module, TensorType, from_numpy, verify


def build(name: str, types: Sequence[TensorType], attrs: dict[str, Any]) -> Module:
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    args = [fn.body.add_arg(t) for t in types]
    op = b.create(name, args, attrs)
    b.create("func.return", op.results)
    fn.sync_signature()
    verify(m)
    return m


def result_types(name: str, types: Sequence[TensorType], **attrs: Any) -> list[TensorType]:
    """The result types the op's type rule gives for ``types``."""
    m = build(name, types, attrs)
    return list(m.main.function_type.results)


def run_op(name: str, *inputs: np.ndarray, **attrs: Any) -> list[np.ndarray]:
    """Run op ``name`` on ``inputs`` through the interpreter."""
    arrays = [np.asarray(x) for x in inputs]
    types = [TensorType(from_numpy(a.dtype), a.shape) for a in arrays]
    return interpret(build(name, types, attrs), arrays)


def run1(name: str, *inputs: np.ndarray, **attrs: Any) -> np.ndarray:
    (out,) = run_op(name, *inputs, **attrs)
    return out


def tt(dtype: str, *shape) -> TensorType:
    from zenith.ir import dtype as dt

    return TensorType(dt(dtype), tuple(shape))


def onnx_ref(op_type: str, inputs: Sequence[np.ndarray | None], n_outputs: int = 1,
             opset: int | None = None, **attrs: Any) -> list[np.ndarray]:
    """Evaluate one ONNX node with ``onnx.reference`` (None inputs are omitted optionals)."""
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
    outs = [f"out{i}" for i in range(n_outputs)]
    node = helper.make_node(op_type, names, outs, **attrs)
    vi = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
          for n, x in zip(names, inputs) if x is not None]
    ov = [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in outs]
    graph = helper.make_graph([node], "g", vi, ov)
    opsets = [helper.make_opsetid("", opset)] if opset else None
    model = helper.make_model(graph, opset_imports=opsets)
    feeds = {n: x for n, x in zip(names, inputs) if x is not None}
    return list(ReferenceEvaluator(model).run(None, feeds))
