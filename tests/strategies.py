"""Hypothesis strategies for random well-typed modules over the whole op set.

A program is built op by op from the samples in ``tests.opsamples``: each op's
operands are earlier results of the right type (when its sample allows), fresh
function arguments, or constants. ``evaluate_oracle`` runs the same program
through the samples' independent oracles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from tests.opsamples import SAMPLES, Arg, Draw, random_array
from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, Value, ZenithError

NAME_POOL = ["x", "x", "y", "h.1", "out", "a$b", "9lives", "in put", "", "_t"]


@dataclass
class Program:
    module: Module
    arg_specs: list[Arg]

    def inputs(self, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [random_array(rng, a) for a in self.arg_specs]


def _symbolize(t: TensorType, d: Draw) -> TensorType:
    return t.with_shape(tuple(
        f"n{dim}" if d.int(0, 2) == 0 else (None if d.int(0, 5) == 0 else dim)
        for dim in t.shape))


@st.composite
def programs(draw, ops: list[str] | None = None, max_ops: int = 6, symbolic: bool = False,
             names: bool = False) -> Program:
    d = Draw(draw)
    pool = ops or sorted(SAMPLES)
    module = Module()
    fn = module.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    specs: list[Arg] = []
    values: list[Value] = []
    for _ in range(d.int(1, max_ops)):
        name = d.choice(pool)
        s = SAMPLES[name]
        like = d.choice(values).type if values and d.bool() else None
        if like is not None and not like.is_static:
            like = None  # a data-dependent (?) dim cannot shape a fresh argument
        args, attrs = s.gen(d, like)
        sym = symbolic and d.bool()
        for attempt in (sym, False) if sym else (False,):
            n_args = len(fn.body.args)
            operands = []
            for a in args:
                if a.const is not None:
                    operands.append(b.op("zt.constant", value=DenseAttr(a.const)))
                    continue
                cands = [v for v in values if v.type == a.type]
                if s.composable and a.reusable and cands and d.bool():
                    operands.append(d.choice(cands))
                    continue
                t = _symbolize(a.type, d) if attempt else a.type
                operands.append(fn.body.add_arg(t))
                specs.append(a)
            try:
                op = s.create(b, operands, attrs)
                break
            except ZenithError:
                if not attempt:
                    raise
                while len(fn.body.args) > n_args:
                    fn.body.erase_arg(len(fn.body.args) - 1)
                    specs.pop()
        if names:
            for r in op.results:
                r.name_hint = d.choice(NAME_POOL) or None
        values.extend(op.results)
    outs = [v for v in values if not v.has_uses] or values[-1:]
    b.create("func.return", outs)
    fn.sync_signature()
    return Program(module, specs)


def evaluate_oracle(fn: Function, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run ``fn`` op by op through each op's sample oracle."""
    env = dict(zip(fn.args, inputs))
    for op in fn.body:
        ins = [env[v] for v in op.operands]
        if op.name == "func.return":
            return ins
        oracle = SAMPLES[op.name].oracle
        out = oracle(ins, dict(op.attributes))
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for r, o in zip(op.results, outs):
            env[r] = np.asarray(o)
    raise AssertionError("function has no return")
