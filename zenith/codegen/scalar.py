"""Scalar C expressions for elementwise ops, shared by the C and CUDA generators.

Every elementwise ``zt`` op maps to an expression template over its operands'
C expressions, evaluated in a *compute type*: ``float`` for f32 and for the
low-precision floats (f16, bf16, f8: loaded, widened, computed, rounded once on
store, as the reference does), ``double`` for f64, and the integer or ``bool``
type itself otherwise. The same text compiles as C99 (gcc) and as CUDA C++
(nvcc), so both targets share one table. NaN and rounding follow the NumPy
reference: ``max``/``min`` propagate NaN, ``round`` is half-to-even (``rint``),
integer division truncates toward zero and ``x / 0`` is 0 for integers.
"""

from __future__ import annotations

from collections.abc import Callable

from zenith.ir.dtypes import DType

# dtype name -> C storage type (the CUDA generator maps f16/bf16 to __half/__nv_bfloat16).
C_STORAGE = {
    "f64": "double", "f32": "float", "f16": "uint16_t", "bf16": "uint16_t",
    "i64": "int64_t", "i32": "int32_t", "i16": "int16_t", "i8": "int8_t",
    "u64": "uint64_t", "u32": "uint32_t", "u16": "uint16_t", "u8": "uint8_t", "bool": "uint8_t",
}


def compute_type(dt: DType) -> str:
    """The C type arithmetic on ``dt`` happens in."""
    if dt.name == "f64":
        return "double"
    if dt.is_float:
        return "float"
    return C_STORAGE[dt.name]


class UnsupportedOp(Exception):
    """No scalar expression exists for this op (or dtype)."""


Template = Callable[[list[str], dict, str], str]


def _fn(name: str) -> Template:
    """A libm function: ``expf`` for float, ``exp`` for double."""
    return lambda a, attrs, ct: f"{name}{'f' if ct == 'float' else ''}({a[0]})"


def _lit(ct: str, x: float) -> str:
    """A float literal of the compute type."""
    text = repr(float(x))
    return f"{text}f" if ct == "float" else text


def _sigmoid(a: list[str], attrs: dict, ct: str) -> str:
    one, e = _lit(ct, 1.0), "expf" if ct == "float" else "exp"
    return f"({one} / ({one} + {e}(-({a[0]}))))"


def _gelu(a: list[str], attrs: dict, ct: str) -> str:
    x = a[0]
    half, one = _lit(ct, 0.5), _lit(ct, 1.0)
    if attrs.get("approximate", "none") == "tanh":
        t = "tanhf" if ct == "float" else "tanh"
        c, k = _lit(ct, 0.7978845608028654), _lit(ct, 0.044715)
        return f"({half} * ({x}) * ({one} + {t}({c} * (({x}) + {k} * ({x}) * ({x}) * ({x})))))"
    erf = "erff" if ct == "float" else "erf"
    return f"({half} * ({x}) * ({one} + {erf}(({x}) * {_lit(ct, 0.7071067811865476)})))"


def _softplus(x: str, ct: str) -> str:
    f = "f" if ct == "float" else ""
    return f"(fmax{f}({x}, {_lit(ct, 0)}) + log1p{f}(exp{f}(-fabs{f}({x}))))"


def _max(a: list[str], attrs: dict, ct: str) -> str:
    x, y = a
    if ct in ("float", "double"):
        return f"((({x}) != ({x}) || ({x}) > ({y})) ? ({x}) : ({y}))"
    return f"((({x}) > ({y})) ? ({x}) : ({y}))"


def _min(a: list[str], attrs: dict, ct: str) -> str:
    x, y = a
    if ct in ("float", "double"):
        return f"((({x}) != ({x}) || ({x}) < ({y})) ? ({x}) : ({y}))"
    return f"((({x}) < ({y})) ? ({x}) : ({y}))"


def _div(a: list[str], attrs: dict, ct: str) -> str:
    x, y = a
    if ct in ("float", "double"):
        return f"(({x}) / ({y}))"
    return f"(({y}) == 0 ? ({ct})0 : ({ct})(({x}) / ({y})))"


def _mod(a: list[str], attrs: dict, ct: str) -> str:
    x, y = a
    if ct in ("float", "double"):
        f = "f" if ct == "float" else ""
        if attrs.get("fmod"):
            return f"fmod{f}({x}, {y})"
        return f"(({x}) - floor{f}(({x}) / ({y})) * ({y}))"
    if attrs.get("fmod"):
        return f"(({y}) == 0 ? ({ct})0 : ({ct})(({x}) % ({y})))"
    r = f"(({x}) % ({y}))"
    return f"(({y}) == 0 ? ({ct})0 : ({ct})(({r} != 0 && (({r} < 0) != (({y}) < 0))) ? {r} + ({y}) : {r}))"


