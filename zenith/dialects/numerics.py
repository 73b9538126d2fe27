"""NumPy helpers for reference semantics that NumPy lacks (erf, gelu...).

Low-precision floats (f16, bf16, f8) are computed in f32 and rounded back once,
the way GPU kernels and PyTorch do; f64 stays f64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
# Taylor coefficients of erf(x)/x in powers of x^2, highest power first (Horner).
_ERF_TAYLOR = [
    _TWO_OVER_SQRT_PI * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(48)
][::-1]


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, accurate to ~1e-14 in f64 (Taylor near 0, continued fraction out)."""
    x = np.asarray(x)
    out_dtype = x.dtype
    xf = x.astype(np.float64)
    ax = np.abs(xf)
    small = ax <= 2.5
    result = np.empty_like(xf)
    xs = xf[small]
    z = xs * xs
    acc = np.zeros_like(xs)
    for c in _ERF_TAYLOR:
        acc = acc * z + c
    result[small] = xs * acc
    big = ~small
    if big.any():
        xb = ax[big]
        # erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
        with np.errstate(over="ignore", invalid="ignore"):
            frac = xb.copy()
            for k in range(60, 0, -1):
                frac = xb + (k / 2.0) / frac
            erfc = np.exp(-xb * xb) / math.sqrt(math.pi) / frac
        erfc = np.where(np.isinf(xb), 0.0, erfc)
        res = 1.0 - erfc
        result[big] = np.where(xf[big] < 0, -res, res)
    result[np.isnan(xf)] = np.nan
    return result.astype(out_dtype)


def in_f32(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """Wrap ``fn`` so low-precision float inputs are computed in f32."""

    def wrapped(*arrays: np.ndarray, **kw) -> np.ndarray:
        dt = arrays[0].dtype
        if _is_low(dt):
            res = fn(*[a.astype(np.float32) if _is_low(a.dtype) else a for a in arrays], **kw)
            return np.asarray(res).astype(dt)
        return np.asarray(fn(*arrays, **kw)).astype(dt, copy=False)

    wrapped.__name__ = getattr(fn, "__name__", "fn")
    return wrapped


def _is_ml_float(dt: np.dtype) -> bool:
    return dt.name.startswith(("bfloat16", "float8", "float4"))


def _is_low(dt: np.dtype) -> bool:
    return (dt.kind == "f" and dt.itemsize < 4) or _is_ml_float(dt)


def sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def softplus(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def trunc_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Division; integers round toward zero (C, CUDA and ONNX semantics), x/0 gives 0."""
    if a.dtype.kind not in "iu":
        return np.divide(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.floor_divide(a, b)
        if a.dtype.kind == "i":
            r = np.remainder(a, b)
            q = q + ((r != 0) & ((a < 0) != (b < 0))).astype(q.dtype)
    return q
