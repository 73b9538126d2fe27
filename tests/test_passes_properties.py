"""Every pipeline of registered passes keeps modules valid and their results unchanged.

Two sources of modules: the general random programs of ``tests/strategies.py``
(checked against the op samples' independent oracles), and programs built from
shapes that the canonical patterns, ``cse`` and ``constant-fold`` rewrite
(identity constants, double negations, transposes and reshapes that cancel,
round-trip casts, duplicated and all-constant subexpressions), checked against a
NumPy evaluation built alongside them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.opsamples import SAMPLES
from tests.strategies import evaluate_oracle, programs
from zenith.interpreter import interpret
from zenith.ir import (
    Builder,
    DenseAttr,
    Function,
    Module,
    TensorType,
    Value,
    dtype,
    parse_module,
    print_module,
    verify,
)
from zenith.passes import PASSES, run_pipeline
from zenith.tolerance import assert_close

PROPS = settings(max_examples=200, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Passes that keep the module's precision (lower-precision has its own property tests, at
# half-precision tolerance, in tests/test_lower_precision.py).
EXACT = [n for n in PASSES.names() if PASSES.get(n)().numerics_dtype() is None]
ENTRIES = [*EXACT, "canonicalize{test-convergence=true}", "constant-fold{size-limit=4}"]
pipelines = st.lists(st.sampled_from(ENTRIES), min_size=1, max_size=6).map(",".join)


@settings(PROPS, max_examples=100)
@given(programs(symbolic=True, names=True, max_ops=8), pipelines)
def test_random_pipelines_keep_symbolic_programs_valid(p, pipeline):
    """Symbolic dims (which the interpreter cannot always run: a symbol may be 1
    where a type rule assumed otherwise) must survive every pipeline."""
    run_pipeline(p.module, pipeline)
    verify(p.module)
    again = parse_module(print_module(p.module))
    assert print_module(again) == print_module(p.module)


@PROPS
@given(programs(max_ops=8), pipelines, st.integers(0, 2**31))
def test_random_pipelines_on_random_programs(p, pipeline, seed):
    fn = p.module.main
    inputs = p.inputs(seed)
    want = evaluate_oracle(fn, inputs)
    scale = 4.0 * max((SAMPLES[op.name].rtol_scale for op in fn.body if op.name in SAMPLES), default=1.0)
    run_pipeline(p.module, pipeline)
    verify(p.module)
    got = interpret(p.module, inputs)
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert_close(np.asarray(w), g, scale=scale, what=f"{pipeline}: result #{i}")


Eval = Callable[[list[np.ndarray]], np.ndarray]


class _Prog:
    """A module under construction plus a NumPy evaluation of each of its values."""

    def __init__(self, t: TensorType) -> None:
        self.module = Module()
        self.fn = self.module.add_function(Function("main", [t], []))
        self.b = Builder.at_end(self.fn.body)
        self.values: list[Value] = [self.fn.args[0]]
        self.evals: list[Eval] = [lambda env: env[0]]

    def add(self, v: Value, ev: Eval) -> None:
        self.values.append(v)
        self.evals.append(ev)

    def const(self, value, like: Value, scalar: bool) -> Value:
        shape = () if scalar else like.type.shape
        arr = np.full(shape, value, dtype=like.type.dtype.np_dtype)
        return self.b.op("zt.constant", value=DenseAttr(arr))

    def evaluate(self, x: np.ndarray) -> list[np.ndarray]:
        env = [x]
        for ev in self.evals[1:]:
            env.append(np.asarray(ev(env)))
        return env


NEUTRAL = {"zt.add": (0, np.add), "zt.sub": (0, np.subtract), "zt.mul": (1, np.multiply),
           "zt.div": (1, None)}


BINARY = {"zt.add": np.add, "zt.sub": np.subtract, "zt.mul": np.multiply, "zt.max": np.maximum,
          "zt.min": np.minimum}
INT_BINARY = {"zt.bitwise_and": np.bitwise_and, "zt.bitwise_or": np.bitwise_or,
              "zt.bitwise_xor": np.bitwise_xor}


def _step(d, prog: _Prog, is_int: bool) -> None:
    i = d(st.integers(0, len(prog.values) - 1))
    v = prog.values[i]
    b = prog.b
    kind = d(st.sampled_from(["neg2", "abs", "relu", "neutral", "binconst", "binconst", "scale", "self",
                              "transpose2", "transpose2", "transpose", "reshape2", "cast2", "where", "dup",
                              "constexpr", "views", "shape_of"]))
    if kind == "neg2":
        prog.add(b.op("zt.neg", b.op("zt.neg", v)), lambda e: np.negative(-e[i]))
    elif kind == "abs":
        prog.add(b.op("zt.abs", b.op("zt.neg", v)), lambda e: np.abs(-e[i]))
    elif kind == "relu":
        prog.add(b.op("zt.relu", b.op("zt.relu", v)), lambda e: np.maximum(e[i], 0))
    elif kind == "neutral":
        name = d(st.sampled_from(sorted(NEUTRAL)))
        c = prog.const(NEUTRAL[name][0], v, d(st.booleans()))
        left = name in ("zt.add", "zt.mul") and d(st.booleans())
        prog.add(b.op(name, c, v) if left else b.op(name, v, c), lambda e: e[i])
    elif kind == "binconst":  # near-identity constants: folds must tell them apart
        names = sorted(BINARY) + (sorted(INT_BINARY) if is_int else [])
        name = d(st.sampled_from(names))
        fn = {**BINARY, **INT_BINARY}[name]
        value = d(st.sampled_from([0, 1, -1, 2]))
        c = prog.const(value, v, d(st.booleans()))
        if d(st.booleans()):
            prog.add(b.op(name, c, v), lambda e: fn(np.asarray(value, e[i].dtype), e[i]))
        else:
            prog.add(b.op(name, v, c), lambda e: fn(e[i], np.asarray(value, e[i].dtype)))
    elif kind == "scale":
        c = prog.const(2, v, d(st.booleans()))
        prog.add(b.op("zt.mul", c, v), lambda e: e[i] * np.asarray(2, e[i].dtype))
    elif kind == "self":
        name = d(st.sampled_from(["zt.max", "zt.add"] + (["zt.sub"] if is_int else [])))
        fn = {"zt.max": np.maximum, "zt.add": np.add, "zt.sub": np.subtract}[name]
        prog.add(b.op(name, v, v), lambda e: fn(e[i], e[i]))
    elif kind in ("transpose", "transpose2"):
        rank = v.type.rank
        p = tuple(d(st.permutations(range(rank))))
        t = b.op("zt.transpose", v, perm=p)
        if kind == "transpose":
            prog.add(t, lambda e: np.transpose(e[i], p))
        else:
            q = tuple(d(st.permutations(range(rank))))
            prog.add(b.op("zt.transpose", t, perm=q), lambda e: np.transpose(np.transpose(e[i], p), q))
    elif kind == "reshape2":
        flat = b.op("zt.reshape", v, shape=(-1,))
        prog.add(b.op("zt.reshape", flat, shape=tuple(v.type.shape)), lambda e: e[i])
    elif kind == "views":  # unsqueeze, then back through flatten or squeeze
        u = b.op("zt.unsqueeze", v, axes=(0,))
        back = b.op("zt.squeeze", u, axes=(0,)) if d(st.booleans()) else \
            b.op("zt.reshape", b.op("zt.flatten", u, axis=1), shape=tuple(v.type.shape))
        prog.add(back, lambda e: e[i])
    elif kind == "shape_of":  # reshape_dyn to its own shape (read with shape_of): ? dims...
        r = b.op("zt.reshape_dyn", v, b.op("zt.shape_of", v))
        prog.add(b.op("zt.reshape", r, shape=tuple(v.type.shape)), lambda e: e[i])  # ...made static
    elif kind == "cast2":
        wide = dtype("i64" if is_int else "f64")
        back = v.type.dtype
        prog.add(b.op("zt.cast", b.op("zt.cast", v, to=wide), to=back), lambda e: e[i])
    elif kind == "where":
        flag = d(st.booleans())
        c = b.op("zt.constant", value=DenseAttr(np.array(flag)))
        j = d(st.sampled_from([k for k, w in enumerate(prog.values) if w.type == v.type]))
        prog.add(b.op("zt.where", c, v, prog.values[j]), lambda e: e[i] if flag else e[j])
    elif kind == "dup":
        prog.add(b.op("zt.add", b.op("zt.neg", v), b.op("zt.neg", v)), lambda e: -e[i] + -e[i])
    else:
        c1, c2 = prog.const(3, v, False), prog.const(-1, v, False)
        s = b.op("zt.add", b.op("zt.mul", c1, c2), v)
        prog.add(s, lambda e: e[i] + np.asarray(-3, e[i].dtype))


@st.composite
def rewritable_programs(draw) -> _Prog:
    dt = draw(st.sampled_from(["f32", "f64", "i32", "i64"]))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    if draw(st.booleans()):  # a cube: transposes keep the type, so wrong perms show in values
        shape = (shape[0] + 1,) * len(shape)
    prog = _Prog(TensorType(dtype(dt), shape))
    for _ in range(draw(st.integers(1, 8))):
        _step(draw, prog, dt.startswith("i"))
    outs = [prog.values[-1]]
    k = draw(st.integers(0, len(prog.values) - 1))
    outs.append(prog.values[k])
    prog.b.create("func.return", outs)
    prog.fn.sync_signature()
    prog.outs = [len(prog.values) - 1, k]  # type: ignore[attr-defined]
    return prog


@PROPS
@given(rewritable_programs(), pipelines, st.integers(0, 2**31))
def test_random_pipelines_on_rewritable_programs(prog, pipeline, seed):
    verify(prog.module)
    t = prog.fn.args[0].type
    rng = np.random.default_rng(seed)
    if t.dtype.is_int:
        x = rng.integers(-20, 20, size=t.shape).astype(t.dtype.np_dtype)
    else:
        x = rng.uniform(-3, 3, size=t.shape).astype(t.dtype.np_dtype)
    env = prog.evaluate(x)
    run_pipeline(prog.module, pipeline)
    verify(prog.module)
    got = interpret(prog.module, [x])
    for k, g in zip(prog.outs, got, strict=True):
        assert_close(env[k], g, what=f"{pipeline}: value #{k}")


def test_canonicalize_cse_dce_shrink_rewritable_programs():
    """The same programs do get smaller: the rewrites are not vacuous."""
    before = after = 0

    @settings(max_examples=40, deadline=None, database=None)
    @given(rewritable_programs())
    def run(prog):
        nonlocal before, after
        before += len(prog.fn.body)
        run_pipeline(prog.module, "constant-fold,canonicalize,cse,dce")
        after += len(prog.fn.body)

    run()
    assert after < 0.7 * before
