"""Elementwise ops of the ``zt`` dialect, declared as tables.

Operands of binary ops must share a dtype (the IR never promotes implicitly;
see docs/ir.md) and broadcast with NumPy rules. Integer ``div`` rounds toward
zero. Low-precision floats compute in f32 and round once.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from zenith.dialects import numerics as nx
from zenith.dialects.shape_rules import broadcast_shapes, same_dtype
from zenith.ir.dtypes import DTYPES, boolean
from zenith.ir.opdef import (
    COMMUTATIVE,
    ELEMENTWISE,
    PURE,
    InferContext,
    InferError,
    define_op,
)
from zenith.ir.types import TensorType

# Which dtypes an op accepts.
DTYPE_CLASSES = {
    "float": lambda d: d.is_float,
    "numeric": lambda d: d.is_float or d.is_int,
    "signed": lambda d: d.is_float or d.kind == "int",
    "int": lambda d: d.is_int,
    "bool": lambda d: d.is_bool,
    "any": lambda d: d.kind != "string",
    "all": lambda d: True,
}


_ALLOWED = {cls: frozenset(d for d in DTYPES.values() if ok(d)) for cls, ok in DTYPE_CLASSES.items()}


def _check_class(ctx: InferContext, cls: str) -> None:
    allowed = _ALLOWED[cls]
    for i, t in enumerate(ctx.operand_types):
        if t.dtype not in allowed:
            raise InferError(f"operand #{i} has dtype {t.dtype}; '{ctx.name}' needs {cls} dtypes")


def _unary_infer(cls: str, result: str):
    def infer(ctx: InferContext) -> TensorType:
        _check_class(ctx, cls)
        t = ctx.operand_types[0]
        return t.with_dtype(boolean) if result == "bool" else t

    return infer


def _binary_infer(cls: str, result: str):
    def infer(ctx: InferContext) -> TensorType:
        _check_class(ctx, cls)
        dt = same_dtype(ctx)
        shape = broadcast_shapes(*(t.shape for t in ctx.operand_types))
        return TensorType(boolean if result == "bool" else dt, shape)

    return infer


def _f(fn):
    """A float op computed in f32 for low-precision inputs."""
    return nx.in_f32(fn)


def _isinf(x, detect_positive=True, detect_negative=True):
    return (np.isposinf(x) & detect_positive) | (np.isneginf(x) & detect_negative)


def _clip(x, min=None, max=None):
    out = x
    if min is not None:
        out = np.maximum(out, np.asarray(min).astype(x.dtype))
    if max is not None:
        out = np.minimum(out, np.asarray(max).astype(x.dtype))
    return out


def _round(x):
    return np.round(x)  # half to even, as ONNX and IEEE


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _selu(x, alpha=1.6732632423543772, gamma=1.0507009873554805):
    return gamma * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _celu(x, alpha=1.0):
    return np.maximum(x, 0) + np.minimum(0, alpha * np.expm1(np.minimum(x, 0) / alpha))


def _mish(x):
    return x * np.tanh(nx.softplus(x))


def _shrink(x, bias=0.0, lambd=0.5):
    return np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, 0))


# name: (reference, dtype class, result kind, attributes)
UNARY: dict[str, tuple] = {
    "neg": (np.negative, "signed", "same", {}),
    "abs": (np.abs, "numeric", "same", {}),
    "sign": (np.sign, "numeric", "same", {}),
    "exp": (_f(np.exp), "float", "same", {}),
    "log": (_f(np.log), "float", "same", {}),
    "sqrt": (_f(np.sqrt), "float", "same", {}),
    "rsqrt": (_f(lambda x: 1.0 / np.sqrt(x)), "float", "same", {}),
    "reciprocal": (_f(lambda x: 1.0 / x), "float", "same", {}),
    "tanh": (_f(np.tanh), "float", "same", {}),
    "erf": (_f(nx.erf), "float", "same", {}),
    "sigmoid": (_f(nx.sigmoid), "float", "same", {}),
    "relu": (lambda x: np.maximum(x, np.zeros((), x.dtype)), "signed", "same", {}),
    "gelu": (_f(nx.gelu), "float", "same", {"approximate": ("str", "none")}),
    "silu": (_f(lambda x: x * nx.sigmoid(x)), "float", "same", {}),
    "softplus": (_f(nx.softplus), "float", "same", {}),
    "softsign": (_f(lambda x: x / (1 + np.abs(x))), "float", "same", {}),
    "mish": (_f(_mish), "float", "same", {}),
    "hard_sigmoid": (_f(lambda x, alpha=0.2, beta=0.5: np.clip(alpha * x + beta, 0, 1)),
                     "float", "same", {"alpha": ("float", 0.2), "beta": ("float", 0.5)}),
    "hard_swish": (_f(lambda x: x * np.clip(x / 6 + 0.5, 0, 1)), "float", "same", {}),
    "elu": (_f(_elu), "float", "same", {"alpha": ("float", 1.0)}),
    "selu": (_f(_selu), "float", "same",
             {"alpha": ("float", 1.6732632423543772), "gamma": ("float", 1.0507009873554805)}),
    "celu": (_f(_celu), "float", "same", {"alpha": ("float", 1.0)}),
    "leaky_relu": (_f(lambda x, alpha=0.01: np.where(x >= 0, x, alpha * x)), "float", "same",
                   {"alpha": ("float", 0.01)}),
    "thresholded_relu": (_f(lambda x, alpha=1.0: np.where(x > alpha, x, 0)), "float", "same",
                         {"alpha": ("float", 1.0)}),
    "shrink": (_f(_shrink), "numeric", "same", {"bias": ("float", 0.0), "lambd": ("float", 0.5)}),
    "floor": (np.floor, "float", "same", {}),
    "ceil": (np.ceil, "float", "same", {}),
    "round": (_round, "float", "same", {}),
    "sin": (_f(np.sin), "float", "same", {}),
    "cos": (_f(np.cos), "float", "same", {}),
    "tan": (_f(np.tan), "float", "same", {}),
    "asin": (_f(np.arcsin), "float", "same", {}),
    "acos": (_f(np.arccos), "float", "same", {}),
    "atan": (_f(np.arctan), "float", "same", {}),
    "sinh": (_f(np.sinh), "float", "same", {}),
    "cosh": (_f(np.cosh), "float", "same", {}),
    "asinh": (_f(np.arcsinh), "float", "same", {}),
    "acosh": (_f(np.arccosh), "float", "same", {}),
    "atanh": (_f(np.arctanh), "float", "same", {}),
    "not": (np.logical_not, "bool", "same", {}),
    "bitwise_not": (np.invert, "int", "same", {}),
    "isnan": (np.isnan, "float", "bool", {}),
    "isinf": (_isinf, "float", "bool",
              {"detect_positive": ("bool", True), "detect_negative": ("bool", True)}),
    "clip": (_clip, "numeric", "same", {"min": ("float", None), "max": ("float", None)}),
}


def _mod(a, b, fmod=False):
    if fmod or a.dtype.kind == "f":
        return np.fmod(a, b) if fmod else np.mod(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mod(a, b)


def _shift(direction: str):
    def fn(a, b):
        with np.errstate(over="ignore"):
            bits = a.dtype.itemsize * 8
            out = np.left_shift(a, b) if direction == "left" else np.right_shift(a, b)
            # Shifting by the bit width or more: 0, except an arithmetic right shift of a
            # negative value, which fills with the sign bit (-1), as C compilers and CUDA do.
            full = np.where(a < 0, -1, 0) if direction == "right" and a.dtype.kind == "i" else 0
            return np.where(b >= bits, full, out)

    return fn


# name: (reference, dtype class, result kind, commutative, attributes)
BINARY: dict[str, tuple] = {
    "add": (np.add, "numeric", "same", True, {}),
    "sub": (np.subtract, "numeric", "same", False, {}),
    "mul": (np.multiply, "numeric", "same", True, {}),
    "div": (nx.trunc_div, "numeric", "same", False, {}),
    "max": (np.maximum, "numeric", "same", True, {}),
    "min": (np.minimum, "numeric", "same", True, {}),
    "mod": (_mod, "numeric", "same", False, {"fmod": ("bool", False)}),
    "eq": (np.equal, "any", "bool", True, {}),
    "ne": (np.not_equal, "any", "bool", True, {}),
    "lt": (np.less, "numeric", "bool", False, {}),
    "le": (np.less_equal, "numeric", "bool", False, {}),
    "gt": (np.greater, "numeric", "bool", False, {}),
    "ge": (np.greater_equal, "numeric", "bool", False, {}),
    "and": (np.logical_and, "bool", "same", True, {}),
    "or": (np.logical_or, "bool", "same", True, {}),
    "xor": (np.logical_xor, "bool", "same", True, {}),
    "bitwise_and": (np.bitwise_and, "int", "same", True, {}),
    "bitwise_or": (np.bitwise_or, "int", "same", True, {}),
    "bitwise_xor": (np.bitwise_xor, "int", "same", True, {}),
    "shl": (_shift("left"), "int", "same", False, {}),
    "shr": (_shift("right"), "int", "same", False, {}),
}


def _define_unary(name: str, fn, cls: str, result: str, attrs: dict) -> None:
    def ref(ctx, x):
        with np.errstate(all="ignore"):
            out = fn(x, **ctx.attr_values())
        return np.asarray(out).astype(np.bool_ if result == "bool" else x.dtype, copy=False)

    define_op(
        f"zt.{name}",
        operands=("x",),
        attrs=attrs,
        traits=(PURE, ELEMENTWISE),
        infer=_unary_infer(cls, result),
        reference=ref,
        doc=f"Elementwise {name}.",
    )


def _define_binary(name: str, fn, cls: str, result: str, commutative: bool, attrs: dict) -> None:
    def ref(ctx, a, b):
        with np.errstate(all="ignore"):
            out = fn(a, b, **ctx.attr_values())
        return np.asarray(out).astype(np.bool_ if result == "bool" else a.dtype, copy=False)

    traits = (PURE, ELEMENTWISE) + ((COMMUTATIVE,) if commutative else ())
    define_op(
        f"zt.{name}",
        operands=("lhs", "rhs"),
        attrs=attrs,
        traits=traits,
        infer=_binary_infer(cls, result),
        reference=ref,
        doc=f"Elementwise {name} with NumPy broadcasting.",
    )


for _name, (_fn, _cls, _res, _attrs) in UNARY.items():
    _define_unary(_name, _fn, _cls, _res, _attrs)
for _name, (_fn, _cls, _res, _comm, _attrs) in BINARY.items():
    _define_binary(_name, _fn, _cls, _res, _comm, _attrs)


def _pow_infer(ctx: InferContext) -> TensorType:
    _check_class(ctx, "numeric")
    base, exp = ctx.operand_types
    return TensorType(base.dtype, broadcast_shapes(base.shape, exp.shape))


def _pow_ref(ctx, a, b):
    with np.errstate(all="ignore"):
        if a.dtype.kind == "f" or nx._is_low(a.dtype):
            out = np.power(a.astype(np.float64), b.astype(np.float64))
        else:
            out = np.power(a.astype(np.int64), b.astype(np.int64)) if b.dtype.kind in "iu" \
                else np.power(a.astype(np.float64), b)
    return np.asarray(out).astype(a.dtype)


define_op(
    "zt.pow",
    operands=("base", "exponent"),
    traits=(PURE, ELEMENTWISE),
    infer=_pow_infer,
    reference=_pow_ref,
    doc="base ** exponent; the exponent may have another dtype; the result has the base's.",
)


def _where_infer(ctx: InferContext) -> TensorType:
    cond, x, y = ctx.operand_types
    if not cond.dtype.is_bool:
        raise InferError(f"condition must be bool, got {cond.dtype}")
    dt = same_dtype(ctx, [1, 2])
    return TensorType(dt, broadcast_shapes(cond.shape, x.shape, y.shape))


define_op(
    "zt.where",
    operands=("cond", "x", "y"),
    traits=(PURE, ELEMENTWISE),
    infer=_where_infer,
    reference=lambda ctx, c, x, y: np.where(c, x, y),
    doc="Select x where cond is true, else y (broadcasting).",
)


def _cast_infer(ctx: InferContext) -> TensorType:
    return ctx.operand_types[0].with_dtype(ctx.attr("to"))


def _cast_ref(ctx, x):
    to = ctx.attr("to")
    saturate = ctx.attr("saturate")
    if to.kind == "string":
        return x.astype(str).astype(object)
    if x.dtype == object:
        return x.astype(np.float64 if to.is_float else np.int64).astype(to.np_dtype) \
            if to.kind != "bool" else x.astype(bool)
    with np.errstate(all="ignore"):
        if to.is_float and to.itemsize == 1 and saturate and x.dtype.kind == "f":
            finfo = float(ml_dtypes.finfo(to.np_dtype).max)
            # ONNX Cast: saturating casts to 8-bit floats clamp to the finite range,
            # infinities included; NaN stays NaN.
            xc = np.clip(x, -finfo, finfo)
            return xc.astype(to.np_dtype)
        return x.astype(to.np_dtype)


define_op(
    "zt.cast",
    operands=("x",),
    attrs={"to": "dtype", "saturate": ("bool", True)},
    traits=(PURE, ELEMENTWISE),
    infer=_cast_infer,
    reference=_cast_ref,
    doc="Convert to dtype `to` (float to int truncates toward zero).",
)
