"""Small zt modules with one matmul / conv / attention kernel each, for the CUDA kernel tests.

Each case is ``(id, args, body)``: ``args`` the function arguments (shape, dtype),
``body(builder, *args)`` the ops. ``cases(dt)`` instantiates them for one dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.cuda_gemm_util import build
from zenith.ir import Module, dtype

Case = tuple[str, list, Callable]


def _mm(*epi: str) -> Callable:
    def body(b, x, y, *extra):
        h = b.op("zt.matmul", x, y)
        return _epilogue(b, h, epi, extra)
    return body


def _epilogue(b, h, epi, extra):
    it = iter(extra)
    for e in epi:
        if e == "gelu":
            h = b.op("zt.gelu", h)
        elif e == "gelu_tanh":
            h = b.op("zt.gelu", h, approximate="tanh")
        elif e == "relu":
            h = b.op("zt.relu", h)
        elif e == "silu":
            h = b.op("zt.silu", h)
        elif e in ("add", "mul"):
            h = b.op(f"zt.{e}", h, next(it))
        elif e == "cast":  # to the other float width: f32 <-> f16
            to = "f16" if h.type.dtype.name != "f16" else "f32"
            h = b.op("zt.cast", h, to=dtype(to))
        elif e == "both":  # the anchor value is yielded too
            return [h, b.op("zt.sigmoid", h)]
    return h


def _linear(bias: bool, *epi: str) -> Callable:
    def body(b, x, w, *rest):
        h = b.op("zt.linear", x, w, rest[0]) if bias else b.op("zt.linear", x, w)
        return _epilogue(b, h, epi, rest[1:] if bias else rest)
    return body


def _gemm(ta: bool, tb: bool, alpha: float, beta: float, *epi: str) -> Callable:
    def body(b, a, w, *rest):
        ops = (a, w, rest[0]) if beta else (a, w)
        h = b.op("zt.gemm", *ops, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta if beta else 1.0)
        return _epilogue(b, h, epi, rest[1:] if beta else rest)
    return body


def _conv(bias: bool, *epi: str, **attrs) -> Callable:
    def body(b, x, w, *rest):
        h = b.op("zt.conv", x, w, rest[0], **attrs) if bias else b.op("zt.conv", x, w, **attrs)
        return _epilogue(b, h, epi, rest[1:] if bias else rest)
    return body


def _convt(**attrs) -> Callable:
    return lambda b, x, w, bias: b.op("zt.conv_transpose", x, w, bias, **attrs)


def _attn(*epi: str, **attrs) -> Callable:
    def body(b, q, k, v, *rest):
        h = b.op("zt.attention", q, k, v, *rest[:1], **attrs)
        return _epilogue(b, h, epi, rest[1:])
    return body


def _attn_nomask(**attrs) -> Callable:
    return lambda b, q, k, v: b.op("zt.attention", q, k, v, **attrs)


def cases(dt: str) -> list[Case]:
    """The kernel cases in dtype ``dt`` (masks bool or ``dt``)."""
    return [
        ("matmul-odd", [((13, 21), dt), ((21, 17), dt)], _mm()),
        ("matmul-batch-bcast-gelu", [((2, 1, 19, 24), dt), ((3, 24, 33), dt)], _mm("gelu")),
        ("matmul-vec-left", [((24,), dt), ((2, 24, 18), dt)], _mm()),
        ("matmul-vec-right", [((3, 20, 24), dt), ((24,), dt)], _mm()),
        ("matmul-residual-bcast", [((4, 37, 16), dt), ((16, 29), dt), ((37, 29), dt)], _mm("add", "relu")),
        ("matmul-both-yielded", [((40, 48), dt), ((48, 36), dt)], _mm("both")),
        ("linear-bias-gelu-res", [((2, 9, 40), dt), ((37, 40), dt), ((37,), dt), ((9, 37), dt)],
         _linear(True, "gelu", "add")),
        ("linear-nobias-silu", [((70, 33), dt), ((65, 33), dt)], _linear(False, "silu")),
        ("linear-relu-cast", [((3, 11, 48), dt), ((40, 48), dt), ((40,), dt)], _linear(True, "relu", "cast")),
        ("linear-tanh-gelu-scale", [((50, 64), dt), ((80, 64), dt), ((80,), dt), ((), dt)],
         _linear(True, "gelu_tanh", "mul")),
        ("matmul-async-batched", [((2, 40, 48), dt), ((2, 48, 56), dt), ((56,), dt)], _mm("add")),
        ("gemm-ta-async", [((24, 40), dt), ((24, 32), dt)], _gemm(True, False, 2.0, 0.0, "relu")),
        ("gemm-ta", [((23, 19), dt), ((23, 31), dt)], _gemm(True, False, 1.0, 0.0)),
        ("gemm-tb-c", [((19, 23), dt), ((31, 23), dt), ((31,), dt)], _gemm(False, True, 0.5, 2.0)),
        ("gemm-tatb-c2d-relu", [((27, 18), dt), ((34, 27), dt), ((18, 34), dt)],
         _gemm(True, True, 1.5, 1.0, "relu")),
        ("conv-3x3-pad-relu", [((2, 8, 11, 9), dt), ((16, 8, 3, 3), dt), ((16,), dt)],
         _conv(True, "relu", pads=[1, 1, 1, 1])),
        ("conv-stride-dil", [((1, 5, 17, 15), dt), ((12, 5, 3, 2), dt)],
         _conv(False, strides=[2, 3], dilations=[2, 1], pads=[1, 0, 2, 1])),
        ("conv-group-residual", [((2, 12, 7, 7), dt), ((24, 4, 3, 3), dt), ((24,), dt), ((2, 24, 7, 7), dt)],
         _conv(True, "add", "relu", group=3, pads=[1, 1, 1, 1])),
        ("conv-depthwise", [((2, 10, 9, 8), dt), ((10, 1, 3, 3), dt), ((10,), dt)],
         _conv(True, "relu", group=10, pads=[1, 1, 1, 1], strides=[2, 1])),
        ("conv-pointwise", [((2, 16, 6, 5), dt), ((24, 16, 1, 1), dt)], _conv(False)),
        ("conv-1d", [((2, 6, 20), dt), ((9, 6, 5), dt), ((9,), dt)], _conv(True, pads=[2, 1])),
        ("conv-3d", [((1, 3, 5, 6, 4), dt), ((8, 3, 2, 3, 2), dt)], _conv(False, pads=[0, 1, 1, 0, 1, 0])),
        ("conv-transpose", [((1, 6, 5, 4), dt), ((6, 2, 3, 3), dt), ((4,), dt)],
         _convt(strides=[2, 2], pads=[1, 0, 1, 1], group=2, output_padding=[1, 0])),
        ("attn-plain", [((2, 3, 19, 16), dt), ((2, 3, 23, 16), dt), ((2, 3, 23, 16), dt)], _attn_nomask()),
        ("attn-causal-ul", [((1, 2, 37, 32), dt), ((1, 2, 37, 32), dt), ((1, 2, 37, 32), dt)],
         _attn_nomask(causal=True)),
        ("attn-causal-lr-gqa", [((1, 4, 5, 24), dt), ((1, 2, 40, 24), dt), ((1, 2, 40, 20), dt)],
         _attn_nomask(causal=True, causal_align="lower_right", scale=0.3)),
        ("attn-float-mask", [((2, 2, 9, 64), dt), ((2, 2, 45, 64), dt), ((2, 2, 45, 64), dt),
                             ((2, 1, 1, 45), dt)], _attn()),
        ("attn-bool-mask-dead-rows", [((1, 2, 6, 8), dt), ((1, 2, 10, 8), dt), ((1, 2, 10, 8), dt),
                                      ((6, 10), "bool")], _attn()),
        ("attn-window-softcap", [((1, 1, 20, 80), dt), ((1, 1, 20, 80), dt), ((1, 1, 20, 72), dt)],
         _attn_nomask(left_window_size=4, right_window_size=2, softcap=5.0)),
        ("attn-gqa-lr-bool-d32", [((1, 4, 20, 32), dt), ((1, 2, 45, 32), dt), ((1, 2, 45, 16), dt),
                                  ((20, 45), "bool")], _attn(causal=True, causal_align="lower_right")),
        ("attn-window-softcap-d48", [((2, 1, 40, 48), dt), ((2, 1, 40, 48), dt), ((2, 1, 40, 48), dt)],
         _attn_nomask(left_window_size=7, right_window_size=0, softcap=3.0, scale=0.2)),
        ("attn-d128-residual", [((1, 2, 12, 128), dt), ((1, 2, 33, 128), dt), ((1, 2, 33, 128), dt),
                                ((1, 2, 12, 33), dt), ((1, 2, 12, 128), dt)], _attn("add")),
    ]


def module(case: Case) -> Module:
    return build(case[1], case[2])


def random_inputs(m: Module, rng: np.random.Generator) -> list[np.ndarray]:
    """Normal floats; bool masks ~60% true with the first query row all false (attends nothing)."""
    out = []
    for a in m.main.args:
        shape, dt = tuple(a.type.shape), a.type.dtype.np_dtype
        if dt == np.bool_:
            x = rng.random(shape) < 0.6
            x[..., 0, :] = False     # a query row that attends nothing: output 0
            out.append(x)
        else:
            out.append(rng.standard_normal(shape).astype(dt))
    return out
