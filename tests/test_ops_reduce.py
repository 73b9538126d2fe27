"""Edge cases of reductions, arg-reductions, cumsum/cumprod and top-k.

Expected values come from the ONNX spec text, from ``onnx.reference`` or from
plain NumPy written here, never from the references under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.nn_util import onnx_ref, result_types, run1, run_op, tt
from zenith.ir import ZenithError
from zenith.tolerance import assert_close

RED = ["sum", "mean", "max", "min", "prod", "l1", "l2", "log_sum", "log_sum_exp", "sum_square"]
ONNX_NAMES = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
              "prod": "ReduceProd", "l1": "ReduceL1", "l2": "ReduceL2", "log_sum": "ReduceLogSum",
              "log_sum_exp": "ReduceLogSumExp", "sum_square": "ReduceSumSquare"}


@pytest.mark.parametrize("name", RED)
@pytest.mark.parametrize("axes,keepdims", [((1,), True), ((-1, 0), False), (None, True),
                                           (None, False), ((), True)])
def test_reductions_match_onnx_reference(name, axes, keepdims):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 2.0, size=(3, 4, 2)).astype(np.float32)
    kw = {"keepdims": int(keepdims)}
    ins = [x]
    if axes is not None:
        ins.append(np.array(axes, dtype=np.int64))
    if axes == ():
        kw["noop_with_empty_axes"] = 1
    (want,) = onnx_ref(ONNX_NAMES[name], ins, opset=18, **kw)
    got = run1(f"zt.reduce_{name}", x, axes=axes, keepdims=keepdims)
    assert_close(np.asarray(want, np.float32), got, what=name)


EMPTY_F32 = {"sum": 0.0, "mean": np.nan, "max": -np.inf, "min": np.inf, "prod": 1.0, "l1": 0.0,
             "l2": 0.0, "log_sum": -np.inf, "log_sum_exp": -np.inf, "sum_square": 0.0}


@pytest.mark.parametrize("name", RED)
def test_empty_reduction_gives_identity(name):
    x = np.zeros((2, 0, 3), np.float32)
    got = run1(f"zt.reduce_{name}", x, axes=(1,))
    assert got.shape == (2, 1, 3)
    assert_close(np.full((2, 1, 3), EMPTY_F32[name], np.float32), got)


def test_empty_reduction_integer_and_bool_identities():
    xi = np.zeros((0, 2), np.int8)
    assert run1("zt.reduce_max", xi, axes=(0,), keepdims=False).tolist() == [-128, -128]
    assert run1("zt.reduce_min", xi, axes=(0,), keepdims=False).tolist() == [127, 127]
    assert run1("zt.reduce_prod", xi, axes=(0,), keepdims=False).tolist() == [1, 1]
    assert run1("zt.reduce_mean", xi, axes=(0,), keepdims=False).tolist() == [0, 0]
    xb = np.zeros((0,), bool)
    assert run1("zt.reduce_max", xb).tolist() == [False]
    assert run1("zt.reduce_min", xb).tolist() == [True]


def test_reduce_to_scalar_and_rank0():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    got = run1("zt.reduce_sum", x, keepdims=False)
    assert got.shape == () and got == 15.0
    s = np.array(2.5, np.float32)
    assert run1("zt.reduce_max", s).shape == ()
    assert run1("zt.reduce_sum_square", s, axes=()) == np.float32(6.25)


def test_empty_axes_is_elementwise():
    x = np.array([[-1.5, 2.0], [3.0, -4.0]], np.float32)
    np.testing.assert_array_equal(run1("zt.reduce_l1", x, axes=()), np.abs(x))
    np.testing.assert_array_equal(run1("zt.reduce_sum_square", x, axes=()), x * x)


def test_integer_sum_wraps_and_mean_truncates():
    x = np.array([100, 100, 27], np.int8)
    assert int(run1("zt.reduce_sum", x)[0]) == (227 + 128) % 256 - 128
    assert run1("zt.reduce_mean", np.array([-3, -4], np.int32)).tolist() == [-3]
    assert run1("zt.reduce_mean", np.array([3, 4], np.int64)).tolist() == [3]
    many = np.full(300, 100, np.int8)  # the sum overflows int8; the mean must not
    assert run1("zt.reduce_mean", many).tolist() == [100]
    assert run1("zt.reduce_mean", np.full(300, 200, np.uint8)).tolist() == [200]


def test_bool_max_min_are_any_all():
    x = np.array([[True, False], [False, False]])
    assert run1("zt.reduce_max", x, axes=(1,), keepdims=False).tolist() == [True, False]
    assert run1("zt.reduce_min", x, axes=(0,), keepdims=False).tolist() == [False, False]


def test_log_sum_exp_is_stable():
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 0.0]], np.float32)
    got = run1("zt.reduce_log_sum_exp", x, axes=(1,), keepdims=False)
    assert_close(np.array([1000.0 + np.log(2.0), -np.inf, np.inf], np.float32), got)


def test_low_precision_reduction_accumulates_in_f32():
    # 4096 ones in f16: an f16 accumulator would stop at 2048.
    x = np.ones(4096, np.float16)
    assert float(run1("zt.reduce_sum", x, keepdims=False)) == 4096.0


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_mean", "reduce_max"])
def test_reduce_type_rule_with_symbolic_dims(name):
    (t,) = result_types(f"zt.{name}", [tt("f32", "b", None, 4)], axes=(-1,))
    assert t.shape == ("b", None, 1)
    (t,) = result_types(f"zt.{name}", [tt("f32", "b", None, 4)], axes=(1,), keepdims=False)
    assert t.shape == ("b", 4)


@pytest.mark.parametrize("name,types,attrs,msg", [
    ("zt.reduce_sum", [tt("f32", 2, 3)], {"axes": (2,)}, "out of range"),
    ("zt.reduce_sum", [tt("f32", 2, 3)], {"axes": (1, -1)}, "repeat"),
    ("zt.reduce_l2", [tt("i32", 2, 3)], {}, "floating-point"),
    ("zt.reduce_sum", [tt("bool", 2)], {}, "numeric"),
    ("zt.argmax", [tt("f32", 2, 0)], {"axis": 1}, "size 0"),
    ("zt.argmin", [tt("f32", 2, 3)], {"axis": -3}, "out of range"),
    ("zt.cumsum", [tt("f32")], {"axis": 0}, "rank >= 1"),
    ("zt.cumsum", [tt("f32", 3)], {"axis": 1}, "out of range"),
    ("zt.topk", [tt("f32", 3)], {"k": 4}, "larger than axis"),
    ("zt.topk", [tt("f32", 3)], {"k": -1}, "k must be >= 0"),
])
def test_invalid_operands_and_attributes(name, types, attrs, msg):
    with pytest.raises(ZenithError, match=msg):
        result_types(name, types, **attrs)


# --- argmax / argmin -------------------------------------------------------------------------


@pytest.mark.parametrize("op,onnx_op", [("zt.argmax", "ArgMax"), ("zt.argmin", "ArgMin")])
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("axis,keepdims", [(0, True), (-1, False), (1, True)])
def test_arg_reductions_match_onnx(op, onnx_op, last, axis, keepdims):
    x = np.array([[[1, 3, 3], [2, 2, 0]], [[0, 0, 0], [5, 1, 5]]], np.float32)
    (want,) = onnx_ref(onnx_op, [x], axis=axis, keepdims=int(keepdims), select_last_index=int(last))
    got = run1(op, x, axis=axis, keepdims=keepdims, select_last_index=last)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int64


def test_argmax_symbolic_result_type():
    (t,) = result_types("zt.argmax", [tt("f16", "n", 7)], axis=-1, keepdims=False)
    assert str(t) == 'tensor<"n"xi64>'


# --- cumsum / cumprod ------------------------------------------------------------------------


@pytest.mark.parametrize("exclusive,reverse,want_sum,want_prod", [
    # The examples of the ONNX CumSum / CumProd docs for input [1, 2, 3].
    (False, False, [1, 3, 6], [1, 2, 6]),
    (True, False, [0, 1, 3], [1, 1, 2]),
    (False, True, [6, 5, 3], [6, 6, 3]),
    (True, True, [5, 3, 0], [6, 3, 1]),
])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.float16])
def test_cumulative_onnx_doc_examples(exclusive, reverse, want_sum, want_prod, dtype):
    x = np.array([1, 2, 3], dtype)
    kw = {"axis": 0, "exclusive": exclusive, "reverse": reverse}
    assert run1("zt.cumsum", x, **kw).tolist() == want_sum
    assert run1("zt.cumprod", x, **kw).tolist() == want_prod


def test_cumsum_negative_axis_and_empty():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    np.testing.assert_array_equal(run1("zt.cumsum", x, axis=-1), np.array([[0, 1, 3], [3, 7, 12]]))
    e = np.zeros((2, 0), np.float32)
    assert run1("zt.cumprod", e, axis=1, exclusive=True).shape == (2, 0)


def test_cumsum_matches_onnx_reference_2d():
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    for axis in (0, 1):
        for ex in (0, 1):
            for rev in (0, 1):
                (want,) = onnx_ref("CumSum", [x, np.array(axis, np.int64)], exclusive=ex, reverse=rev)
                got = run1("zt.cumsum", x, axis=axis, exclusive=bool(ex), reverse=bool(rev))
                assert_close(want, got)


# --- topk ------------------------------------------------------------------------------------


def test_topk_ties_take_the_lower_index_first():
    x = np.array([[3, 1, 3, 2, 1, 3]], np.int64)
    v, i = run_op("zt.topk", x, k=4)
    assert v.tolist() == [[3, 3, 3, 2]] and i.tolist() == [[0, 2, 5, 3]]
    v, i = run_op("zt.topk", x, k=3, largest=False)
    assert v.tolist() == [[1, 1, 2]] and i.tolist() == [[1, 4, 3]]


@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_topk_matches_onnx_reference(largest, axis):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, size=(4, 5, 3)).astype(np.float32)
    k = 2
    want_v, want_i = onnx_ref("TopK", [x, np.array([k], np.int64)], 2, axis=axis, largest=largest)
    v, i = run_op("zt.topk", x, k=k, axis=axis, largest=bool(largest))
    np.testing.assert_array_equal(v, want_v)
    np.testing.assert_array_equal(i, want_i)


def test_topk_k_zero_and_nan():
    v, i = run_op("zt.topk", np.ones((2, 3), np.float32), k=0)
    assert v.shape == (2, 0) and i.shape == (2, 0) and i.dtype == np.int64
    x = np.array([1.0, np.nan, 5.0], np.float32)
    assert run_op("zt.topk", x, k=1)[1].tolist() == [1]
    assert run_op("zt.topk", x, k=1, largest=False)[1].tolist() == [0]


def test_topk_types_with_symbolic_dims():
    v, i = result_types("zt.topk", [tt("bf16", "b", None)], k=5)
    assert v.shape == ("b", 5) and str(v.dtype) == "bf16" and str(i.dtype) == "i64"
    v, _ = result_types("zt.topk", [tt("f32", "b", 8)], k=5, axis=0)
    assert v.shape == (5, 8)
