"""Edge cases of conv and conv_transpose, against ``onnx.reference`` and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.nn_util import onnx_ref, result_types, run1, tt
from tests.opsamples.nn import conv_transpose_oracle
from zenith.interpreter import interpret
from zenith.ir import Builder, Function, Module, TensorType, ZenithError, dtype
from zenith.tolerance import assert_close

RNG = np.random.default_rng(3)


def rand(*shape, dt=np.float32):
    return RNG.uniform(-1, 1, size=shape).astype(dt)


CONV_CASES = [
    # x shape, w shape, attrs
    ((1, 2, 7), (3, 2, 3), {"pads": (2, 0), "strides": (2,)}),
    ((2, 4, 6, 5), (6, 2, 3, 2), {"pads": (1, 0, 0, 2), "strides": (2, 1), "dilations": (1, 2),
                                  "group": 2}),
    ((1, 3, 5, 5), (4, 3, 1, 1), {}),
    ((1, 2, 4, 5, 3), (2, 1, 2, 3, 1), {"pads": (1, 1, 0, 0, 1, 1), "group": 2,
                                        "strides": (1, 2, 1)}),
]


@pytest.mark.parametrize("xs,ws,attrs", CONV_CASES)
@pytest.mark.parametrize("with_bias", [False, True])
def test_conv_matches_onnx(xs, ws, attrs, with_bias):
    x, w = rand(*xs), rand(*ws)
    bias = rand(ws[0]) if with_bias else None
    ins = [x, w] + ([bias] if with_bias else [])
    (want,) = onnx_ref("Conv", ins, **{k: list(v) if isinstance(v, tuple) else v
                                      for k, v in attrs.items()})
    assert_close(want, run1("zt.conv", *ins, **attrs), scale=2)


def test_depthwise_conv_and_f16_match_torch():
    x, w = rand(2, 8, 9, 9, dt=np.float16), rand(8, 1, 3, 3, dt=np.float16)
    want = F.conv2d(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(w.astype(np.float64)),
                    stride=2, padding=1, groups=8)
    got = run1("zt.conv", x, w, strides=(2, 2), pads=(1, 1, 1, 1), group=8)
    assert got.dtype == np.float16
    assert_close(want.numpy().astype(np.float16), got)


def test_conv_zero_batch():
    got = run1("zt.conv", np.zeros((0, 2, 5, 5), np.float32), rand(3, 2, 3, 3))
    assert got.shape == (0, 3, 3, 3)


CONV_T_CASES = [
    ((1, 2, 4), (2, 3, 3), {"strides": (2,), "pads": (1, 2), "output_padding": (1,)}),
    ((2, 4, 3, 3), (4, 2, 3, 2), {"strides": (2, 3), "dilations": (2, 1), "group": 2,
                                  "pads": (0, 1, 2, 0)}),
    ((1, 3, 2, 3), (3, 2, 1, 1), {}),
    ((1, 2, 2, 3, 2), (2, 1, 2, 2, 3), {"strides": (2, 1, 2), "output_padding": (1, 0, 1)}),
]


@pytest.mark.parametrize("xs,ws,attrs", CONV_T_CASES)
@pytest.mark.parametrize("with_bias", [False, True])
def test_conv_transpose_matches_onnx(xs, ws, attrs, with_bias):
    x, w = rand(*xs), rand(*ws)
    bias = rand(ws[1] * attrs.get("group", 1)) if with_bias else None
    ins = [x, w] + ([bias] if with_bias else [])
    got = run1("zt.conv_transpose", *ins, **attrs)
    assert_close(conv_transpose_oracle(ins, attrs), got, scale=2)
    if attrs.get("group", 1) == 1:  # onnx.reference's ConvTranspose fails on groups
        (want,) = onnx_ref("ConvTranspose", ins, **{k: list(v) if isinstance(v, tuple) else v
                                                   for k, v in attrs.items()})
        assert_close(want, got, scale=2)


def test_conv_types_with_symbolic_dims():
    (t,) = result_types("zt.conv", [tt("f32", "n", 3, 224, 224), tt("f32", 64, 3, 7, 7)],
                        strides=(2, 2), pads=(3, 3, 3, 3))
    assert t.shape == ("n", 64, 112, 112)
    (t,) = result_types("zt.conv", [tt("f32", "n", None, "h", 10), tt("f32", 8, 4, 3, 3)],
                        group=2)
    assert t.shape == ("n", 8, None, 8)
    (t,) = result_types("zt.conv_transpose", [tt("f16", 1, 4, "h", 5), tt("f16", 4, 3, 2, 2),
                                              tt("f16", 6)], strides=(2, 2), group=2)
    assert t.shape == (1, 6, None, 10)


@pytest.mark.parametrize("name,types,attrs,msg", [
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f32", 4, 2, 3, 3)], {}, "weight expects 2"),
    ("zt.conv", [tt("f32", 1, 4, 5, 5), tt("f32", 3, 2, 3, 3)], {"group": 2},
     "output channels .3. is not divisible by group 2"),
    ("zt.conv", [tt("f32", 1, 4, 5, 5), tt("f32", 4, 4, 3, 3)], {"group": 0}, "group must be >= 1"),
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f32", 4, 3, 3, 3)], {"strides": (1,)},
     "strides .1. must have 2 entries"),
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f32", 4, 3, 3, 3)], {"strides": (1, 0)}, ">= 1"),
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f32", 4, 3, 3, 3)], {"pads": (0, 0, -1, 0)}, ">= 0"),
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f32", 4, 3, 3, 3)], {"dilations": (3, 3)},
     "does not fit"),
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f32", 4, 3, 3, 3), tt("f32", 3)], {},
     "bias size differs"),
    ("zt.conv", [tt("i32", 1, 3, 5, 5), tt("i32", 4, 3, 3, 3)], {}, "floating-point"),
    ("zt.conv", [tt("f32", 3, 5), tt("f32", 4, 3)], {}, "rank >= 3"),
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f32", 4, 3, 3)], {}, "input's rank"),
    ("zt.conv", [tt("f32", 1, 3, 5, 5), tt("f16", 4, 3, 3, 3)], {}, "dtype"),
    ("zt.conv_transpose", [tt("f32", 1, 3, 2, 2), tt("f32", 4, 3, 3, 3)], {},
     "input channels differ"),
    ("zt.conv_transpose", [tt("f32", 1, 3, 2, 2), tt("f32", 3, 3, 3, 3)], {"pads": (3, 3, 2, 2)},
     "exceed"),
    ("zt.conv_transpose", [tt("f32", 1, 3, 2, 2), tt("f32", 3, 3, 3, 3)],
     {"output_padding": (1,)}, "output_padding"),
])
def test_invalid_operands_and_attributes(name, types, attrs, msg):
    with pytest.raises(ZenithError, match=msg):
        result_types(name, types, **attrs)


def test_resnet_bottleneck_block_matches_torch():
    """conv + batch_norm + relu + max_pool + residual add, composed, against torch."""
    f32 = dtype("f32")
    x0 = rand(1, 16, 20, 20)
    params = {"w1": rand(8, 16, 1, 1), "w2": rand(8, 8, 3, 3), "w3": rand(16, 8, 1, 1)}
    bn = {k: (rand(c) + 1.5, rand(c), rand(c), rand(c) + 1.5) for k, c in
          (("w1", 8), ("w2", 8), ("w3", 16))}
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    inputs = [x0]
    x = fn.body.add_arg(TensorType(f32, x0.shape))

    def arg(a):
        inputs.append(a)
        return fn.body.add_arg(TensorType(f32, a.shape))

    y = b.op("zt.max_pool", x, kernel_shape=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1))
    h, ty = y, F.max_pool2d(torch.from_numpy(x0), 3, 2, 1)
    skip, tskip = h, ty
    for k, pad in (("w1", 0), ("w2", 1), ("w3", 0)):
        w = params[k]
        sc, bi, mu, var = bn[k]
        h = b.op("zt.conv", h, arg(w), pads=(pad,) * 4)
        h = b.op("zt.batch_norm", h, arg(sc), arg(bi), arg(mu), arg(var))
        ty = F.conv2d(ty, torch.from_numpy(w), padding=pad)
        ty = F.batch_norm(ty, *(torch.from_numpy(a) for a in (mu, var, sc, bi)))
        if k != "w3":
            h, ty = b.op("zt.relu", h), F.relu(ty)
    out = b.op("zt.relu", b.op("zt.add", h, skip))
    b.create("func.return", [out])
    fn.sync_signature()
    (got,) = interpret(m, inputs)
    assert_close(F.relu(ty + tskip).numpy(), got, scale=4)
