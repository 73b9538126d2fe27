"""``zenith.compile`` and ``CompiledModel``: calling conventions, checks at call time,
targets, passes, the IR text, a pluggable executor, and the ONNX backend interface."""

from __future__ import annotations

import re

import numpy as np
import pytest
from onnx import TensorProto, helper

import zenith
from tests.onnx_util import mlp, mlp_oracle, model, ort_run, tensor
from zenith import executors
from zenith.ir import ZenithError
from zenith.onnx_backend import ZenithBackend
from zenith.tolerance import assert_close


def two_outputs():
    nodes = [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Mul", ["a", "b"], ["p"])]
    return model(nodes, [tensor("a", [2, 3]), tensor("b", [2, 3])],
                 [tensor("s", [2, 3]), tensor("p", [2, 3])])


A = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.full((2, 3), 0.5, np.float32)


def test_call_positionally_by_name_or_mixed():
    cm = zenith.compile(two_outputs())
    assert cm.input_names == ["a", "b"] and cm.output_names == ["s", "p"]
    for out in (cm(A, B), cm(a=A, b=B), cm(A, b=B), tuple(cm.run({"a": A, "b": B})),
                tuple(cm.run([A, B]))):
        assert isinstance(out, tuple) and len(out) == 2
        np.testing.assert_array_equal(out[0], A + B)
        np.testing.assert_array_equal(out[1], A * B)


def test_python_values_convert_within_their_kind():
    cm = zenith.compile(two_outputs())
    s, _ = cm(A.tolist(), [[0.5] * 3] * 2)
    np.testing.assert_array_equal(s, A + B)
    with pytest.raises(ZenithError, match="dtype i64, expected f32"):
        cm(A, [[1, 2, 3], [4, 5, 6]])


def test_single_output_is_an_array():
    y = zenith.compile(mlp())(A[:, :2].repeat(2, axis=1))
    assert isinstance(y, np.ndarray) and y.shape == (2, 3)


@pytest.mark.parametrize("call, message", [
    (lambda cm: cm(A), "missing input(s) 'b'"),
    (lambda cm: cm(a=A), "missing input(s) 'b'"),
    (lambda cm: cm(A, B, A), "takes 2 input(s)"),
    (lambda cm: cm(A, B, c=A), "unknown input 'c'"),
    (lambda cm: cm(A, a=A), "given both by position and by name"),
    (lambda cm: cm(A, B.astype(np.float64)), "input 'b' has dtype f64, expected f32"),
    (lambda cm: cm(A, B[:1]), "input 'b' has shape (1, 3)"),
    (lambda cm: cm(A, B.reshape(6)), "rank 1"),
])
def test_bad_calls_are_clear_errors(call, message):
    cm = zenith.compile(two_outputs())
    with pytest.raises(ZenithError, match=re.escape(message)):
        call(cm)


def test_symbolic_dims_must_agree_across_inputs():
    nodes = [helper.make_node("Add", ["a", "b"], ["s"])]
    m = model(nodes, [tensor("a", ["n", 3]), tensor("b", ["n", 3])], [tensor("s", ["n", 3])])
    cm = zenith.compile(m)
    np.testing.assert_array_equal(cm(A, B), A + B)
    with pytest.raises(ZenithError, match="n=1"):
        cm(A, B[:1])


def test_targets():
    assert zenith.compile(mlp(), target="auto").target == "cpu"  # dynamic batch: CPU even with a GPU
    assert zenith.compile(mlp(), target="cpu").target == "cpu"
    with pytest.raises(ZenithError, match="unknown target 'tpu'"):
        zenith.compile(mlp(), target="tpu")


def test_passes_keep_results_and_ir_is_text():
    x = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
    plain = zenith.compile(mlp())
    opt = zenith.compile(mlp(), passes="canonicalize,cse,dce")
    assert_close(mlp_oracle(x), opt(x))
    assert_close(plain(x), opt(x))
    text = opt.ir
    assert text.startswith("module") and '"zt.matmul"' in text and "@main" in text
    assert zenith.parse_module(text) is not None
    assert "CompiledModel target=cpu" in repr(opt)
    with pytest.raises(ZenithError):
        zenith.compile(mlp(), passes="no-such-pass")


def test_compile_a_zenith_module():
    mod = zenith.load_onnx(mlp())
    cm = zenith.compile(mod)
    x = np.ones((2, 4), np.float32)
    assert_close(mlp_oracle(x), cm(x))
    assert cm.module is not mod  # the caller's module is not optimized in place


def test_executor_is_pluggable(monkeypatch):
    seen = []

    class Recording(executors.InterpreterExecutor):
        def __call__(self, inputs):
            seen.append([a.shape for a in inputs])
            return super().__call__(inputs)

    monkeypatch.setitem(executors.EXECUTORS, "cpu", Recording)
    cm = zenith.compile(two_outputs())
    cm(A, B)
    assert seen == [[(2, 3), (2, 3)]]


def test_backend_prepare_run_and_run_node():
    rep = ZenithBackend.prepare(two_outputs(), "CPU")
    s, p = rep.run([A, B])
    np.testing.assert_array_equal(s, A + B)
    np.testing.assert_array_equal(p, A * B)
    assert ZenithBackend.supports_device("CPU") and not ZenithBackend.supports_device("CUDA")
    node = helper.make_node("Softmax", ["x"], ["y"], axis=1)
    (y,) = ZenithBackend.run_node(node, [A])
    ref = ort_run(model([node], [tensor("x", [2, 3])], [tensor("y", [2, 3])]), {"x": A})[0]
    assert_close(ref, y)
    with pytest.raises(RuntimeError, match="only the CPU"):
        ZenithBackend.prepare(two_outputs(), "CUDA")


def test_backend_specializes_on_parameter_inputs():
    nodes = [helper.make_node("ReduceMax", ["x", "axes"], ["y"], keepdims=1)]
    m = model(nodes, [tensor("x", [2, 3]), tensor("axes", [1], TensorProto.INT64)],
              [tensor("y", [None, None])], opset=18)
    rep = ZenithBackend.prepare(m)
    for axis in (0, 1, 0):
        (y,) = rep.run([A, np.array([axis], np.int64)])
        np.testing.assert_array_equal(y, A.max(axis=axis, keepdims=True))
