"""Samples and oracles for elementwise ops, constants and casts.

Oracles compute in f64 with Python's math module where NumPy has no function,
then round to the operand dtype once.
"""

from __future__ import annotations

import math

import numpy as np

from tests.opsamples import FLOATS, INTS, NUMERIC, Arg, Draw, sample
from zenith.ir import TensorType, dtype

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _f64(fn):
    """Oracle computed in f64 and rounded to the input dtype."""

    def oracle(inputs, attrs):
        x = inputs[0]
        return np.asarray(fn(*[a.astype(np.float64) for a in inputs], **attrs)).astype(x.dtype)

    return oracle


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


UNARY_ORACLES = {
    "neg": (lambda x: -x, NUMERIC[:-1] + ("i8",), (-2, 2)),
    "abs": (np.abs, NUMERIC, (-2, 2)),
    "sign": (np.sign, NUMERIC, (-2, 2)),
    "exp": (np.exp, FLOATS, (-3, 3)),
    "log": (np.log, FLOATS, (0.1, 4)),
    "sqrt": (np.sqrt, FLOATS, (0.0, 4)),
    "rsqrt": (lambda x: x ** -0.5, FLOATS, (0.2, 4)),
    "reciprocal": (lambda x: 1 / x, FLOATS, (0.5, 4)),
    "tanh": (np.tanh, FLOATS, (-3, 3)),
    "erf": (_erf, FLOATS, (-3, 3)),
    "sigmoid": (_sig, FLOATS, (-5, 5)),
    "relu": (lambda x: x * (x > 0), FLOATS + ("i32", "i64", "i8"), (-2, 2)),
    "silu": (lambda x: x * _sig(x), FLOATS, (-4, 4)),
    "softplus": (_softplus, FLOATS, (-4, 4)),
    "softsign": (lambda x: x / (1 + abs(x)), FLOATS, (-4, 4)),
    "mish": (lambda x: x * np.tanh(_softplus(x)), FLOATS, (-4, 4)),
    "hard_swish": (lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6, FLOATS, (-5, 5)),
    "floor": (np.floor, FLOATS, (-3, 3)),
    "ceil": (np.ceil, FLOATS, (-3, 3)),
    "round": (np.rint, FLOATS, (-3, 3)),
    "sin": (np.sin, FLOATS, (-3, 3)),
    "cos": (np.cos, FLOATS, (-3, 3)),
    "tan": (np.tan, FLOATS, (-1.2, 1.2)),
    "asin": (np.arcsin, FLOATS, (-0.9, 0.9)),
    "acos": (np.arccos, FLOATS, (-0.9, 0.9)),
    "atan": (np.arctan, FLOATS, (-3, 3)),
    "sinh": (np.sinh, FLOATS, (-3, 3)),
    "cosh": (np.cosh, FLOATS, (-3, 3)),
    "asinh": (np.arcsinh, FLOATS, (-3, 3)),
    "acosh": (np.arccosh, FLOATS, (1.1, 4)),
    "atanh": (np.arctanh, FLOATS, (-0.9, 0.9)),
}


def _unary(name: str, fn, dtypes, rng):
    def gen(d: Draw, like: TensorType | None):
        t = d.type(dtypes, like)
        return [Arg(t, *rng, reusable=rng[0] <= -2)], {}

    def oracle(inputs, attrs):
        x = inputs[0]
        if x.dtype.kind in "iub":
            return np.asarray(fn(x)).astype(x.dtype)
        return np.asarray(fn(x.astype(np.float64))).astype(x.dtype)

    sample(f"zt.{name}", oracle, rtol_scale=4.0 if name in ("tan", "cosh", "sinh") else 1.0,
           composable=name not in ("floor", "ceil", "round", "sign"))(gen)


for _n, (_fn, _dts, _rng) in UNARY_ORACLES.items():
    _unary(_n, _fn, _dts, _rng)


def _float_unary_with_attrs(name, attr_gen, fn, rng=(-3, 3)):
    def gen(d: Draw, like):
        return [Arg(d.type(FLOATS, like), *rng)], attr_gen(d)

    sample(f"zt.{name}", _f64(fn))(gen)


def _gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


_float_unary_with_attrs("gelu", lambda d: {"approximate": d.choice(["none", "tanh"])}, _gelu)
_float_unary_with_attrs(
    "hard_sigmoid", lambda d: {"alpha": d.choice([0.2, 0.5]), "beta": d.choice([0.5, 0.1])},
    lambda x, alpha=0.2, beta=0.5: np.minimum(np.maximum(alpha * x + beta, 0), 1))
