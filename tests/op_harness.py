"""Helpers for single-op tests: type inference, interpretation, and ONNX Runtime as a judge.

    infer("zt.slice", [T("f32", 4, "n")], starts=(1,), ends=(3,))   -> [TensorType]
    run("zt.slice", [x], starts=(1,), ends=(3,))                      -> [np.ndarray]
    ort("Slice", [x, starts, ends])                                   -> [np.ndarray]

An operand given as a NumPy array to ``run`` is a function input unless listed in
``consts`` (operand positions that become ``zt.constant`` ops, visible to type rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zenith.interpreter import interpret
from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, Value, dtype, from_numpy, verify


def T(dt: str, *shape: int | str | None) -> TensorType:
    """``T("f32", 2, "n", None)``: a tensor type."""
    return TensorType(dtype(dt), tuple(shape))


def build(name: str, operands: Sequence[TensorType | np.ndarray], consts: Sequence[int] = (),
          **attrs: Any) -> tuple[Module, list[np.ndarray]]:
    """A module whose main runs one op; returns it and the arrays its inputs take."""
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    values: list[Value] = []
    feeds: list[np.ndarray] = []
    for i, o in enumerate(operands):
        if isinstance(o, TensorType):
            values.append(fn.body.add_arg(o))
        elif i in consts:
            values.append(b.op("zt.constant", value=DenseAttr(np.asarray(o))))
        else:
            arr = np.asarray(o)
            values.append(fn.body.add_arg(TensorType(from_numpy(arr.dtype), arr.shape)))
            feeds.append(arr)
    op = b.create(name, values, attrs)
    b.create("func.return", op.results)
    fn.sync_signature()
    verify(m)
    return m, feeds


def infer(name: str, operands: Sequence[TensorType | np.ndarray], consts: Sequence[int] = (),
          **attrs: Any) -> list[TensorType]:
    """The result types the op's type rule gives."""
    m, _ = build(name, operands, consts, **attrs)
    return [t for t in m.main.function_type.results]


def run(name: str, operands: Sequence[np.ndarray], consts: Sequence[int] = (), **attrs: Any
        ) -> list[np.ndarray]:
    """Interpret one op on concrete operands."""
    m, feeds = build(name, operands, consts, **attrs)
    return interpret(m, feeds)


def ort(op_type: str, inputs: Sequence[np.ndarray | None], n_out: int = 1, opset: int = 21,
        **attrs: Any) -> list[np.ndarray]:
    """Run one ONNX node in ONNX Runtime (``None`` inputs are omitted optional inputs).

    Sessions are cached by op, attributes and input dtypes (input shapes are left
    unknown), so a grid of cases costs one session.
    """
    inputs = list(inputs)
    while inputs and inputs[-1] is None:
        inputs.pop()
    names = [f"in{i}" if a is not None else "" for i, a in enumerate(inputs)]
    key = (op_type, n_out, opset, repr(sorted(attrs.items())),
           tuple(None if a is None else a.dtype.str for a in inputs))
    sess = _SESSIONS.get(key)
    if sess is None:
        sess = _SESSIONS[key] = _session(op_type, names, inputs, n_out, opset, attrs)
    return sess.run(None, {n: a for n, a in zip(names, inputs) if a is not None})


_SESSIONS: dict[tuple, Any] = {}


def _session(op_type, names, inputs, n_out, opset, attrs):
    import onnxruntime
    from onnx import helper

    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(op_type, names, outs, **attrs)
    vis = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), None)
           for n, a in zip(names, inputs) if a is not None]
    ovis = [helper.make_value_info(o, helper.make_empty_tensor_value_info(o).type) for o in outs]
    model = helper.make_model(helper.make_graph([node], "g", vis, ovis),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    so = onnxruntime.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(model.SerializeToString(), so,
                                        providers=["CPUExecutionProvider"])


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)
