"""Edge cases of fill, range, eye_like and one_hot vs ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import T, i64, infer, ort, run
from zenith.interpreter import interpret
from zenith.ir import Builder, Function, Module, ZenithError, dtype


def _make(name: str, **attrs):
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    op = b.create(name, [], attrs)
    b.create("func.return", op.results)
    fn.sync_signature()
    return op.results[0].type, interpret(m, [])[0]


@pytest.mark.parametrize("dt, value", [("f32", 0.0), ("f16", 2.5), ("i64", -(2**40)), ("bool", 1),
                                       ("u8", 255), ("i32", 7)])
def test_fill_matches_onnx(dt, value):
    from onnx import numpy_helper

    shape = (2, 0, 3) if dt == "i32" else (2, 3)
    np_dt = dtype(dt).np_dtype
    attr = numpy_helper.from_array(np.array([value], dtype=np_dt))
    want = ort("ConstantOfShape", [i64(*shape)], value=attr)[0]
    t, got = _make("zt.fill", shape=shape, value=value, dtype=dtype(dt))
    assert t == T(dt, *shape) and got.dtype == want.dtype and np.array_equal(want, got)


def test_fill_errors():
    for attrs, match in [
        ({"shape": (2, -1)}, "negative entries"),
        ({"shape": (2,), "value": 1.5, "dtype": dtype("i32")}, "not an integer"),
        ({"shape": (2,), "value": 300, "dtype": dtype("u8")}, "does not fit in u8"),
        ({"shape": (2,), "value": float("inf"), "dtype": dtype("i64")}, "not an integer"),
    ]:
        with pytest.raises(ZenithError, match=match):
            _make("zt.fill", **attrs)


@pytest.mark.parametrize("dt, start, limit, delta", [
    ("i64", 0, 10, 3), ("i64", 10, -3, -4), ("i32", 5, 5, 1), ("i32", 5, 1, 1),
    ("f32", 0.1, 1.0, 0.3), ("f64", -1.5, 2.0, 0.25), ("f32", 1.0, -1.0, -0.4), ("i64", -5, 5, 100),
])
def test_range_matches_onnx(dt, start, limit, delta):
    np_dt = dtype(dt).np_dtype
    want = ort("Range", [np.array(v, np_dt) for v in (start, limit, delta)])[0]
    t, got = _make("zt.range", start=start, limit=limit, delta=delta, dtype=dtype(dt))
    assert t == T(dt, len(want)) and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_range_errors():
    for attrs, match in [
        ({"limit": 3, "delta": 0}, "delta must not be 0"),
        ({"limit": 3.5}, "must be integers for dtype i64"),
        ({"limit": 300, "dtype": dtype("i8")}, "do not fit in i8"),
        ({"limit": 3, "dtype": dtype("bool")}, "needs a numeric dtype"),
        ({"limit": float("inf"), "dtype": dtype("f32")}, "no finite length"),
    ]:
        with pytest.raises(ZenithError, match=match):
            _make("zt.range", **attrs)


@pytest.mark.parametrize("k", [0, 1, -2, 5])
@pytest.mark.parametrize("shape", [(3, 4), (4, 2), (0, 3)])
def test_eye_like_matches_onnx(k, shape):
    x = np.ones(shape, np.float32)
    want = ort("EyeLike", [x], k=k, dtype=7)[0]  # int64
    got = run("zt.eye_like", [x], k=k, dtype=dtype("i64"))[0]
    assert got.dtype == np.int64 and np.array_equal(want, got)
    assert np.array_equal(ort("EyeLike", [x], k=k)[0], run("zt.eye_like", [x], k=k)[0])


def test_eye_like_types():
    assert infer("zt.eye_like", [T("f16", "n", 3)], dtype=dtype("bool")) == [T("bool", "n", 3)]
    with pytest.raises(ZenithError, match="must have rank 2"):
        infer("zt.eye_like", [T("f32", 3)])


@pytest.mark.parametrize("axis", [-1, 0, 1, -3])
def test_one_hot_matches_onnx(axis):
    idx = i64(0, -1, 3, 7, -4, 2).reshape(2, 3)
    values = np.array([-1.0, 5.0], np.float32)
    want = ort("OneHot", [idx, i64(3), values], axis=axis)[0]
    assert np.array_equal(want, run("zt.one_hot", [idx, values], depth=3, axis=axis)[0])


def test_one_hot_float_indices_match_onnx():
    idx = np.array([0.0, 1.7, -1.2, 2.9], np.float32)
    values = np.array([0, 1], np.float32)
    want = ort("OneHot", [idx, np.array([3.0], np.float32), values])[0]
    assert np.array_equal(want, run("zt.one_hot", [idx, values], depth=3)[0])


def test_one_hot_types_and_errors():
    assert infer("zt.one_hot", [T("i64", "n", 2), T("f16", 2)], depth=4, axis=1) == \
        [T("f16", "n", 4, 2)]
    assert infer("zt.one_hot", [T("i32"), T("u8", None)], depth=2) == [T("u8", 2)]
    with pytest.raises(ZenithError, match="2 elements"):
        infer("zt.one_hot", [T("i64", 3), T("f32", 3)], depth=4)
    with pytest.raises(ZenithError, match="depth must be at least 1"):
        infer("zt.one_hot", [T("i64", 3), T("f32", 2)], depth=0)
    with pytest.raises(ZenithError, match="axis 2 is out of range for rank 2"):
        infer("zt.one_hot", [T("i64", 3), T("f32", 2)], depth=2, axis=2)
    with pytest.raises(ZenithError, match="indices must be numeric"):
        infer("zt.one_hot", [T("bool", 3), T("f32", 2)], depth=2)