_float_unary_with_attrs("elu", lambda d: {"alpha": d.choice([1.0, 0.5])},
                        lambda x, alpha=1.0: np.where(x > 0, x, alpha * (np.exp(x) - 1)))
_float_unary_with_attrs(
    "selu", lambda d: {},
    lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)))
_float_unary_with_attrs(
    "celu", lambda d: {"alpha": d.choice([1.0, 2.0])},
    lambda x, alpha=1.0: np.maximum(0, x) + np.minimum(0, alpha * (np.exp(x / alpha) - 1)))
_float_unary_with_attrs("leaky_relu", lambda d: {"alpha": d.choice([0.01, 0.1])},
                        lambda x, alpha=0.01: np.where(x >= 0, x, alpha * x))
_float_unary_with_attrs("thresholded_relu", lambda d: {"alpha": d.choice([1.0, 0.5])},
                        lambda x, alpha=1.0: np.where(x > alpha, x, 0.0))
_float_unary_with_attrs(
    "shrink", lambda d: {"bias": d.choice([0.0, 1.5]), "lambd": d.choice([0.5, 1.0])},
    lambda x, bias=0.0, lambd=0.5: np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, 0)))


@sample("zt.clip", lambda ins, a: np.clip(ins[0], a.get("min", -np.inf), a.get("max", np.inf))
        .astype(ins[0].dtype))
def _clip(d: Draw, like):
    t = d.type(FLOATS + ("i32", "i64"), like)
    attrs = {}
    if d.bool():
        attrs["min"] = -1.0
    if d.bool():
        attrs["max"] = 1.0
    return [Arg(t)], attrs


@sample("zt.not", lambda ins, a: ~ins[0])
def _not(d: Draw, like):
    return [Arg(d.type(["bool"], like))], {}


@sample("zt.bitwise_not", lambda ins, a: ~ins[0])
def _bnot(d: Draw, like):
    return [Arg(d.type(INTS, like), -100, 100)], {}


@sample("zt.isnan", lambda ins, a: ins[0] != ins[0])
def _isnan(d: Draw, like):
    x = np.array([0.0, np.nan, np.inf, -1.0, -np.inf, np.nan], dtype=d.dtype(FLOATS).np_dtype)
    return [Arg.constant(x)], {}


@sample("zt.isinf", lambda ins, a: ((ins[0] == np.inf) & a.get("detect_positive", True))
        | ((ins[0] == -np.inf) & a.get("detect_negative", True)))
def _isinf(d: Draw, like):
    x = np.array([0.0, np.nan, np.inf, -1.0, -np.inf], dtype=d.dtype(FLOATS).np_dtype)
    attrs = {}
    if d.bool():
        attrs["detect_positive"] = False
    elif d.bool():
        attrs["detect_negative"] = False
    return [Arg.constant(x)], attrs


def _binary_gen(dtypes, lo=-2.0, hi=2.0, rhs_lo=None, rhs_hi=None):
    def gen(d: Draw, like):
        t = d.type(dtypes, like, max_rank=3)
        shape = d.broadcastable(t.shape)
        if d.bool():
            a, b = TensorType(t.dtype, shape), t
        else:
            a, b = t, TensorType(t.dtype, shape)
        rl = lo if rhs_lo is None else rhs_lo
        rh = hi if rhs_hi is None else rhs_hi
        return [Arg(a, lo, hi), Arg(b, rl, rh, reusable=rhs_lo is None)], {}

    return gen


def _trunc_div(a, b):
    if a.dtype.kind in "iu":
        q = np.trunc(a.astype(np.float64) / b.astype(np.float64))
        return q.astype(a.dtype)
    return (a.astype(np.float64) / b.astype(np.float64)).astype(a.dtype)


def _same(fn):
    return lambda ins, a: np.asarray(fn(*ins)).astype(ins[0].dtype)


def _bool(fn):
    return lambda ins, a: np.asarray(fn(*ins)).astype(bool)


