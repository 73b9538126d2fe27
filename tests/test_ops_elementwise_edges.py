"""Edge cases of elementwise references that ONNX and C semantics pin down."""

from __future__ import annotations

import numpy as np
import pytest

import zenith  # noqa: F401
from zenith.interpreter import interpret
from zenith.ir import Builder, Function, Module, TensorType, dtype, from_numpy


def _run(name, *arrays, **attrs):
    m = Module()
    fn = m.add_function(Function("main", [TensorType(from_numpy(a.dtype), a.shape) for a in arrays], []))
    b = Builder.at_end(fn.body)
    b.create("func.return", [b.op(name, *fn.args, **attrs)])
    fn.sync_signature()
    return interpret(m, list(arrays))[0]


@pytest.mark.parametrize("to", ["f8e4m3fn", "f8e5m2"])
def test_saturating_cast_to_8bit_floats(to):
    x = np.array([1e6, -1e6, np.inf, -np.inf, np.nan], np.float32)
    y = _run("zt.cast", x, to=dtype(to)).astype(np.float32)
    top = 448.0 if to == "f8e4m3fn" else 57344.0
    np.testing.assert_array_equal(y[:4], [top, -top, top, -top])  # ONNX Cast table
    assert np.isnan(y[4])
    unsat = _run("zt.cast", x[:1], to=dtype(to), saturate=False).astype(np.float32)
    assert not np.isfinite(unsat[0])


def test_right_shift_by_bit_width_fills_with_the_sign():
    a = np.array([-8, 8, -1, 5], np.int32)
    n = np.array([40, 40, 1, 32], np.int32)
    np.testing.assert_array_equal(_run("zt.shr", a, n), [-1, 0, -1, 0])
    u = np.array([255, 1], np.uint8)
    np.testing.assert_array_equal(_run("zt.shr", u, np.array([8, 0], np.uint8)), [0, 1])


def test_integer_division_truncates_toward_zero_and_by_zero_gives_zero():
    a = np.array([7, -7, 7, -7, 5], np.int64)
    b = np.array([2, 2, -2, -2, 0], np.int64)
    np.testing.assert_array_equal(_run("zt.div", a, b), [3, -3, -3, 3, 0])


def test_zero_size_broadcast():
    a = np.zeros((0, 3), np.float32)
    b = np.ones((1, 3), np.float32)
    assert _run("zt.add", a, b).shape == (0, 3)
