"""Edge cases of gather/scatter ops, judged by ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import T, i64, infer, ort, run
from zenith.ir import ZenithError

RNG = np.random.default_rng(3)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _same(want, got):
    assert want.shape == got.shape and want.dtype == got.dtype and np.array_equal(want, got)


# -- gather ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("idx", [i64(0, -1, 2), i64(-3, 1).reshape(2, 1), np.array(1, np.int32),
                                 np.zeros((0, 2), np.int64)])
def test_gather_matches_onnx(axis, idx):
    x = _x(3, 4, 3)
    _same(ort("Gather", [x, idx], axis=axis)[0], run("zt.gather", [x, idx], axis=axis)[0])


def test_gather_types_and_errors():
    assert infer("zt.gather", [T("f32", "n", 5), T("i64", "k", 2)], axis=1) == [T("f32", "n", "k", 2)]
    assert infer("zt.gather", [T("f32", 5), T("i32")]) == [T("f32")]
    with pytest.raises(ZenithError, match="indices must have an integer dtype"):
        infer("zt.gather", [T("f32", 5), T("f32", 2)])
    with pytest.raises(ZenithError, match="axis 1 is out of range for rank 1"):
        infer("zt.gather", [T("f32", 5), T("i64", 2)], axis=1)
    with pytest.raises(ZenithError, match="index 5 is out of range for axis 0 of size 5"):
        run("zt.gather", [_x(5), i64(1, 5)])
    with pytest.raises(ZenithError, match="index -6 is out of range"):
        run("zt.gather", [_x(5), i64(-6)])


# -- gather_elements / scatter_elements -----------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements_matches_onnx(axis):
    x = _x(3, 4)
    idx = RNG.integers(-3, 3, size=(2, 3)).astype(np.int64)
    _same(ort("GatherElements", [x, idx], axis=axis)[0],
          run("zt.gather_elements", [x, idx], axis=axis)[0])


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("axis", [0, -1])
def test_scatter_elements_matches_onnx(reduction, axis):
    x = _x(3, 4)
    if reduction == "none":  # distinct targets per line
        idx = np.array([[0, -1, 1], [2, 0, -2]], np.int64) if axis == 0 else \
            np.array([[3, 0], [-1, 1], [2, -4]], np.int64)
    else:
        idx = np.array([[0, 0, 2], [-1, 0, 1]], np.int64) if axis == 0 else \
            np.array([[1, 1], [-1, 3], [0, 0]], np.int64)
    upd = _x(*idx.shape)
    want = ort("ScatterElements", [x, idx, upd], axis=axis, reduction=reduction)[0]
    got = run("zt.scatter_elements", [x, idx, upd], axis=axis, reduction=reduction)[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_elements_types_and_errors():
    assert infer("zt.gather_elements", [T("f32", "n", 4), T("i64", 2, "m")], axis=1) == \
        [T("f32", 2, "m")]
    with pytest.raises(ZenithError, match="indices dim 1 exceeds the data's: 5 > 4"):
        infer("zt.gather_elements", [T("f32", 3, 4), T("i64", 9, 5)])
    with pytest.raises(ZenithError, match="must have the rank of the data"):
        infer("zt.gather_elements", [T("f32", 3, 4), T("i64", 3)])
    assert infer("zt.scatter_elements", [T("i32", "n", 4), T("i64", 2, 4), T("i32", 2, 4)]) == \
        [T("i32", "n", 4)]
    with pytest.raises(ZenithError, match="reduction 'sum' is not one of"):
        infer("zt.scatter_elements", [T("f32", 3), T("i64", 2), T("f32", 2)], reduction="sum")
    with pytest.raises(ZenithError, match="updates dim 0 differs from indices: 2 != 3"):
        infer("zt.scatter_elements", [T("f32", 3), T("i64", 2), T("f32", 3)])
    with pytest.raises(ZenithError, match="operand #2 has dtype f16"):
        infer("zt.scatter_elements", [T("f32", 3), T("i64", 2), T("f16", 2)])
    with pytest.raises(ZenithError, match="index 4 is out of range for axis 1 of size 4"):
        run("zt.gather_elements", [_x(2, 4), i64(0, 4).reshape(1, 2)], axis=1)


# -- gather_nd / scatter_nd -----------------------------------------------------------


@pytest.mark.parametrize("batch_dims, idx", [
    (0, i64(0, -1, 1, 2).reshape(2, 2)),
    (0, i64(1, 0).reshape(2, 1)),
    (0, i64(1, 2, -1).reshape(1, 3)),
    (1, i64(0, 2, -1, 0).reshape(2, 2)),
    (1, i64(1, -2).reshape(2, 1)),
    (2, i64(3, 0, 1, 2, 2, 1).reshape(2, 3, 1)),
])
def test_gather_nd_matches_onnx(batch_dims, idx):
    x = _x(2, 3, 4)
    want = ort("GatherND", [x, idx], batch_dims=batch_dims)[0]
    _same(want, run("zt.gather_nd", [x, idx], batch_dims=batch_dims)[0])


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd_matches_onnx(reduction):
    x = _x(3, 4, 2)
    idx = i64(0, 1, -1, 2, 1, 0).reshape(3, 2) if reduction == "none" else \
        i64(0, 1, -3, 1, 2, -4).reshape(3, 2)
    upd = _x(3, 2)
    want = ort("ScatterND", [x, idx, upd], reduction=reduction)[0]
    got = run("zt.scatter_nd", [x, idx, upd], reduction=reduction)[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_nd_types_and_errors():
    assert infer("zt.gather_nd", [T("f32", "b", 3, 4), T("i64", "b", 5, 1)], batch_dims=1) == \
        [T("f32", "b", 5, 4)]
    assert infer("zt.gather_nd", [T("f32", 2, 3), T("i64", 2)]) == [T("f32")]
    with pytest.raises(ZenithError, match="must have a static last dim"):
        infer("zt.gather_nd", [T("f32", 2, 3), T("i64", 4, "k")])
    with pytest.raises(ZenithError, match="index tuples of length 3 do not fit"):
        infer("zt.gather_nd", [T("f32", 2, 3), T("i64", 4, 3)])
    with pytest.raises(ZenithError, match="batch_dims 2 must be in"):
        infer("zt.gather_nd", [T("f32", 2, 3), T("i64", 2, 1)], batch_dims=2)
    with pytest.raises(ZenithError, match="indices batch dim 0 differs from the data's: 3 != 2"):
        infer("zt.gather_nd", [T("f32", 2, 3), T("i64", 3, 1)], batch_dims=1)
    assert infer("zt.scatter_nd", [T("f32", "n", 3), T("i64", 5, 1), T("f32", 5, 3)]) == \
        [T("f32", "n", 3)]
    with pytest.raises(ZenithError, match=r"updates tensor<5xf32> must have shape \[5, 3\]"):
        infer("zt.scatter_nd", [T("f32", 4, 3), T("i64", 5, 1), T("f32", 5)])
    with pytest.raises(ZenithError, match="index 2 is out of range for axis 1 of size 2"):
        run("zt.scatter_nd", [_x(3, 2), i64(0, 2).reshape(1, 2), _x(1)])
