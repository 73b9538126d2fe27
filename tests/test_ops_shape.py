"""Edge cases of the shape ops: squeeze, unsqueeze, flatten, expand, identity, shape_of, size.

Numeric checks compare with ONNX Runtime (the ONNX frontend maps these ops 1:1) or
plain NumPy; type checks cover symbolic and unknown dims and the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import T, i64, infer, ort, run
from zenith.ir import ZenithError, parse_module, print_module
from zenith.tolerance import assert_close

RNG = np.random.default_rng(0)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# -- squeeze --------------------------------------------------------------------------


@pytest.mark.parametrize("axes", [None, (), (0,), (-1,), (0, 3), (-4, -1)])
def test_squeeze_matches_onnx(axes):
    x = _x(1, 3, 2, 1)
    want = ort("Squeeze", [x, None if axes is None else i64(*axes)])[0]
    got = run("zt.squeeze", [x], **({} if axes is None else {"axes": axes}))[0]
    assert_close(want, got)


def test_squeeze_types():
    assert infer("zt.squeeze", [T("f32", 1, "n", None, 1)]) == [T("f32", "n", None)]
    assert infer("zt.squeeze", [T("f32", "n", 1, 0)], axes=(0,)) == [T("f32", 1, 0)]
    assert infer("zt.squeeze", [T("f32", 1, 0, 1)], axes=(-1,)) == [T("f32", 1, 0)]


@pytest.mark.parametrize("attrs, match", [
    ({"axes": (1,)}, "cannot squeeze axis 1 of size 3"),
    ({"axes": (2,)}, "axes 2 is out of range for rank 2"),
    ({"axes": (0, -2)}, "repeat an axis"),
])
def test_squeeze_errors(attrs, match):
    with pytest.raises(ZenithError, match=match):
        infer("zt.squeeze", [T("f32", 1, 3)], **attrs)


def test_squeeze_runtime_dim_not_one_is_reported():
    from zenith.interpreter import interpret
    from zenith.ir import Builder, Function, Module

    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    x = fn.body.add_arg(T("f32", "n", 3))
    b.create("func.return", [b.op("zt.squeeze", x, axes=(0,))])
    fn.sync_signature()
    assert interpret(m, [_x(1, 3)])[0].shape == (3,)
    with pytest.raises(ZenithError, match="axis 0 has size 2 at run time"):
        interpret(m, [_x(2, 3)])


# -- unsqueeze ------------------------------------------------------------------------


@pytest.mark.parametrize("axes", [(0,), (-1,), (2,), (1, 3), (-4, 1), (3, 1)])
def test_unsqueeze_matches_onnx(axes):
    x = _x(2, 3)
    want = ort("Unsqueeze", [x, i64(*axes)])[0]
    assert_close(want, run("zt.unsqueeze", [x], axes=axes)[0])


def test_unsqueeze_types_and_errors():
    assert infer("zt.unsqueeze", [T("f32", "b", None)], axes=(0, -1)) == [T("f32", 1, "b", None, 1)]
    assert infer("zt.unsqueeze", [T("f32")], axes=(0,)) == [T("f32", 1)]
    with pytest.raises(ZenithError, match="axes 3 is out of range for rank 3"):
        infer("zt.unsqueeze", [T("f32", 2, 2)], axes=(3,))
    with pytest.raises(ZenithError, match="repeat an axis"):
        infer("zt.unsqueeze", [T("f32", 2, 2)], axes=(1, -3))


# -- flatten --------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -3])
def test_flatten_matches_onnx(axis):
    x = _x(2, 3, 4)
    assert_close(ort("Flatten", [x], axis=axis)[0], run("zt.flatten", [x], axis=axis)[0])


def test_flatten_zero_size_and_symbolic():
    x = np.zeros((2, 0, 3), np.float32)
    assert run("zt.flatten", [x], axis=2)[0].shape == (0, 3)
    assert run("zt.flatten", [x], axis=1)[0].shape == (2, 0)
    assert infer("zt.flatten", [T("f32", "b", 3, 4)]) == [T("f32", "b", 12)]
    assert infer("zt.flatten", [T("f32", "b", 3, "s")], axis=2) == [T("f32", None, "s")]
    assert infer("zt.flatten", [T("f32", 0, "s")], axis=0) == [T("f32", 1, None)]
    with pytest.raises(ZenithError, match="flatten axis 4 is out of range for rank 3"):
        infer("zt.flatten", [T("f32", 2, 3, 4)], axis=4)


# -- expand ---------------------------------------------------------------------------


@pytest.mark.parametrize("xshape, shape", [
    ((3, 1), (2, 1, 6)), ((3, 1), (1,)), ((1,), (0,)), ((2, 1, 4), (3, 1)), ((), (2, 2)),
])
def test_expand_matches_onnx(xshape, shape):
    x = _x(*xshape)
    assert_close(ort("Expand", [x, i64(*shape)])[0], run("zt.expand", [x], shape=shape)[0])


def test_expand_types_and_errors():
    assert infer("zt.expand", [T("f32", "n", 1)], shape=(1, 5)) == [T("f32", "n", 5)]
    assert infer("zt.expand", [T("f32", None, 3)], shape=(4, 1, 1)) == [T("f32", 4, None, 3)]
    with pytest.raises(ZenithError, match=r"cannot expand \[2, 3\] to \[4\]"):
        infer("zt.expand", [T("f32", 2, 3)], shape=(4,))
    with pytest.raises(ZenithError, match="negative entries"):
        infer("zt.expand", [T("f32", 2, 3)], shape=(-1, 3))


# -- identity / shape_of / size -------------------------------------------------------


def test_identity_keeps_everything():
    x = np.array([[True, False]])
    assert np.array_equal(run("zt.identity", [x])[0], x)
    assert infer("zt.identity", [T("bf16", "n", None)]) == [T("bf16", "n", None)]


@pytest.mark.parametrize("start, end", [(0, None), (1, None), (-1, None), (-10, 2), (2, 1),
                                        (5, None), (0, -1), (1, 100)])
def test_shape_of_matches_onnx(start, end):
    x = _x(2, 3, 4)
    kw = {"start": start} | ({} if end is None else {"end": end})
    want = ort("Shape", [x], **kw)[0]
    got = run("zt.shape_of", [x], **kw)[0]
    assert got.dtype == np.int64 and np.array_equal(want, got)
    (t,) = infer("zt.shape_of", [T("f32", "b", None, 4)], **kw)
    assert t == T("i64", len(want))


def test_size():
    assert run("zt.size", [np.zeros((3, 0, 2), np.int8)])[0] == 0
    got = run("zt.size", [_x(2, 3)])[0]
    assert got.dtype == np.int64 and got.shape == () and got == 6
    assert infer("zt.size", [T("f32", "n")]) == [T("i64")]


def test_reshape_zero_size_and_allowzero():
    x = np.zeros((0, 3), np.float32)
    assert run("zt.reshape", [x], shape=(3, 0), allowzero=True)[0].shape == (3, 0)
    assert run("zt.reshape", [x], shape=(-1, 0))[0].shape == (0, 3)  # 0 copies the input dim
    with pytest.raises(ZenithError, match="cannot reshape"):  # -1 is ambiguous (ORT agrees)
        infer("zt.reshape", [T("f32", 0, 3)], shape=(0, -1))


def test_symbolic_types_round_trip_through_text():
    from zenith.ir import Builder, Function, Module

    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    x = fn.body.add_arg(T("f32", "batch", 1, None))
    y = b.op("zt.squeeze", x, axes=(1,))
    z = b.op("zt.unsqueeze", y, axes=(0,))
    w = b.op("zt.flatten", z, axis=2)
    b.create("func.return", [w, b.op("zt.shape_of", w)])
    fn.sync_signature()
    assert [str(r.type) for r in fn.body.last.operands] == \
        ['tensor<"batch"x?xf32>', "tensor<2xi64>"]
    text = print_module(m)
    assert print_module(parse_module(text)) == text