BINARY_SAMPLES = {
    "add": (_same(lambda a, b: a.astype(np.float64) + b), NUMERIC),
    "sub": (_same(lambda a, b: a.astype(np.float64) - b), FLOATS),
    "mul": (_same(lambda a, b: a.astype(np.float64) * b), NUMERIC),
    "max": (_same(lambda a, b: np.where(a >= b, a, b)), NUMERIC),
    "min": (_same(lambda a, b: np.where(a <= b, a, b)), NUMERIC),
    "eq": (_bool(lambda a, b: a == b), NUMERIC + ("bool",)),
    "ne": (_bool(lambda a, b: a != b), NUMERIC + ("bool",)),
    "lt": (_bool(lambda a, b: a < b), NUMERIC),
    "le": (_bool(lambda a, b: a <= b), NUMERIC),
    "gt": (_bool(lambda a, b: a > b), NUMERIC),
    "ge": (_bool(lambda a, b: a >= b), NUMERIC),
    "and": (lambda ins, a: ins[0] & ins[1], ("bool",)),
    "or": (lambda ins, a: ins[0] | ins[1], ("bool",)),
    "xor": (lambda ins, a: ins[0] ^ ins[1], ("bool",)),
    "bitwise_and": (lambda ins, a: ins[0] & ins[1], INTS),
    "bitwise_or": (lambda ins, a: ins[0] | ins[1], INTS),
    "bitwise_xor": (lambda ins, a: ins[0] ^ ins[1], INTS),
}

for _n, (_or, _dts) in BINARY_SAMPLES.items():
    sample(f"zt.{_n}", _or, composable=_n not in ("eq", "ne", "lt", "le", "gt", "ge", "max",
                                                    "min"))(_binary_gen(_dts))

sample("zt.div", lambda ins, a: _trunc_div(*ins))(
    _binary_gen(("f32", "f64", "i32", "i64"), rhs_lo=1, rhs_hi=5))


def _py_mod(a, b, fmod=False):
    if fmod:
        return np.fmod(a.astype(np.float64), b).astype(a.dtype)
    return (a - np.floor(a.astype(np.float64) / b) * b).astype(a.dtype)


sample("zt.mod", lambda ins, a: _py_mod(*ins, **a), composable=False)(
    _binary_gen(("i32", "i64", "f64"), lo=-9, hi=9, rhs_lo=1, rhs_hi=4))


def _shift_gen(d: Draw, like):
    t = TensorType(dtype(d.choice(["u8", "u32", "u64"])), d.shape(max_rank=2))
    return [Arg(t, 0, 100), Arg(t, 0, 3, reusable=False)], {}


sample("zt.shl", lambda ins, a: (ins[0].astype(np.uint64) * (2 ** ins[1].astype(np.uint64)))
       .astype(ins[0].dtype))(_shift_gen)
sample("zt.shr", lambda ins, a: (ins[0].astype(np.uint64) // (2 ** ins[1].astype(np.uint64)))
       .astype(ins[0].dtype))(_shift_gen)


@sample("zt.pow", lambda ins, a: (ins[0].astype(np.float64) ** ins[1].astype(np.float64))
        .astype(ins[0].dtype), composable=False)
def _pow(d: Draw, like):
    t = d.type(("f32", "f64"), like, max_rank=3)
    e = TensorType(d.dtype(("f32", "f64", "i64")), d.broadcastable(t.shape))
    return [Arg(t, 0.5, 2.0, reusable=False), Arg(e, -2, 3, reusable=False)], {}


@sample("zt.where", lambda ins, a: np.where(*ins))
def _where(d: Draw, like):
    t = d.type(NUMERIC, like, max_rank=3)
    c = TensorType(dtype("bool"), d.broadcastable(t.shape))
    y = TensorType(t.dtype, d.broadcastable(t.shape))
    return [Arg(c), Arg(t), Arg(y)], {}


@sample("zt.cast", lambda ins, a: ins[0].astype(a["to"].np_dtype) if a["to"].kind != "bool"
        else ins[0] != 0, composable=False)
def _cast(d: Draw, like):
    src = d.type(NUMERIC + ("bool",), like)
    to = d.dtype(NUMERIC + ("bool",))
    if src.dtype.is_float and to.is_int:
        return [Arg(src, 0, 100, reusable=False)], {"to": to}
    return [Arg(src, -2 if to.is_float or to.name.startswith("i") else 0, 100,
                reusable=False)], {"to": to}


@sample("zt.constant", lambda ins, a: a["value"].array)
def _constant(d: Draw, like):
    from zenith.ir import DenseAttr

    dt = d.dtype(NUMERIC + ("bool",))
    shape = d.shape(max_rank=3)
    size = d.choice([None, 40])
    if size:
        shape = (size,)
    rng = np.random.default_rng(d.int(0, 1000))
    vals = rng.uniform(-10, 10, size=shape)
    arr = (vals > 0) if dt.is_bool else vals.astype(dt.np_dtype)
    return [], {"value": DenseAttr(arr, dt)}