def _clip(a: list[str], attrs: dict, ct: str) -> str:
    out = a[0]
    lo, hi = attrs.get("min"), attrs.get("max")
    if lo is not None:
        out = _max([out, f"({ct}){_lit(ct, lo) if ct in ('float', 'double') else int(lo)}"], {}, ct)
    if hi is not None:
        out = _min([out, f"({ct}){_lit(ct, hi) if ct in ('float', 'double') else int(hi)}"], {}, ct)
    return out


def _relu(a: list[str], attrs: dict, ct: str) -> str:
    # "x < 0 ? 0 : x" keeps NaN (as np.maximum does); "x > 0 ? x : 0" would zero it
    return f"((({a[0]}) < ({ct})0) ? ({ct})0 : ({a[0]}))"


def _f(ct: str) -> str:
    return "f" if ct == "float" else ""


SCALAR: dict[str, Template] = {
    "zt.neg": lambda a, at, ct: f"(-({a[0]}))",
    "zt.abs": lambda a, at, ct: (f"fabs{_f(ct)}({a[0]})" if ct in ("float", "double")
                                 else f"((({a[0]}) < 0) ? ({ct})(-({a[0]})) : ({a[0]}))"),
    "zt.sign": lambda a, at, ct: f"(({ct})((({a[0]}) > 0) - (({a[0]}) < 0)))",
    "zt.exp": _fn("exp"), "zt.log": _fn("log"), "zt.sqrt": _fn("sqrt"),
    "zt.rsqrt": lambda a, at, ct: f"({_lit(ct, 1.0)} / sqrt{_f(ct)}({a[0]}))",
    "zt.reciprocal": lambda a, at, ct: f"({_lit(ct, 1.0)} / ({a[0]}))",
    "zt.tanh": _fn("tanh"), "zt.erf": _fn("erf"), "zt.sigmoid": _sigmoid,
    "zt.relu": _relu, "zt.gelu": _gelu,
    "zt.silu": lambda a, at, ct: f"(({a[0]}) * {_sigmoid(a, at, ct)})",
    "zt.softplus": lambda a, at, ct: _softplus(a[0], ct),
    "zt.softsign": lambda a, at, ct: f"(({a[0]}) / ({_lit(ct, 1.0)} + fabs{_f(ct)}({a[0]})))",
    "zt.mish": lambda a, at, ct: f"(({a[0]}) * tanh{_f(ct)}({_softplus(a[0], ct)}))",
    "zt.hard_sigmoid": lambda a, at, ct: _clip(
        [f"({_lit(ct, at.get('alpha', 0.2))} * ({a[0]}) + {_lit(ct, at.get('beta', 0.5))})"],
        {"min": 0.0, "max": 1.0}, ct),
    "zt.hard_swish": lambda a, at, ct: f"(({a[0]}) * " + _clip(
        [f"(({a[0]}) / {_lit(ct, 6.0)} + {_lit(ct, 0.5)})"], {"min": 0.0, "max": 1.0}, ct) + ")",
    "zt.elu": lambda a, at, ct: (f"((({a[0]}) > 0) ? ({a[0]}) : {_lit(ct, at.get('alpha', 1.0))} * "
                                 f"expm1{_f(ct)}({a[0]}))"),
    "zt.selu": lambda a, at, ct: (
        f"({_lit(ct, at.get('gamma', 1.0507009873554805))} * ((({a[0]}) > 0) ? ({a[0]}) : "
        f"{_lit(ct, at.get('alpha', 1.6732632423543772))} * expm1{_f(ct)}({a[0]})))"),
    "zt.celu": lambda a, at, ct: (
        f"(fmax{_f(ct)}({a[0]}, {_lit(ct, 0)}) + fmin{_f(ct)}({_lit(ct, 0)}, "
        f"{_lit(ct, at.get('alpha', 1.0))} * expm1{_f(ct)}(({a[0]}) / {_lit(ct, at.get('alpha', 1.0))})))"),
    "zt.leaky_relu": lambda a, at, ct: (f"((({a[0]}) >= 0) ? ({a[0]}) : "
                                        f"{_lit(ct, at.get('alpha', 0.01))} * ({a[0]}))"),
    "zt.thresholded_relu": lambda a, at, ct: (f"((({a[0]}) > {_lit(ct, at.get('alpha', 1.0))}) ? "
                                              f"({a[0]}) : {_lit(ct, 0)})"),
    "zt.floor": _fn("floor"), "zt.ceil": _fn("ceil"), "zt.round": _fn("rint"),
    "zt.sin": _fn("sin"), "zt.cos": _fn("cos"), "zt.tan": _fn("tan"),
    "zt.asin": _fn("asin"), "zt.acos": _fn("acos"), "zt.atan": _fn("atan"),
    "zt.sinh": _fn("sinh"), "zt.cosh": _fn("cosh"), "zt.asinh": _fn("asinh"),
    "zt.acosh": _fn("acosh"), "zt.atanh": _fn("atanh"),
    "zt.not": lambda a, at, ct: f"(!({a[0]}))",
    "zt.bitwise_not": lambda a, at, ct: f"(({ct})(~({a[0]})))",
    "zt.isnan": lambda a, at, ct: f"(({a[0]}) != ({a[0]}))",
    "zt.clip": _clip,
    "zt.add": lambda a, at, ct: f"(({a[0]}) + ({a[1]}))",
    "zt.sub": lambda a, at, ct: f"(({a[0]}) - ({a[1]}))",
    "zt.mul": lambda a, at, ct: f"(({a[0]}) * ({a[1]}))",
    "zt.div": _div, "zt.max": _max, "zt.min": _min, "zt.mod": _mod,
    "zt.eq": lambda a, at, ct: f"(({a[0]}) == ({a[1]}))",
    "zt.ne": lambda a, at, ct: f"(({a[0]}) != ({a[1]}))",
    "zt.lt": lambda a, at, ct: f"(({a[0]}) < ({a[1]}))",
    "zt.le": lambda a, at, ct: f"(({a[0]}) <= ({a[1]}))",
    "zt.gt": lambda a, at, ct: f"(({a[0]}) > ({a[1]}))",
    "zt.ge": lambda a, at, ct: f"(({a[0]}) >= ({a[1]}))",
    "zt.and": lambda a, at, ct: f"(({a[0]}) && ({a[1]}))",
    "zt.or": lambda a, at, ct: f"(({a[0]}) || ({a[1]}))",
    "zt.xor": lambda a, at, ct: f"((!!({a[0]})) != (!!({a[1]})))",
    "zt.bitwise_and": lambda a, at, ct: f"(({ct})(({a[0]}) & ({a[1]})))",
    "zt.bitwise_or": lambda a, at, ct: f"(({ct})(({a[0]}) | ({a[1]})))",
    "zt.bitwise_xor": lambda a, at, ct: f"(({ct})(({a[0]}) ^ ({a[1]})))",
    "zt.where": lambda a, at, ct: f"(({a[0]}) ? ({a[1]}) : ({a[2]}))",
}

