"""Edge cases of pooling, against PyTorch and ``onnx.reference``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.nn_util import onnx_ref, result_types, run1, run_op, tt
from zenith.ir import ZenithError
from zenith.tolerance import assert_close

RNG = np.random.default_rng(11)


def rand(*shape, dt=np.float32):
    return RNG.uniform(-2, 2, size=shape).astype(dt)


def t(a):
    return torch.from_numpy(a.astype(np.float64))


@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (2, 2, 0), (3, 3, 1), (2, 1, 1)])
def test_max_and_avg_pool_match_torch(ceil, k, s, p):
    x = rand(2, 3, 8, 7)
    kw = {"kernel_shape": (k, k), "strides": (s, s), "pads": (p,) * 4, "ceil_mode": ceil}
    want = F.max_pool2d(t(x), k, s, p, ceil_mode=ceil).numpy().astype(np.float32)
    assert_close(want, run1("zt.max_pool", x, **kw))
    for include in (False, True):
        want = F.avg_pool2d(t(x), k, s, p, ceil_mode=ceil, count_include_pad=include)
        got = run1("zt.avg_pool", x, count_include_pad=include, **kw)
        assert_close(want.numpy().astype(np.float32), got)


def test_dilated_3d_max_pool_matches_torch():
    x = rand(1, 2, 7, 6, 9)
    want = F.max_pool3d(t(x), (2, 3, 2), (2, 1, 3), (1, 1, 0), dilation=(2, 1, 3), ceil_mode=True)
    got = run1("zt.max_pool", x, kernel_shape=(2, 3, 2), strides=(2, 1, 3), pads=(1, 1, 0, 1, 1, 0),
               dilations=(2, 1, 3), ceil_mode=True)
    assert_close(want.numpy().astype(np.float32), got)


@pytest.mark.parametrize("op,onnx_op,extra", [
    ("zt.avg_pool", "AveragePool", {}),
    ("zt.avg_pool", "AveragePool", {"count_include_pad": 1}),
    ("zt.max_pool", "MaxPool", {}),
    ("zt.lp_pool", "LpPool", {"p": 3}),
])
@pytest.mark.parametrize("pads,strides", [((0, 1, 2, 0), (1, 2)), ((1, 0, 1, 1), (2, 1))])
def test_pools_with_asymmetric_pads_match_onnx(op, onnx_op, extra, pads, strides):
    x = rand(1, 2, 5, 6)
    (want,) = onnx_ref(onnx_op, [x], kernel_shape=[3, 2], pads=list(pads), strides=list(strides),
                       **extra)
    kw = {k: (bool(v) if k == "count_include_pad" else v) for k, v in extra.items()}
    got = run1(op, x, kernel_shape=(3, 2), pads=pads, strides=strides, **kw)
    assert_close(want, got)


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("shape,kernel,strides,pads", [
    # (onnx.reference gets indices wrong when all strides are 1: it takes another code path)
    ((2, 3, 5, 4), (2, 2), (1, 2), (0, 0, 0, 0)),
    ((1, 2, 6, 5), (3, 3), (2, 2), (1, 1, 1, 1)),
    ((1, 2, 4, 3, 5), (2, 2, 2), (1, 2, 1), (0, 1, 0, 1, 0, 1)),
])
def test_max_pool_indices_match_onnx(storage_order, shape, kernel, strides, pads):
    x = np.round(rand(*shape), 1)  # ties: the first tap in row-major window order wins
    want_v, want_i = onnx_ref("MaxPool", [x], 2, kernel_shape=list(kernel), strides=list(strides),
                              pads=list(pads), storage_order=storage_order)
    v, i = run_op("zt.max_pool_with_indices", x, kernel_shape=kernel, strides=strides, pads=pads,
                  storage_order=storage_order)
    assert_close(want_v, v)
    np.testing.assert_array_equal(want_i, i)


def test_max_pool_indices_match_torch_dilated_ceil():
    x = rand(2, 3, 9, 8)
    want_v, want_i = F.max_pool2d(t(x), 3, 2, 1, dilation=2, ceil_mode=True, return_indices=True)
    v, i = run_op("zt.max_pool_with_indices", x, kernel_shape=(3, 3), strides=(2, 2),
                  pads=(1, 1, 1, 1), dilations=(2, 2), ceil_mode=True)
    assert_close(want_v.numpy().astype(np.float32), v)
    plane = (np.arange(2)[:, None] * 3 + np.arange(3)[None, :]) * 72  # torch indexes per plane
    np.testing.assert_array_equal(want_i.numpy() + plane[:, :, None, None], i)


def test_integer_max_pool_pads_never_win():
    x = np.full((1, 1, 3, 3), -128, np.int8)
    x[0, 0, 1, 1] = -5
    got = run1("zt.max_pool", x, kernel_shape=(2, 2), pads=(1, 1, 1, 1))
    assert got.dtype == np.int8
    want = np.full((4, 4), -128, np.int8)
    want[1:3, 1:3] = -5
    np.testing.assert_array_equal(got[0, 0], want)


@pytest.mark.parametrize("op,onnx_op", [("zt.global_avg_pool", "GlobalAveragePool"),
                                        ("zt.global_max_pool", "GlobalMaxPool")])
@pytest.mark.parametrize("shape", [(1, 2, 3, 5), (2, 3, 4, 4)])
def test_global_pools_match_onnx(op, onnx_op, shape):
    # (onnx.reference's GlobalMaxPool is right for 2 spatial dims only; it has no GlobalLpPool)
    x = rand(*shape)
    (want,) = onnx_ref(onnx_op, [x])
    assert_close(want, run1(op, x))


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 2, 3, 5), (1, 2, 2, 3, 2), (2, 3)])
def test_global_pools_keep_spatial_dims(shape):
    x = rand(*shape)
    spatial = tuple(range(2, len(shape)))
    kept = shape[:2] + (1,) * (len(shape) - 2)
    x64 = x.astype(np.float64)
    for op, want in (("zt.global_avg_pool", x64.mean(axis=spatial, keepdims=True)),
                     ("zt.global_max_pool", x64.max(axis=spatial, keepdims=True)),
                     ("zt.global_lp_pool", (np.abs(x64) ** 3).sum(axis=spatial, keepdims=True)
                      ** (1 / 3))):
        got = run1(op, x, **({"p": 3} if "lp" in op else {}))
        assert got.shape == kept
        assert_close(want.astype(np.float32), got)


def test_pool_types_with_symbolic_dims():
    (y,) = result_types("zt.max_pool", [tt("f16", "n", 64, 112, "w")], kernel_shape=(3, 3),
                        strides=(2, 2), pads=(1, 1, 1, 1))
    assert y.shape == ("n", 64, 56, None)
    (y,) = result_types("zt.avg_pool", [tt("f32", 1, 1, 5)], kernel_shape=(2,), strides=(2,),
                        ceil_mode=True)
    assert y.shape == (1, 1, 3)
    v, i = result_types("zt.max_pool_with_indices", [tt("f32", "n", "c", 4, 4)],
                        kernel_shape=(2, 2), strides=(2, 2))
    assert v.shape == i.shape == ("n", "c", 2, 2) and str(i.dtype) == "i64"
    (g,) = result_types("zt.global_avg_pool", [tt("bf16", "n", 2048, "h", "w")])
    assert g.shape == ("n", 2048, 1, 1)


@pytest.mark.parametrize("name,types,attrs,msg", [
    ("zt.max_pool", [tt("f32", 1, 2, 5, 5)], {"kernel_shape": (2,)}, "must have 2 entries"),
    ("zt.max_pool", [tt("f32", 1, 2, 5, 5)], {"kernel_shape": (0, 2)}, ">= 1"),
    ("zt.max_pool", [tt("f32", 1, 2, 5, 5)], {"kernel_shape": (6, 2)}, "does not fit"),
    ("zt.max_pool", [tt("f32", 2, 5)], {"kernel_shape": ()}, "rank >= 3"),
    ("zt.avg_pool", [tt("i8", 1, 2, 5)], {"kernel_shape": (2,)}, "floating-point"),
    ("zt.avg_pool", [tt("f32", 1, 2, 5)], {"kernel_shape": (2,), "pads": (1,)}, "2 entries"),
    ("zt.lp_pool", [tt("f32", 1, 2, 5)], {"kernel_shape": (2,), "p": 0}, "p must be >= 1"),
    ("zt.max_pool_with_indices", [tt("f32", 1, 2, 5)], {"kernel_shape": (2,), "storage_order": 2},
     "storage_order"),
    ("zt.global_avg_pool", [tt("f32", 4)], {}, "rank >= 2"),
    ("zt.global_lp_pool", [tt("f32", 1, 4, 2)], {"p": 0}, "p must be >= 1"),
])
def test_invalid_operands_and_attributes(name, types, attrs, msg):
    with pytest.raises(ZenithError, match=msg):
        result_types(name, types, **attrs)
