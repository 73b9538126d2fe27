"""Edge cases of normalizations and softmax, checked against ``onnx.reference``."""

from __future__ import annotations

import numpy as np
import pytest

from tests.nn_util import onnx_ref, result_types, run1, tt
from zenith.ir import ZenithError
from zenith.tolerance import assert_close

RNG = np.random.default_rng(7)


def rand(*shape, dtype=np.float32, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(dtype)


@pytest.mark.parametrize("op,onnx_op", [("zt.softmax", "Softmax"), ("zt.log_softmax", "LogSoftmax"),
                                        ("zt.hardmax", "Hardmax")])
@pytest.mark.parametrize("axis", [-1, 0, 1, -2])
def test_softmax_family_matches_onnx(op, onnx_op, axis):
    x = np.round(rand(3, 4, 5), 1)  # rounding makes ties for hardmax
    (want,) = onnx_ref(onnx_op, [x], axis=axis)
    assert_close(want, run1(op, x, axis=axis))


def test_softmax_masked_entries_and_large_values():
    x = np.array([[-np.inf, 0.0, 0.0], [1e4, 1e4, -1e4]], np.float32)
    assert_close(np.array([[0, 0.5, 0.5], [0.5, 0.5, 0]], np.float32), run1("zt.softmax", x))
    ls = run1("zt.log_softmax", x)
    assert_close(np.array([[-np.inf, -np.log(2), -np.log(2)], [-np.log(2), -np.log(2), -2e4]],
                          np.float32), ls)


def test_softmax_empty_and_default_axis():
    assert run1("zt.softmax", np.zeros((2, 0), np.float32)).shape == (2, 0)
    x = rand(2, 3)
    got = run1("zt.softmax", x)
    assert_close(np.ones(2, np.float32), got.sum(axis=1))


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (1, 3, 2, 2, 2)])
def test_batch_norm_matches_onnx(shape):
    x = rand(*shape)
    c = shape[1]
    scale, bias, mean = rand(c), rand(c), rand(c)
    var = rand(c, lo=0.1, hi=2.0)
    (want,) = onnx_ref("BatchNormalization", [x, scale, bias, mean, var], epsilon=1e-3)
    assert_close(want, run1("zt.batch_norm", x, scale, bias, mean, var, epsilon=1e-3))


@pytest.mark.parametrize("axis", [-1, 1, 0, -2])
@pytest.mark.parametrize("affine", [0, 1, 2])
def test_layer_norm_matches_onnx(axis, affine):
    x = rand(2, 3, 4)
    norm_shape = x.shape[axis % 3:]
    scale, bias = rand(*norm_shape), rand(*norm_shape)
    onnx_scale = scale if affine >= 1 else np.ones(norm_shape, np.float32)
    ins = [x, onnx_scale] + ([bias] if affine == 2 else [])
    (want,) = onnx_ref("LayerNormalization", ins, axis=axis, epsilon=1e-4)
    got = run1("zt.layer_norm", x, *[scale, bias][:affine], axis=axis, epsilon=1e-4)
    assert_close(want, got, scale=2)


def test_layer_norm_broadcast_scale_and_low_precision():
    x = rand(2, 3, 8, dtype=np.float16)
    scale = rand(1, 8, dtype=np.float16)
    x64 = x.astype(np.float64)
    mean = x64.mean(-1, keepdims=True)
    want = (x64 - mean) / np.sqrt(((x64 - mean) ** 2).mean(-1, keepdims=True) + 1e-5) * scale
    assert_close(want.astype(np.float16), run1("zt.layer_norm", x, scale))


@pytest.mark.parametrize("axis", [-1, 1])
def test_rms_norm_matches_onnx(axis):
    x = rand(2, 3, 4)
    scale = rand(*x.shape[axis % 3:])
    (want,) = onnx_ref("RMSNormalization", [x, scale], opset=23, axis=axis, epsilon=1e-5)
    assert_close(want, run1("zt.rms_norm", x, scale, axis=axis), scale=2)
    x64 = x.astype(np.float64)
    ms = (x64 ** 2).mean(axis=tuple(range(axis % 3, 3)), keepdims=True)
    assert_close((x64 / np.sqrt(ms + 1e-5)).astype(np.float32), run1("zt.rms_norm", x, axis=axis))


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm_matches_onnx(groups):
    x = rand(2, 6, 3, 2)
    scale, bias = rand(6), rand(6)
    (want,) = onnx_ref("GroupNormalization", [x, scale, bias], opset=21, num_groups=groups,
                       epsilon=1e-5)
    assert_close(want, run1("zt.group_norm", x, scale, bias, num_groups=groups), scale=2)


def test_instance_norm_matches_onnx():
    x = rand(2, 3, 4, 5)
    scale, bias = rand(3), rand(3)
    (want,) = onnx_ref("InstanceNormalization", [x, scale, bias], epsilon=1e-5)
    assert_close(want, run1("zt.instance_norm", x, scale, bias), scale=2)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("axis", [-1, 0])
