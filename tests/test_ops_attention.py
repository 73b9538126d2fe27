"""zt.attention against ONNX's Attention reference and PyTorch's scaled_dot_product_attention."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.nn_util import onnx_ref, result_types, run1, tt
from tests.opsamples.attention import attention_oracle
from zenith.ir import ZenithError
from zenith.tolerance import assert_close

RNG = np.random.default_rng(5)


def rand(*shape, dt=np.float32):
    return RNG.uniform(-1.5, 1.5, size=shape).astype(dt)


def qkv(b=2, hq=4, hkv=2, sq=3, skv=5, d=8, dv=6, dt=np.float32):
    return rand(b, hq, sq, d, dt=dt), rand(b, hkv, skv, d, dt=dt), rand(b, hkv, skv, dv, dt=dt)


@pytest.mark.parametrize("sq,skv", [(3, 5), (5, 3), (4, 4)])
@pytest.mark.parametrize("hq,hkv", [(2, 2), (6, 2), (3, 1)])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_onnx_attention_23(sq, skv, hq, hkv, causal):
    q, k, v = qkv(hq=hq, hkv=hkv, sq=sq, skv=skv)
    (want,) = onnx_ref("Attention", [q, k, v], opset=23, is_causal=int(causal))
    assert_close(want, run1("zt.attention", q, k, v, causal=causal), scale=2)


@pytest.mark.parametrize("mask_kind", ["bool", "float"])
@pytest.mark.parametrize("mask_shape", [(5,), (3, 5), (1, 4, 3, 5), (2, 1, 1, 5)])
@pytest.mark.parametrize("causal", [False, True])
def test_masks_match_onnx(mask_kind, mask_shape, causal):
    q, k, v = qkv()
    mask = RNG.random(mask_shape) < 0.7 if mask_kind == "bool" else rand(*mask_shape)
    kw = {"scale": 0.3, "softcap": 2.0}
    got = run1("zt.attention", q, k, v, mask, causal=causal, **kw)
    assert_close(attention_oracle([q, k, v, mask], {"causal": causal, **kw}), got, scale=2)
    # onnx.reference sizes the causal mask by the mask's last two dims: compare full ones only.
    if not causal or mask_shape[-2:] == (3, 5):
        (want,) = onnx_ref("Attention", [q, k, v, mask], opset=23, is_causal=int(causal), **kw)
        assert_close(want, got, scale=2)


def test_fully_masked_rows_give_zero():
    q, k, v = qkv(sq=3, skv=4)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    got = run1("zt.attention", q, k, v, mask)
    assert not np.isnan(got).any()
    np.testing.assert_array_equal(got[:, :, 1], 0)
    fmask = np.zeros((3, 4), np.float32)
    fmask[2] = -np.inf
    got = run1("zt.attention", q, k, v, fmask)
    np.testing.assert_array_equal(got[:, :, 2], 0)
    (want,) = onnx_ref("Attention", [q, k, v, fmask], opset=23)
    assert_close(want, got)


@pytest.mark.parametrize("left,right,causal", [(2, 0, False), (1, 1, False), (0, -1, True),
                                               (-1, 1, False), (3, 2, True)])
def test_sliding_window_matches_onnx_25(left, right, causal):
    q, k, v = qkv(sq=4, skv=6)
    kw = {"left_window_size": left, "right_window_size": right}
    (want,) = onnx_ref("Attention", [q, k, v], opset=25, is_causal=int(causal), **kw)
    assert_close(want, run1("zt.attention", q, k, v, causal=causal, **kw), scale=2)


@pytest.mark.parametrize("window", [-1, 1])
def test_lower_right_is_onnx_with_past_keys(window):
    """ONNX with a KV cache = concat(past, new) + causal_align='lower_right' (new kv len == q len)."""
    q, k_new, v_new = qkv(sq=3, skv=3)
    past_k, past_v = rand(2, 2, 4, 8), rand(2, 2, 4, 6)
    mask = RNG.random((3, 7)) < 0.8
    kw = {"left_window_size": window} if window >= 0 else {}
    want = onnx_ref("Attention", [q, k_new, v_new, mask, past_k, past_v], 3, opset=25, is_causal=1,
                    **kw)[0]
    k, v = np.concatenate([past_k, k_new], 2), np.concatenate([past_v, v_new], 2)
    got = run1("zt.attention", q, k, v, mask, causal=True, causal_align="lower_right", **kw)
    assert_close(want, got, scale=2)


@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch_sdpa_with_gqa(causal):
    q, k, v = qkv(b=1, hq=8, hkv=2, sq=6, skv=6, d=16, dv=16)
    want = F.scaled_dot_product_attention(*(torch.from_numpy(a.astype(np.float64)) for a in (q, k, v)),
                                          is_causal=causal, enable_gqa=True)
    assert_close(want.numpy().astype(np.float32), run1("zt.attention", q, k, v, causal=causal))


@pytest.mark.parametrize("dt", [np.float16, "bf16"])
def test_low_precision_computes_in_f32(dt):
    import ml_dtypes

    dt = ml_dtypes.bfloat16 if dt == "bf16" else dt
    q, k, v = (a * 4 for a in qkv(b=1, hq=2, hkv=2, sq=4, skv=64, d=32, dv=8))
    q, k, v = q.astype(dt), k.astype(dt), v.astype(dt)
    t = [torch.from_numpy(a.astype(np.float64)) for a in (q, k, v)]
    want = F.scaled_dot_product_attention(*t).numpy().astype(dt)
    got = run1("zt.attention", q, k, v)
    assert got.dtype == dt
    assert_close(want, got)


def test_empty_keys_give_zeros():
    q, k, v = qkv(skv=0)
    got = run1("zt.attention", q, k, v)
    assert got.shape == (2, 4, 3, 6) and not got.any()


def test_types_with_symbolic_dims():
    (t,) = result_types("zt.attention", [tt("f16", "b", 12, "s", 64), tt("f16", "b", 12, "s", 64),
                                         tt("f16", "b", 12, "s", 64), tt("f16", "b", 1, 1, "s")])
    assert t.shape == ("b", 12, "s", 64)
    (t,) = result_types("zt.attention", [tt("f32", 1, None, 1, 64), tt("f32", 1, 4, "t", 64),
                                         tt("f32", 1, 4, None, 32), tt("bool", 1, "t")],
                        causal=True, causal_align="lower_right")
    assert t.shape == (1, None, 1, 32)


Q, K, V = tt("f32", 1, 4, 3, 8), tt("f32", 1, 2, 5, 8), tt("f32", 1, 2, 5, 6)


@pytest.mark.parametrize("types,attrs,msg", [
    ([tt("f32", 4, 3, 8), K, V], {}, "q must be 4-D"),
    ([tt("f32", 1, 3, 3, 8), K, V], {}, "multiple of k/v heads"),
    ([Q, tt("f32", 1, 2, 5, 7), V], {}, "head sizes differ"),
    ([Q, K, tt("f32", 1, 2, 4, 6)], {}, "sequence lengths differ"),
    ([Q, K, tt("f32", 2, 2, 5, 6)], {}, "batch sizes differ"),
    ([Q, K, tt("f16", 1, 2, 5, 6)], {}, "dtype"),
    ([tt("i32", 1, 4, 3, 8), K, V], {}, "floating-point"),
    ([Q, K, V, tt("i64", 3, 5)], {}, "mask must be bool"),
    ([Q, K, V, tt("bool", 3, 4)], {}, "mask .* does not broadcast"),
    ([Q, K, V, tt("bool", 1, 1, 1, 3, 5)], {}, "rank"),
    ([Q, K, V], {"softcap": -1.0}, "softcap must be >= 0"),
    ([Q, K, V], {"left_window_size": -2}, "left_window_size must be >= -1"),
    ([Q, K, V], {"causal_align": "bottom"}, "causal_align must be one of"),
])
def test_invalid_operands_and_attributes(types, attrs, msg):
    with pytest.raises(ZenithError, match=msg):
        result_types("zt.attention", types, **attrs)
