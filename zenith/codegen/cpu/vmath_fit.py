"""Derives the coefficients of ``vmath``'s vectorizable f32 exp, erf and tanh.

    python -m zenith.codegen.cpu.vmath_fit

Linearized least squares in float64 against Python's ``math`` (relative error):
a rational ``erf(x) = x P(x^2) / Q(x^2)`` on ``[0, 4]`` (iteratively reweighted by
the previous denominator, Loeb's method), ``exp(r) = 1 + r + r^2 P(r)`` on
``[-ln2/2, ln2/2]`` and ``tanh(x) = x + x^3 P(x^2)`` on ``[0, 0.625]``. It prints
the coefficients ``vmath.py`` holds and the float64 fit error; the f32 error of
the generated C is measured by ``tests/test_cpu_vmath.py``.
"""

from __future__ import annotations

import math

import numpy as np


def fit_erf(n_p: int = 7, n_q: int = 5, iters: int = 12) -> tuple[list[float], list[float], float]:
    """(P, Q, max relative error) with ``Q[0] == 1``; coefficients lowest degree first."""
    xs = np.concatenate([np.linspace(0, 4, 20001)[1:], np.linspace(1e-6, 1e-2, 200)])
    f = np.array([math.erf(x) / x for x in xs])
    z = xs * xs
    q_prev = np.ones_like(z)
    for _ in range(iters):
        a = np.concatenate([np.stack([z ** i for i in range(n_p)], 1),
                            np.stack([-f * z ** i for i in range(1, n_q)], 1)], 1)
        w = 1.0 / (q_prev * f)
        sol = np.linalg.lstsq(a * w[:, None], f * w, rcond=None)[0]
        p, q = sol[:n_p], np.concatenate([[1.0], sol[n_p:]])
        q_prev = np.polyval(q[::-1], z)
    err = np.max(np.abs(np.polyval(p[::-1], z) / q_prev - f) / f)
    return p.tolist(), q.tolist(), float(err)


def fit_poly(fn, lo: float, hi: float, basis, terms: int, lead) -> tuple[list[float], float]:
    """Coefficients c of ``fn(x) ~ lead(x) + sum_i c_i basis(x, i)``, i < terms (relative least squares)."""
    xs = np.linspace(lo, hi, 20001)
    f = fn(xs)
    a = np.stack([basis(xs, i) for i in range(terms)], 1)
    c = np.linalg.lstsq(a / f[:, None], (f - lead(xs)) / f, rcond=None)[0]
    return c.tolist(), float(np.max(np.abs(lead(xs) + a @ c - f) / f))


def main() -> None:
    p, q, e = fit_erf()
    print(f"erf P = {p}\nerf Q = {q}\n  max rel err (f64) {e:.2e}")
    half_ln2 = math.log(2) / 2
    c, e = fit_poly(np.exp, -half_ln2, half_ln2, lambda x, i: x ** (i + 2), 5, lambda x: 1 + x)
    print(f"exp P = {c}\n  max rel err (f64) {e:.2e}")
    c, e = fit_poly(np.tanh, 1e-4, 0.625, lambda x, i: x ** 3 * (x * x) ** i, 6, lambda x: x)
    print(f"tanh P = {c}\n  max rel err (f64) {e:.2e}")


if __name__ == "__main__":
    main()
