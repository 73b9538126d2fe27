"""Random programs shaped for fusion: chains, anchors, views, shared values, decomposed patterns.

``tests/strategies.py`` draws programs over every op, which rarely chain; these
draw a dataflow graph step by step where each step reads earlier values, so
elementwise chains, anchors with producers and consumers, views in the middle,
values read twice and the spellings the patterns recognise all come up often.
The oracle is the interpreter on the program before the pass.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, Value, dtype

UNARY = ["exp", "neg", "relu", "sigmoid", "tanh", "abs"]
BINARY = ["add", "mul", "sub", "max"]
STEPS = ["unary", "unary", "binary", "binary", "scalar", "vector", "reduce", "softmax", "layer_norm",
         "matmul", "linear", "transpose", "view", "cumsum", "concat", "slice", "gelu", "silu",
         "ln_decomposed", "softmax_decomposed", "matmul_bias"]


class _Prog:
    def __init__(self, draw, dt: str) -> None:
        self.draw = draw
        self.dt = dtype(dt)
        self.np = self.dt.np_dtype
        self.m = Module()
        self.fn = self.m.add_function(Function("main", [], []))
        self.b = Builder.at_end(self.fn.body)
        self.values: list[Value] = []
        self.rng = np.random.default_rng(draw(st.integers(0, 2**16)))

    def arg(self, shape: tuple[int, ...]) -> Value:
        v = self.fn.body.add_arg(TensorType(self.dt, shape))
        self.values.append(v)
        return v

    def const(self, arr) -> Value:
        return self.b.op("zt.constant", value=DenseAttr(np.asarray(arr, self.np)))

    def pick(self, pred=lambda v: True) -> Value | None:
        cands = [v for v in self.values if pred(v)]
        return self.draw(st.sampled_from(cands)) if cands else None

    def op(self, name: str, *xs: Value, **attrs) -> Value:
        return self.b.op(f"zt.{name}", *xs, **attrs)


def _step(p: _Prog, kind: str) -> Value | None:
    x = p.pick(lambda v: v.type.rank >= 1 and v.type.shape[-1] >= 1)
    if x is None:
        return None
    shape = x.type.shape
    last = shape[-1]
    if kind == "unary":
        return p.op(p.draw(st.sampled_from(UNARY)), x)
    if kind == "binary":
        y = p.pick(lambda v: v.type == x.type)
        return p.op(p.draw(st.sampled_from(BINARY)), x, y)
    if kind == "scalar":
        return p.op(p.draw(st.sampled_from(BINARY)), x, p.const(p.draw(st.sampled_from([0.5, 2.0, -1.0]))))
    if kind == "vector":
        return p.op("add", x, p.const(p.rng.uniform(-1, 1, last)))
    if kind == "reduce":
        r = p.op(p.draw(st.sampled_from(["reduce_sum", "reduce_max", "reduce_mean"])), x, axes=(-1,))
        return p.op("sub", x, r) if p.draw(st.booleans()) else r
    if kind == "softmax":
        return p.op("softmax", x, axis=-1)
    if kind == "layer_norm":
        return p.op("layer_norm", x, p.const(p.rng.uniform(0.5, 1.5, last)), axis=-1)
    if kind in ("matmul", "linear", "matmul_bias"):
        n = p.draw(st.integers(1, 5))
        w = p.rng.uniform(-1, 1, (last, n))
        if kind == "linear":
            return p.op("linear", x, p.const(w.T))
        y = p.op("matmul", x, p.const(w))
        return p.op("add", y, p.const(p.rng.uniform(-1, 1, n))) if kind == "matmul_bias" else y
    if kind == "transpose" and x.type.rank >= 2:
        perm = tuple(range(x.type.rank - 2)) + (x.type.rank - 1, x.type.rank - 2)
        return p.op("transpose", x, perm=perm)
    if kind == "view":
        flat = p.op("reshape", x, shape=(-1,))
        return p.op("reshape", p.op("exp", flat), shape=shape) if p.draw(st.booleans()) else flat
    if kind == "cumsum":
        return p.op("cumsum", x, axis=-1)
    if kind == "concat":
        y = p.pick(lambda v: v.type == x.type)
        return p.op("concat", x, y, axis=-1)
    if kind == "slice" and last >= 2:
        return p.op("slice", x, starts=(0,), ends=(last // 2,), axes=(-1,))
    if kind == "gelu":
        e = p.op("erf", p.op("div", x, p.const(math.sqrt(2))))
        return p.op("mul", p.op("mul", x, p.op("add", e, p.const(1.0))), p.const(0.5))
    if kind == "silu":
        return p.op("mul", x, p.op("sigmoid", x))
    if kind == "ln_decomposed":
        d = p.op("sub", x, p.op("reduce_mean", x, axes=(-1,)))
        var = p.op("reduce_mean", p.op("mul", d, d), axes=(-1,))
        return p.op("div", d, p.op("sqrt", p.op("add", var, p.const(1e-5))))
    if kind == "softmax_decomposed":
        e = p.op("exp", p.op("sub", x, p.op("reduce_max", x, axes=(-1,))))
        return p.op("div", e, p.op("reduce_sum", e, axes=(-1,)))
    return None


@st.composite
def fusion_programs(draw, max_steps: int = 12) -> Module:
    """A random module of about ``max_steps`` fusion-relevant steps (see the module doc)."""
    p = _Prog(draw, draw(st.sampled_from(["f32", "f32", "f64"])))
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    for _ in range(draw(st.integers(1, 2))):
        p.arg(shape)
    for _ in range(draw(st.integers(1, max_steps))):
        v = _step(p, draw(st.sampled_from(STEPS)))
        if v is not None:
            p.values.append(v)
    outs = [v for v in p.values if not v.has_uses] or p.values[-1:]
    extra = draw(st.sampled_from(p.values))
    if extra not in outs:
        outs.append(extra)
    p.b.create("func.return", outs)
    p.fn.sync_signature()
    return p.m
