"""RNN, GRU and LSTM, unrolled over the (static) sequence length into zt matmuls and
elementwise ops.

The input projections of all steps are one matmul; each step adds the recurrent
projection and applies the gate activations. ``sequence_lens`` masks finished
sequences (their state is kept, their outputs are zero).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value

Act = Callable[[Value], Value]


def _activation(ctx: NodeContext, name: str, alpha: float | None, beta: float | None) -> Act:
    """An ONNX RNN activation by name (alpha/beta from activation_alpha/beta, in order)."""
    n = name.lower()
    simple = {"tanh": "zt.tanh", "sigmoid": "zt.sigmoid", "relu": "zt.relu",
              "softsign": "zt.softsign", "softplus": "zt.softplus"}
    if n in simple:
        return lambda v: ctx.op(simple[n], v)
    if n == "leakyrelu":
        return lambda v: ctx.op("zt.leaky_relu", v, alpha=alpha if alpha is not None else 0.01)
    if n == "thresholdedrelu":
        return lambda v: ctx.op("zt.thresholded_relu", v, alpha=alpha if alpha is not None else 1.0)
    if n == "elu":
        return lambda v: ctx.op("zt.elu", v, alpha=alpha if alpha is not None else 1.0)
    if n == "hardsigmoid":
        return lambda v: ctx.op("zt.hard_sigmoid", v, alpha=alpha if alpha is not None else 0.2,
                                beta=beta if beta is not None else 0.5)
    if n in ("affine", "scaledtanh"):
        a = alpha if alpha is not None else 1.0
        b = beta if beta is not None else (0.0 if n == "affine" else 1.0)
        if n == "affine":
            return lambda v: ctx.op("zt.add", ctx.op("zt.mul", v, ctx.scalar(a, v)), ctx.scalar(b, v))
        return lambda v: ctx.op("zt.mul", ctx.op("zt.tanh", ctx.op("zt.mul", v, ctx.scalar(b, v))),
                                ctx.scalar(a, v))
    ctx.fail(f"unknown activation {name!r}")


def _activations(ctx: NodeContext, defaults: list[str], dirs: int) -> list[list[Act]]:
    names = list(ctx.attr("activations", defaults * dirs))
    alphas = list(ctx.attr("activation_alpha", []))
    betas = list(ctx.attr("activation_beta", []))
    uses_alpha = {"leakyrelu", "thresholdedrelu", "elu", "hardsigmoid", "affine", "scaledtanh"}
    uses_beta = {"hardsigmoid", "affine", "scaledtanh"}
    acts = []
    for name in names:
        a = alphas.pop(0) if name.lower() in uses_alpha and alphas else None
        b = betas.pop(0) if name.lower() in uses_beta and betas else None
        acts.append(_activation(ctx, name, a, b))
    k = len(defaults)
    if len(acts) != k * dirs:
        ctx.fail(f"needs {k * dirs} activations, got {len(acts)}")
    return [acts[d * k:(d + 1) * k] for d in range(dirs)]


class _Cell:
    """Shared plumbing of one direction: projections, slices, clip, masking."""

    def __init__(self, ctx: NodeContext, d: int, gates: int, hidden: int) -> None:
        self.ctx, self.d, self.gates, self.hidden = ctx, d, gates, hidden
        self.w = self.pick(ctx.input(1))  # [gates*hidden, input]
        self.r = self.pick(ctx.input(2))  # [gates*hidden, hidden]
        self.rt = ctx.op("zt.transpose", self.r, perm=(1, 0))
        self.wb = self.rb = None
        if ctx.has_input(3):
            b = self.pick(ctx.input(3))
            n = gates * hidden
            self.wb = ctx.op("zt.slice", b, starts=(0,), ends=(n,), axes=(0,))
            self.rb = ctx.op("zt.slice", b, starts=(n,), ends=(2 * n,), axes=(0,))
        clip = ctx.attr("clip", None)
        self.clip = float(clip) if clip is not None else None

    def pick(self, v: Value) -> Value:
        """Direction ``d`` of a [dirs, ...] parameter."""
        return self.ctx.op("zt.gather", v, self.ctx.constant(np.array(self.d, np.int64)), axis=0)

    def gate(self, v: Value, k: int) -> Value:
        h = self.hidden
        return self.ctx.op("zt.slice", v, starts=(k * h,), ends=((k + 1) * h,), axes=(-1,))

    def clipped(self, v: Value) -> Value:
        if self.clip is None:
            return v
        return self.ctx.op("zt.clip", v, min=-self.clip, max=self.clip)

    def input_proj(self, x: Value) -> Value:
        """X @ W^T (+ Wb) for every step at once: [seq, batch, gates*hidden]."""
        y = self.ctx.op("zt.matmul", x, self.ctx.op("zt.transpose", self.w, perm=(1, 0)))
        return y if self.wb is None else self.ctx.op("zt.add", y, self.wb)

    def rec(self, h: Value) -> Value:
        y = self.ctx.op("zt.matmul", h, self.rt)
        return y if self.rb is None else self.ctx.op("zt.add", y, self.rb)


def _run(ctx: NodeContext, kind: str) -> list[Value | None]:
    x = ctx.input(0)
    layout = int(ctx.attr("layout", 0))
    if layout:
        x = ctx.op("zt.transpose", x, perm=(1, 0, 2))
    seq, batch = x.type.shape[0], x.type.shape[1]
    if not isinstance(seq, int):
        ctx.fail(f"the sequence length of {x.type} must be static (the loop is unrolled)")
    hidden = int(ctx.attr("hidden_size"))
    direction = ctx.attr("direction", "forward")
    dirs = 2 if direction == "bidirectional" else 1
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    defaults = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
    acts = _activations(ctx, defaults[kind], dirs)
    lens = ctx.opt_input(4)
    init_h = ctx.opt_input(5)
    init_c = ctx.opt_input(6) if kind == "LSTM" else None
    if layout and init_h is not None:
        init_h = ctx.op("zt.transpose", init_h, perm=(1, 0, 2))
    if layout and init_c is not None:
        init_c = ctx.op("zt.transpose", init_c, perm=(1, 0, 2))
    ys, hs, cs = [], [], []
    for d in range(dirs):
        reverse = direction == "reverse" or d == 1
        cell = _Cell(ctx, d, gates, hidden)
        y, h, c = _direction(ctx, kind, cell, x, seq, batch, acts[d], reverse, lens, init_h, init_c)
        ys.append(y)
        hs.append(h)
        cs.append(c)
    y = ys[0] if dirs == 1 else ctx.op("zt.concat", *ys, axis=1)  # [seq, dirs, batch, hidden]
    y_h = hs[0] if dirs == 1 else ctx.op("zt.concat", *hs, axis=0)
    y_c = None
    if kind == "LSTM":
        y_c = cs[0] if dirs == 1 else ctx.op("zt.concat", *cs, axis=0)
    if layout:
        y = ctx.op("zt.transpose", y, perm=(2, 0, 1, 3))
        y_h = ctx.op("zt.transpose", y_h, perm=(1, 0, 2))
        y_c = ctx.op("zt.transpose", y_c, perm=(1, 0, 2)) if y_c is not None else None
    return [y, y_h, y_c] if kind == "LSTM" else [y, y_h]


def _direction(ctx: NodeContext, kind: str, cell: _Cell, x: Value, seq: int, batch, acts,
               reverse: bool, lens: Value | None, init_h: Value | None, init_c: Value | None):
    """One direction: returns Y [seq, 1, batch, hidden], Y_h and Y_c [1, batch, hidden]."""
    dt = x.type.dtype
    zeros = ctx.op("zt.fill", shape=(batch, cell.hidden), dtype=dt) if isinstance(batch, int) \
        else None
    h = cell.pick(init_h) if init_h is not None else zeros
    c = (cell.pick(init_c) if init_c is not None else zeros) if kind == "LSTM" else None
    if h is None:
        ctx.fail("a dynamic batch size needs initial_h")
    xp = cell.input_proj(x)
    peep = cell.pick(ctx.input(7)) if kind == "LSTM" and ctx.has_input(7) else None
    outs: list[Value | None] = [None] * seq
    for t in (range(seq - 1, -1, -1) if reverse else range(seq)):
        xt = ctx.op("zt.gather", xp, ctx.constant(np.array(t, np.int64)), axis=0)
        h_new, c_new = _step(ctx, kind, cell, acts, xt, h, c, peep)
        if lens is not None:
            live = ctx.op("zt.reshape", ctx.op("zt.lt", ctx.constant(np.array(t, lens.type.dtype.np_dtype)),
                                                lens), shape=(-1, 1))
            out = ctx.op("zt.where", live, h_new, ctx.scalar(0, h_new))
            h_new = ctx.op("zt.where", live, h_new, h)
            if c_new is not None:
                c_new = ctx.op("zt.where", live, c_new, c)
        else:
            out = h_new
        outs[t] = ctx.op("zt.unsqueeze", out, axes=(0, 1))
        h, c = h_new, c_new
    y = outs[0] if seq == 1 else ctx.op("zt.concat", *outs, axis=0)
    y_h = ctx.op("zt.unsqueeze", h, axes=(0,))
    y_c = ctx.op("zt.unsqueeze", c, axes=(0,)) if c is not None else None
    return y, y_h, y_c


def _step(ctx: NodeContext, kind: str, cell: _Cell, acts, xt: Value, h: Value,
          c: Value | None, peep: Value | None) -> tuple[Value, Value | None]:
    add = lambda a, b: ctx.op("zt.add", a, b)  # noqa: E731
    mul = lambda a, b: ctx.op("zt.mul", a, b)  # noqa: E731
    if kind == "RNN":
        return acts[0](cell.clipped(add(xt, cell.rec(h)))), None
    if kind == "GRU":
        f, g = acts
        r_all = ctx.op("zt.matmul", h, cell.rt)
        rb = cell.rb

        def pre(k: int) -> Value:
            v = add(cell.gate(xt, k), cell.gate(r_all, k))
            return v if rb is None else add(v, cell.gate(rb, k))

        z, r = f(cell.clipped(pre(0))), f(cell.clipped(pre(1)))
        rh_bias = cell.gate(rb, 2) if rb is not None else None
        if ctx.attr("linear_before_reset", 0):
            rec = cell.gate(r_all, 2) if rh_bias is None else add(cell.gate(r_all, 2), rh_bias)
            pre_h = add(cell.gate(xt, 2), mul(r, rec))
        else:
            rh = ctx.op("zt.matmul", mul(r, h), ctx.op("zt.transpose", _rows(ctx, cell, 2),
                                                        perm=(1, 0)))
            pre_h = add(cell.gate(xt, 2), rh if rh_bias is None else add(rh, rh_bias))
        hh = g(cell.clipped(pre_h))
        return add(mul(ctx.op("zt.sub", ctx.scalar(1, hh), z), hh), mul(z, h)), None
    f, g, hact = acts
    gates = add(xt, cell.rec(h))
    i_pre, o_pre, f_pre, c_pre = (cell.gate(gates, k) for k in range(4))
    if peep is not None:
        pi, po, pf = (cell.gate(peep, k) for k in range(3))
        i_pre = add(i_pre, mul(pi, c))
        f_pre = add(f_pre, mul(pf, c))
    i = f(cell.clipped(i_pre))
    fg = ctx.op("zt.sub", ctx.scalar(1, i), i) if ctx.attr("input_forget", 0) else \
        f(cell.clipped(f_pre))
    c_new = add(mul(fg, c), mul(i, g(cell.clipped(c_pre))))
    if peep is not None:
        o_pre = add(o_pre, mul(po, c_new))
    o = f(cell.clipped(o_pre))
    return mul(o, hact(c_new)), c_new


def _rows(ctx: NodeContext, cell: _Cell, k: int) -> Value:
    """Rows k*hidden .. (k+1)*hidden of R ([hidden, hidden])."""
    h = cell.hidden
    return ctx.op("zt.slice", cell.r, starts=(k * h,), ends=((k + 1) * h,), axes=(0,))


@converter("RNN", since=7)
def _rnn(ctx: NodeContext) -> list[Value | None]:
    return _run(ctx, "RNN")


@converter("GRU", since=7)
def _gru(ctx: NodeContext) -> list[Value | None]:
    return _run(ctx, "GRU")


@converter("LSTM", since=7)
def _lstm(ctx: NodeContext) -> list[Value | None]:
    return _run(ctx, "LSTM")
