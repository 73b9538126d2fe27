"""Vectorizable f32 ``expf``, ``erff`` and ``tanhf`` for generated CPU C.

glibc's ``expf``/``erff``/``tanhf`` are scalar calls, so a loop using them is not
vectorized: GELU's ``erff`` alone cost BERT-base ~6 ms per FFN layer on the
2-core CI machine. These branch-free inline versions (selects, ``fmaf``, ``rintf``
and bit casts only) let gcc's ``-O3 -march=native`` vectorize the loop.

- ``zk_expf``: ``2^k exp(r)``, ``k = rint(x / ln2)``, Cody-Waite reduction,
  degree-6 polynomial; ``x > 88.72`` gives ``inf``, ``x < -87.34`` gives 0
  (the true value is subnormal, under 1.2e-38), NaN stays NaN.
- ``zk_erff``: the rational ``x P(x^2) / Q(x^2)`` on ``[-4, 4]``, ``+-1`` beyond.
- ``zk_tanhf``: ``x + x^3 P(x^2)`` below ``|x| = 0.625``, else
  ``sign(x) (1 - 2 / (exp(2|x|) + 1))``, ``exp``'s argument capped at 18.2.

Coefficients come from ``python -m zenith.codegen.cpu.vmath_fit``; the errors of
the compiled functions against ``math`` are measured by ``tests/test_cpu_vmath.py``
(a few f32 ulps; docs/runtime.md gives the figures). f64 keeps libm.
"""

from __future__ import annotations

import re

_ERF_P = (1.1283791239175778, 0.19984991435527705, 0.050549175334283214, 0.003691384545405636,
          0.00014104586635748729, -1.941107391649488e-06, 1.9672641349277598e-08)
_ERF_Q = (1.0, 0.5104442507843923, 0.11495422147496231, 0.014337265888390743,
          0.0009518126004002297)
_EXP_P = (0.4999999104411551, 0.16666542607127668, 0.04166920836326336, 0.008366139565403469,
          0.0013752965416351862)
_TANH_P = (-0.33333331285643725, 0.13333226063577241, -0.053949396666425196,
           0.021715552694686384, -0.008214972292172402, 0.0021780235232579416)


def _horner(coeffs: tuple[float, ...], var: str) -> str:
    """C Horner form of ``sum coeffs[i] var^i`` with ``fmaf``."""
    expr = f"{coeffs[-1]!r}f"
    for c in reversed(coeffs[:-1]):
        expr = f"fmaf({expr}, {var}, {c!r}f)"
    return expr


PRELUDE = f"""
static inline float zk_pow2i(int k) {{  /* 2^k for k in [-126, 127] */
  union {{ unsigned u; float f; }} b; b.u = (unsigned)(k + 127) << 23; return b.f;
}}
static inline float zk_expf(float x) {{
  float xc = x > 88.7228394f ? 88.7228394f : x;
  xc = xc < -87.3365479f ? -87.3365479f : xc;
  const float k = rintf(xc * 1.44269504088896341f);
  float r = fmaf(k, -0.693145751953125f, xc);
  r = fmaf(k, -1.428606820309417e-06f, r);
  const float e = fmaf({_horner(_EXP_P, "r")}, r * r, r) + 1.0f;
  const int ki = (int)k, k1 = ki / 2;
  float y = e * zk_pow2i(k1) * zk_pow2i(ki - k1);
  y = x > 88.7228394f ? (float)INFINITY : y;
  y = x < -87.3365479f ? 0.0f : y;
  return x != x ? x : y;
}}
static inline float zk_erff(float x) {{
  float xc = x > 4.0f ? 4.0f : x;
  xc = xc < -4.0f ? -4.0f : xc;
  const float z = xc * xc;
  float y = xc * {_horner(_ERF_P, "z")} / {_horner(_ERF_Q, "z")};
  y = y > 1.0f ? 1.0f : y;
  return y < -1.0f ? -1.0f : y;
}}
static inline float zk_tanhf(float x) {{
  const float a = fabsf(x), z = x * x;
  const float small = fmaf(a * z, {_horner(_TANH_P, "z")}, a);
  const float big = 1.0f - 2.0f / (zk_expf(2.0f * (a > 9.1f ? 9.1f : a)) + 1.0f);
  const float y = copysignf(a < 0.625f ? small : big, x);
  return x != x ? x : y;
}}
"""

_CALL = re.compile(r"(?<![\w.])(expf|erff|tanhf)\(")


def vectorizable(src: str) -> str:
    """``src`` with f32 libm ``expf``/``erff``/``tanhf`` calls replaced by the inline versions."""
    if not _CALL.search(src):
        return src
    body = _CALL.sub(lambda m: f"zk_{m.group(1)}(", src)
    head, sep, rest = body.partition("#include <stdint.h>\n")
    if not sep:
        return "#include <math.h>\n" + PRELUDE + body
    return head + sep + PRELUDE + rest
