"""GELU (erf and tanh forms) and SiLU, as exporters spell them out.

- ``x * 0.5 * (1 + erf(x / sqrt(2)))`` (any order of the factors) -> ``gelu(x)``;
- ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))``, or with the inner
  factor written ``x * (1 + 0.044715 * x^2)`` -> ``gelu(x, approximate="tanh")``;
- ``x * sigmoid(x)`` -> ``silu(x)``.

Constants match to a tenth of the dtype's tolerance (``match.constant_tolerance``:
an exporter's f32 rounding matches in f32 graphs); anything else, a wrong
constant or a different ``x`` inside, leaves the graph alone.
"""

from __future__ import annotations

import math

from zenith.ir.core import Operation, Value
from zenith.ir.rewrite import PatternRewriter, pattern
from zenith.passes.fuse.patterns.match import (
    close,
    constant_tolerance,
    factors,
    is_float,
    op_of,
    power_of,
    replace_with,
    terms,
)

SQRT1_2 = 1 / math.sqrt(2)
TANH_SCALE = math.sqrt(2 / math.pi)
CUBIC = 0.044715


def _one_plus(t: Value, name: str, tol: float) -> Operation | None:
    """The ``name`` op in ``1 + name(...)``."""
    inner, one = terms(t, depth=1)
    if len(inner) != 1 or not close(one, 1.0, tol):
        return None
    return op_of(inner[0], name)


def _half_x_times(op: Operation, tol: float) -> list[tuple[Value, Value]]:
    """(t, x) candidates for ``0.5 * x * t``."""
    vals, k = factors(op.result)
    if len(vals) != 2 or not close(k, 0.5, tol):
        return []
    return [(vals[0], vals[1]), (vals[1], vals[0])]


@pattern("zt.mul", benefit=3, name="gelu-erf")
def gelu_erf(op: Operation, rewriter: PatternRewriter) -> bool:
    if not is_float(op.result):
        return False
    tol = constant_tolerance(op.result.type.dtype)
    for t, x in _half_x_times(op, tol):
        erf = _one_plus(t, "zt.erf", tol)
        if erf is None:
            continue
        z, k = factors(erf.operand(0))
        if len(z) == 1 and z[0] is x and close(k, SQRT1_2, tol):
            return replace_with(op, rewriter, "zt.gelu", [x])
    return False


def _tanh_argument_ok(u: Value, x: Value, tol: float) -> bool:
    """``u`` is ``c (x + d x^3)`` or ``c x (1 + d x^2)`` with c = sqrt(2/pi), d = 0.044715."""
    vals, c = factors(u)
    rest = [v for v in vals if v is not x]
    if len(rest) != 1 or not close(c, TANH_SCALE, tol):
        return False
    inner, k = terms(rest[0])
    if len(vals) == 1:  # c * (x + d x^3)
        if k != 0 or len(inner) != 2 or sum(v is x for v in inner) != 1:
            return False
        cubic = next(v for v in inner if v is not x)
        want = 3
    elif len(vals) == 2:  # c * x * (1 + d x^2)
        if not close(k, 1.0, tol) or len(inner) != 1:
            return False
        cubic, want = inner[0], 2
    else:
        return False
    cv, d = factors(cubic)
    return close(d, CUBIC, tol) and power_of(cv, x) == want


@pattern("zt.mul", benefit=3, name="gelu-tanh")
def gelu_tanh(op: Operation, rewriter: PatternRewriter) -> bool:
    if not is_float(op.result):
        return False
    tol = constant_tolerance(op.result.type.dtype)
    for t, x in _half_x_times(op, tol):
        th = _one_plus(t, "zt.tanh", tol)
        if th is not None and _tanh_argument_ok(th.operand(0), x, tol):
            return replace_with(op, rewriter, "zt.gelu", [x], {"approximate": "tanh"})
    return False


@pattern("zt.mul", benefit=3, name="silu")
def silu(op: Operation, rewriter: PatternRewriter) -> bool:
    if not is_float(op.result):
        return False
    vals, k = factors(op.result)
    if len(vals) != 2 or k != 1.0:
        return False
    for s, x in (vals, vals[::-1]):
        sig = op_of(s, "zt.sigmoid")
        if sig is not None and sig.operand(0) is x:
            return replace_with(op, rewriter, "zt.silu", [x])
    return False


PATTERNS = [gelu_erf, gelu_tanh, silu]