def test_lp_normalization_matches_onnx(p, axis):
    # onnx.reference computes the 1-norm as sum(x), not sum(|x|): compare on positive inputs,
    # and on signed inputs against NumPy's vector norm.
    x = rand(3, 4, lo=0.1)
    (want,) = onnx_ref("LpNormalization", [x], axis=axis, p=p)
    assert_close(want, run1("zt.lp_normalization", x, axis=axis, p=p))
    xs = rand(3, 4)
    norm = np.linalg.norm(xs.astype(np.float64), ord=p, axis=axis, keepdims=True)
    assert_close((xs / norm).astype(np.float32), run1("zt.lp_normalization", xs, axis=axis, p=p))


def test_lp_normalization_of_zero_is_zero():
    x = np.zeros((2, 3), np.float32)
    np.testing.assert_array_equal(run1("zt.lp_normalization", x), x)


@pytest.mark.parametrize("axes", [None, (0, 2, 3), (1,), (-1, -2)])
def test_mean_variance_normalization_matches_onnx(axes):
    x = rand(2, 3, 4, 5)
    kw = {} if axes is None else {"axes": list(axes)}
    (want,) = onnx_ref("MeanVarianceNormalization", [x], **kw)
    got = run1("zt.mean_variance_normalization", x, **({} if axes is None else {"axes": axes}))
    assert_close(want, got, scale=4)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_lrn_matches_onnx_including_even_sizes(size):
    # onnx.reference's LRN loops its channel index over dim 0: use N == C so it covers them.
    x = rand(5, 5, 2, 3)
    kw = {"size": size, "alpha": 0.3, "beta": 0.6, "bias": 1.5}
    (want,) = onnx_ref("LRN", [x], **kw)
    assert_close(want, run1("zt.lrn", x, **kw))


@pytest.mark.parametrize("size", [1, 3, 5])
def test_lrn_matches_torch_for_odd_sizes(size):
    import torch

    x = rand(2, 7, 3)
    want = torch.nn.functional.local_response_norm(torch.from_numpy(x.astype(np.float64)), size,
                                                   alpha=0.2, beta=0.75, k=2.0)
    got = run1("zt.lrn", x, size=size, alpha=0.2, beta=0.75, bias=2.0)
    assert_close(want.numpy().astype(np.float32), got)


def test_norm_types_with_symbolic_dims():
    c = tt("f32", 8)
    (t,) = result_types("zt.batch_norm", [tt("f32", "n", None, "h", 3), c, c, c, c])
    assert t.shape == ("n", None, "h", 3)
    (t,) = result_types("zt.group_norm", [tt("bf16", "n", "c", 5), tt("bf16", 8), tt("bf16", 8)],
                        num_groups=3)
    assert t.shape == ("n", "c", 5)
    (t,) = result_types("zt.layer_norm", [tt("f16", "b", "s", 768), tt("f16", 768), tt("f16", 768)])
    assert t.shape == ("b", "s", 768)


@pytest.mark.parametrize("name,types,attrs,msg", [
    ("zt.softmax", [tt("i32", 3)], {}, "floating-point"),
    ("zt.softmax", [tt("f32")], {}, "rank >= 1"),
    ("zt.log_softmax", [tt("f32", 2, 3)], {"axis": 2}, "out of range"),
    ("zt.batch_norm", [tt("f32", 2, 3)] + [tt("f32", 4)] * 4, {}, "scale size differs"),
    ("zt.batch_norm", [tt("f32", 2, 3)] + [tt("f32", 3)] * 3 + [tt("f16", 3)], {}, "dtype"),
    ("zt.batch_norm", [tt("f32", 3)] + [tt("f32", 3)] * 4, {}, "rank >= 2"),
    ("zt.instance_norm", [tt("f32", 2, 3), tt("f32", 3), tt("f32", 3)], {}, "rank >= 3"),
    ("zt.instance_norm", [tt("f32", 2, 3, 4), tt("f32", 1, 3), tt("f32", 3)], {}, "1-D"),
    ("zt.group_norm", [tt("f32", 2, 6, 4), tt("f32", 6), tt("f32", 6)], {"num_groups": 4},
     "does not divide"),
    ("zt.group_norm", [tt("f32", 2, 6, 4), tt("f32", 6), tt("f32", 6)], {"num_groups": 0},
     "positive"),
    ("zt.layer_norm", [tt("f32", 2, 4), tt("f32", 3)], {}, "does not broadcast"),
    ("zt.layer_norm", [tt("f32", 4), tt("f32", 2, 4)], {}, "rank"),
    ("zt.rms_norm", [tt("f32", 2, 4)], {"axis": -3}, "out of range"),
    ("zt.lp_normalization", [tt("f32", 2, 4)], {"p": 3}, "p must be 1 or 2"),
    ("zt.mean_variance_normalization", [tt("f32", 2, 4, 3)], {}, "out of range"),
    ("zt.lrn", [tt("f32", 2, 4, 3)], {"size": 0}, "size must be positive"),
])
def test_invalid_operands_and_attributes(name, types, attrs, msg):
    with pytest.raises(ZenithError, match=msg):
        result_types(name, types, **attrs)


def test_zero_size_inputs_pass_through():
    x = np.zeros((0, 3, 2, 2), np.float32)
    c = np.ones(3, np.float32)
    assert run1("zt.batch_norm", x, c, c, c, c).shape == x.shape
    assert run1("zt.group_norm", x, c, c, num_groups=3).shape == x.shape
    assert run1("zt.layer_norm", np.zeros((2, 0), np.float32)).shape == (2, 0)
    assert run1("zt.lrn", x, size=3).shape == x.shape