def _pow(a: list[str], attrs: dict, ct: str) -> str:
    if ct not in ("float", "double"):
        raise UnsupportedOp("integer pow has no scalar code")
    return f"pow{_f(ct)}({a[0]}, ({ct})({a[1]}))"


def _shift(op: str) -> Template:
    def tmpl(a: list[str], attrs: dict, ct: str) -> str:
        return f"((({a[1]}) >= sizeof({ct}) * 8) ? ({ct})0 : ({ct})(({a[0]}) {op} ({a[1]})))"

    return tmpl


def _isinf(a: list[str], attrs: dict, ct: str) -> str:
    if ct not in ("float", "double"):
        return "0"
    terms = []
    if attrs.get("detect_positive", True):
        terms.append(f"(({a[0]}) == ({ct})INFINITY)")
    if attrs.get("detect_negative", True):
        terms.append(f"(({a[0]}) == -({ct})INFINITY)")
    return f"({' || '.join(terms)})" if terms else "0"


def _shrink(a: list[str], attrs: dict, ct: str) -> str:
    x = a[0]
    lam, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    if ct in ("float", "double"):
        lam_c, bias_c = _lit(ct, lam), _lit(ct, bias)
    else:
        lam_c, bias_c = f"({ct}){int(lam)}", f"({ct}){int(bias)}"
    return (f"((({x}) < -{lam_c}) ? ({ct})(({x}) + {bias_c}) : "
            f"((({x}) > {lam_c}) ? ({ct})(({x}) - {bias_c}) : ({ct})0))")


SCALAR.update({"zt.pow": _pow, "zt.shl": _shift("<<"), "zt.shr": _shift(">>"),
               "zt.isinf": _isinf, "zt.shrink": _shrink})

# Ops whose result compute type differs from their first operand's.
BOOL_RESULT = {"zt.eq", "zt.ne", "zt.lt", "zt.le", "zt.gt", "zt.ge", "zt.isnan", "zt.isinf"}


def scalar_expr(op_name: str, args: list[str], attrs: dict, ct: str) -> str:
    """The C expression of ``op_name`` applied to ``args`` in compute type ``ct``."""
    tmpl = SCALAR.get(op_name)
    if tmpl is None:
        raise UnsupportedOp(f"no scalar code for '{op_name}'")
    return tmpl(args, attrs, ct)
