"""Numeric tolerances per dtype, used wherever two results are compared.

A result passes when ``|actual - expected| <= atol + rtol * |expected|``
elementwise, NaNs matching NaNs and infinities matching in sign. Integer and
bool results must be equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# dtype name -> (rtol, atol)
TOLERANCES: dict[str, tuple[float, float]] = {
    "f64": (1e-9, 1e-12),
    "f32": (1e-4, 1e-5),
    "f16": (2e-2, 1e-3),
    "bf16": (2e-2, 1e-2),
    "f8e4m3fn": (0.15, 0.1),
    "f8e4m3fnuz": (0.15, 0.1),
    "f8e5m2": (0.3, 0.1),
    "f8e5m2fnuz": (0.3, 0.1),
    "f4e2m1": (0.5, 0.5),
    "c64": (1e-4, 1e-5),
    "c128": (1e-9, 1e-12),
}


def tolerance(dtype_name: str, scale: float = 1.0) -> tuple[float, float]:
    """(rtol, atol) for a dtype; exact (0, 0) for integers, bool and strings."""
    rtol, atol = TOLERANCES.get(dtype_name, (0.0, 0.0))
    return rtol * scale, atol * scale


@dataclass
class Comparison:
    ok: bool
    max_abs_err: float
    max_rel_err: float
    message: str


def compare(expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float) -> Comparison:
    """Compare two arrays; shapes and dtypes must match exactly."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        return Comparison(False, np.inf, np.inf,
                          f"shape {actual.shape} != expected {expected.shape}")
    if expected.dtype != actual.dtype:
        return Comparison(False, np.inf, np.inf,
                          f"dtype {actual.dtype} != expected {expected.dtype}")
    if expected.size == 0:
        return Comparison(True, 0.0, 0.0, "empty")
    if expected.dtype == object or expected.dtype.kind in "US":
        ok = bool(np.all(expected == actual))
        return Comparison(ok, 0.0 if ok else np.inf, 0.0, "" if ok else "strings differ")
    if expected.dtype.kind in "biu":
        diff = expected != actual
        ok = not bool(diff.any())
        err = 0.0 if ok else float(np.max(np.abs(expected.astype(np.float64)[diff] -
                                                 actual.astype(np.float64)[diff])))
        return Comparison(ok, err, 0.0, "" if ok else f"{int(diff.sum())} elements differ")
    e = expected.astype(np.complex128 if expected.dtype.kind == "c" else np.float64)
    a = actual.astype(e.dtype)
    both_nan = np.isnan(e) & np.isnan(a)
    same_inf = np.isinf(e) & (e == a)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs(a - e)
        abs_err = np.where(both_nan | same_inf, 0.0, abs_err)
        abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
        bound = atol + rtol * np.abs(np.where(np.isinf(e), 0, e))
        bad = abs_err > bound
        rel = abs_err / np.maximum(np.abs(np.where(np.isinf(e), 1, e)), 1e-30)
    ok = not bool(bad.any())
    msg = "" if ok else f"{int(bad.sum())} of {e.size} elements outside rtol={rtol} atol={atol}"
    return Comparison(ok, float(abs_err.max()), float(np.max(rel)), msg)


def assert_close(expected: np.ndarray, actual: np.ndarray, scale: float = 1.0,
                 what: str = "result") -> None:
    """Raise AssertionError unless the arrays agree within their dtype's tolerance."""
    dt = np.asarray(expected).dtype
    from zenith.ir.dtypes import from_numpy

    name = "str" if dt.kind == "O" else from_numpy(dt).name
    rtol, atol = tolerance(name, scale)
    c = compare(expected, actual, rtol, atol)
    if not c.ok:
        raise AssertionError(f"{what}: {c.message} (max abs err {c.max_abs_err:.3g})")
