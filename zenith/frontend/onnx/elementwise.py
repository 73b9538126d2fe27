"""Converters of elementwise ONNX ops: math, activations, logic, comparisons, casts."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value
from zenith.ir.dtypes import DType

# ONNX op type -> (zt op, first opset whose semantics we convert)
UNARY = {
    "Abs": ("abs", 6), "Neg": ("neg", 6), "Exp": ("exp", 6), "Log": ("log", 6),
    "Sqrt": ("sqrt", 6), "Reciprocal": ("reciprocal", 6), "Tanh": ("tanh", 6),
    "Erf": ("erf", 9), "Sigmoid": ("sigmoid", 6), "Relu": ("relu", 6), "Floor": ("floor", 6),
    "Ceil": ("ceil", 6), "Round": ("round", 11), "Sin": ("sin", 7), "Cos": ("cos", 7),
    "Tan": ("tan", 7), "Asin": ("asin", 7), "Acos": ("acos", 7), "Atan": ("atan", 7),
    "Sinh": ("sinh", 9), "Cosh": ("cosh", 9), "Asinh": ("asinh", 9), "Acosh": ("acosh", 9),
    "Atanh": ("atanh", 9), "Not": ("not", 1), "BitwiseNot": ("bitwise_not", 18),
    "IsNaN": ("isnan", 9), "Sign": ("sign", 9), "Softplus": ("softplus", 1),
    "Softsign": ("softsign", 1), "Mish": ("mish", 18), "HardSwish": ("hard_swish", 14),
}

# ONNX op type -> (zt op, first opset)
BINARY = {
    "Add": ("add", 7), "Sub": ("sub", 7), "Mul": ("mul", 7), "Div": ("div", 7),
    "Equal": ("eq", 7), "Less": ("lt", 7), "LessOrEqual": ("le", 12), "Greater": ("gt", 7),
    "GreaterOrEqual": ("ge", 12), "And": ("and", 7), "Or": ("or", 7), "Xor": ("xor", 7),
    "BitwiseAnd": ("bitwise_and", 18), "BitwiseOr": ("bitwise_or", 18),
    "BitwiseXor": ("bitwise_xor", 18),
}

# ONNX op type -> (zt op, first opset, {onnx attribute: (zt attribute, default)})
UNARY_WITH_ATTRS = {
    "Elu": ("elu", 6, {"alpha": ("alpha", 1.0)}),
    "Selu": ("selu", 6, {"alpha": ("alpha", 1.67326319217681884765625),
                         "gamma": ("gamma", 1.05070102214813232421875)}),
    "Celu": ("celu", 12, {"alpha": ("alpha", 1.0)}),
    "LeakyRelu": ("leaky_relu", 6, {"alpha": ("alpha", 0.01)}),
    "ThresholdedRelu": ("thresholded_relu", 10, {"alpha": ("alpha", 1.0)}),
    "HardSigmoid": ("hard_sigmoid", 6, {"alpha": ("alpha", 0.2), "beta": ("beta", 0.5)}),
    "Shrink": ("shrink", 9, {"bias": ("bias", 0.0), "lambd": ("lambd", 0.5)}),
    "IsInf": ("isinf", 10, {"detect_positive": ("detect_positive", True),
                            "detect_negative": ("detect_negative", True)}),
    "Gelu": ("gelu", 20, {"approximate": ("approximate", "none")}),
}


def _register_unary(onnx_name: str, zt: str, since: int) -> None:
    @converter(onnx_name, since=since)
    def conv(ctx: NodeContext) -> Value:
        return ctx.op(f"zt.{zt}", ctx.input(0))


def legacy_broadcast(ctx: NodeContext, a: Value, b: Value) -> Value:
    """Before opset 7, ``broadcast=1`` with ``axis`` aligns b's dims at a's ``axis`` (b is
    padded with trailing 1s so NumPy broadcasting does the rest)."""
    if ctx.version >= 7 or not ctx.attr("broadcast", 0) or "axis" not in ctx.attrs:
        return b
    axis = int(ctx.attr("axis"))
    axis = axis + a.type.rank if axis < 0 else axis
    trailing = a.type.rank - axis - b.type.rank
    if trailing <= 0:
        return b
    return ctx.op("zt.reshape", b, shape=tuple(b.type.shape) + (1,) * trailing) \
        if b.type.is_static else ctx.op("zt.unsqueeze", b, axes=tuple(range(-trailing, 0)))


def _register_binary(onnx_name: str, zt: str, since: int) -> None:
    @converter(onnx_name, since=1 if zt in LEGACY_BROADCAST else since)
    def conv(ctx: NodeContext) -> Value:
        a = ctx.input(0)
        return ctx.op(f"zt.{zt}", a, legacy_broadcast(ctx, a, ctx.input(1)))


LEGACY_BROADCAST = ("add", "sub", "mul", "div", "and", "or", "xor", "eq", "lt", "gt")


def _register_attr_unary(onnx_name: str, zt: str, since: int, attrs: dict) -> None:
    @converter(onnx_name, since=since)
    def conv(ctx: NodeContext) -> Value:
        kw = {}
        for onnx_attr, (zt_attr, default) in attrs.items():
            kw[zt_attr] = type(default)(ctx.attr(onnx_attr, default))
        return ctx.op(f"zt.{zt}", ctx.input(0), **kw)


for _k, (_z, _s) in UNARY.items():
    _register_unary(_k, _z, _s)
for _k, (_z, _s) in BINARY.items():
    _register_binary(_k, _z, _s)
for _k, (_z, _s, _a) in UNARY_WITH_ATTRS.items():
    _register_attr_unary(_k, _z, _s, _a)


@converter("Identity", since=1)
def _identity(ctx: NodeContext):
    return ctx.any_input(0)


@converter("Pow", since=1)
def _pow(ctx: NodeContext) -> Value:
    a = ctx.input(0)
    return ctx.op("zt.pow", a, legacy_broadcast(ctx, a, ctx.input(1)))


@converter("Mod", since=10)
def _mod(ctx: NodeContext) -> Value:
    fmod = bool(ctx.attr("fmod", 0))
    return ctx.op("zt.mod", ctx.input(0), ctx.input(1), fmod=fmod)


@converter("BitShift", since=11)
def _bitshift(ctx: NodeContext) -> Value:
    direction = ctx.attr("direction")
    if direction not in ("LEFT", "RIGHT"):
        ctx.fail(f"direction must be LEFT or RIGHT, got {direction!r}")
    x, n = ctx.input(0), ctx.input(1)
    if direction == "LEFT":
        return ctx.op("zt.shl", x, n)
    if x.type.dtype.kind == "int":  # arithmetic shift: counts past the width fill with the sign
        n = ctx.op("zt.min", n, ctx.scalar(x.type.dtype.itemsize * 8 - 1, n))
    return ctx.op("zt.shr", x, n)


@converter("PRelu", since=6)
def _prelu(ctx: NodeContext) -> Value:
    x, slope = ctx.input(0), ctx.input(1)
    if ctx.version < 7 and slope.type.rank == 1 and x.type.rank > 2:  # per-channel slope
        slope = ctx.op("zt.reshape", slope, shape=(-1,) + (1,) * (x.type.rank - 2))
    zero = ctx.scalar(0, x)
    return ctx.op("zt.where", ctx.op("zt.lt", x, zero), ctx.op("zt.mul", x, slope), x)


@converter("Swish", since=24)
def _swish(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    alpha = float(ctx.attr("alpha", 1.0))
    if alpha == 1.0:
        return ctx.op("zt.silu", x)
    return ctx.op("zt.mul", x, ctx.op("zt.sigmoid", ctx.op("zt.mul", x, ctx.scalar(alpha, x))))


@converter("Where", since=9)
def _where(ctx: NodeContext) -> Value:
    return ctx.op("zt.where", ctx.input(0), ctx.input(1), ctx.input(2))


def _variadic(ctx: NodeContext, zt: str) -> Value:
    xs = ctx.tensor_inputs()
    if not xs:
        ctx.fail("needs at least one input")
    out = xs[0]
    for x in xs[1:]:
        out = ctx.op(zt, out, x)
    return out


@converter("Sum", since=6)
def _sum(ctx: NodeContext) -> Value:
    return _variadic(ctx, "zt.add")


@converter("Max", since=6)
def _max(ctx: NodeContext) -> Value:
    return _variadic(ctx, "zt.max")


@converter("Min", since=6)
def _min(ctx: NodeContext) -> Value:
    return _variadic(ctx, "zt.min")


@converter("Mean", since=6)
def _mean(ctx: NodeContext) -> Value:
    total = _variadic(ctx, "zt.add")
    n = len(ctx.tensor_inputs())
    return total if n == 1 else ctx.op("zt.div", total, ctx.scalar(n, total))


@converter("Clip", since=6, until=11)
def _clip_attrs(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    return ctx.op("zt.clip", x, min=float(ctx.attr("min", -3.4028234663852886e38)),
                  max=float(ctx.attr("max", 3.4028234663852886e38)))


@converter("Clip", since=11)
def _clip(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    lo, hi = ctx.const(1), ctx.const(2)
    static = (not ctx.has_input(1) or lo is not None) and (not ctx.has_input(2) or hi is not None)
    if static and x.type.dtype.is_float:
        kw = {}
        if lo is not None:
            kw["min"] = float(lo)
        if hi is not None:
            kw["max"] = float(hi)
        return ctx.op("zt.clip", x, **kw)
    out = x
    if ctx.has_input(1):
        out = ctx.op("zt.max", out, ctx.input(1))
    if ctx.has_input(2):
        out = ctx.op("zt.min", out, ctx.input(2))
    return out


def convert_cast(ctx: NodeContext, x: Value, to: DType, saturate: bool) -> Value:
    """ONNX Cast: ``zt.cast`` has ONNX's saturation rules for 8-bit floats (clamp to the
    finite range, infinities included; NaN stays NaN). Float4 never saturates here."""
    if x.type.dtype is to:
        return x
    return ctx.op("zt.cast", x, to=to, saturate=saturate and to.name != "f4e2m1")


@converter("Cast", since=6)
def _cast(ctx: NodeContext) -> Value:
    return convert_cast(ctx, ctx.input(0), ctx.dtype_attr("to"), bool(ctx.attr("saturate", 1)))


@converter("CastLike", since=15)
def _cast_like(ctx: NodeContext) -> Value:
    return convert_cast(ctx, ctx.input(0), ctx.input(1).type.dtype, bool(ctx.attr("saturate", 1)))


@converter("Constant", since=1)
def _constant(ctx: NodeContext) -> Value:
    a = ctx.attrs
    if "value" in a:
        return ctx.constant(a["value"])
    if "sparse_value" in a:
        return ctx.constant(a["sparse_value"])
    table = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64,
             "value_ints": np.int64, "value_string": object, "value_strings": object}
    for k, dt in table.items():
        if k in a:
            return ctx.constant(np.array(a[k], dtype=dt))
    ctx.fail("has no value attribute")


@converter("BitCast", since=26)
def _bitcast(ctx: NodeContext) -> Value:
    return ctx.op("zt.bitcast", ctx.input(0), to=ctx.dtype_attr("to"))


@converter("SwiGLU", since=28)
def _swiglu(ctx: NodeContext) -> Value:
    """Swish_alpha(A) * B with Swish_alpha(a) = a * sigmoid(alpha * a)."""
    a, b = ctx.input(0), ctx.input(1)
    if a.type.rank != b.type.rank:
        ctx.fail(f"A {a.type} and B {b.type} must have the same shape")
    alpha = float(ctx.attr("alpha", 1.0))
    gate = a if alpha == 1.0 else ctx.op("zt.mul", a, ctx.scalar(alpha, a))
    return ctx.op("zt.mul", ctx.op("zt.mul", a, ctx.op("zt.sigmoid", gate)), b)
