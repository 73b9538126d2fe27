"""``vmath``'s inline f32 exp/erf/tanh: accuracy in ulps against ``math``, special values,
and that gcc vectorizes a loop over them (the reason they exist)."""

from __future__ import annotations

import ctypes
import math
import subprocess

import numpy as np
import pytest

from zenith.codegen.cpu import cc
from zenith.codegen.cpu.vmath import PRELUDE, vectorizable

pytestmark = pytest.mark.skipif(not cc.available(), reason="no C compiler")

FUNCS = {"exp": math.exp, "erf": math.erf, "tanh": math.tanh}
# worst measured over the grid below (2026-11-23, gcc 12.2, AMD EPYC znver3): exp 0.97,
# erf 7.3, tanh 1.2 ulps; the bounds leave a little headroom
MAX_ULPS = {"exp": 2, "erf": 10, "tanh": 3}
_LOOPS = "\n".join(
    f"void f_{n}(const float* restrict x, float* restrict y, long k) "
    f"{{ for (long i = 0; i < k; ++i) y[i] = zk_{n}f(x[i]); }}" for n in FUNCS)
SOURCE = "#include <math.h>\n" + PRELUDE + _LOOPS + "\n"


def _call(name: str, x: np.ndarray) -> np.ndarray:
    lib = cc.load(SOURCE)
    x = np.ascontiguousarray(x, np.float32)
    y = np.empty_like(x)
    ptr = ctypes.POINTER(ctypes.c_float)
    getattr(lib, f"f_{name}")(x.ctypes.data_as(ptr), y.ctypes.data_as(ptr), ctypes.c_long(x.size))
    return y


def _grid() -> np.ndarray:
    lin = np.linspace(-12, 12, 200_001)
    tiny = np.geomspace(1e-30, 1, 4001)
    return np.concatenate([lin, tiny, -tiny]).astype(np.float32)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of the f32 spacing at ``want`` (subnormal spacing floor)."""
    want32 = want.astype(np.float32)
    spacing = np.spacing(np.abs(want32)).astype(np.float64)
    spacing = np.maximum(spacing, np.spacing(np.float32(0)))
    return np.abs(got.astype(np.float64) - want) / spacing


@pytest.mark.parametrize("name", list(FUNCS))
def test_accuracy_in_ulps(name):
    x = _grid()
    if name == "exp":
        x = np.concatenate([x, np.linspace(-87.3, 88.7, 100_001, dtype=np.float32)])
    want = np.array([FUNCS[name](float(v)) for v in x])
    ulps = _ulps(_call(name, x), want)
    assert ulps.max() <= MAX_ULPS[name], (name, float(ulps.max()), float(x[np.argmax(ulps)]))


def test_special_values():
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.4e38, -3.4e38,
                         88.72, 88.73, 89.0, -87.33, -87.34, -104.0, 9.0, 9.2, 4.0, 4.1], np.float32)
    with np.errstate(over="ignore"):
        for name, ref in (("exp", np.exp), ("erf", None), ("tanh", np.tanh)):
            got = _call(name, specials)
            want = np.array([math.erf(float(v)) if not np.isnan(v) else np.nan for v in specials],
                            np.float32) if ref is None else ref(specials)
            assert np.array_equal(np.isnan(got), np.isnan(want)), name
            fin = ~np.isnan(want)
            # subnormal exp results flush to 0 (documented); everything else within 2 ulps
            np.testing.assert_allclose(got[fin], want[fin], rtol=3e-7, atol=1.2e-38, err_msg=name)
    assert np.signbit(_call("erf", np.array([-0.0], np.float32)))[0]
    assert np.signbit(_call("tanh", np.array([-0.0], np.float32)))[0]


def test_gcc_vectorizes_the_loops(tmp_path):
    src = tmp_path / "v.c"
    src.write_text(SOURCE)
    flags = [f for f in cc.FLAGS if f not in ("-shared", "-fPIC")]
    res = subprocess.run([cc.CC, *flags, "-c", str(src), "-o", str(tmp_path / "v.o"),
                          "-fopt-info-vec-optimized"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("loop vectorized") >= len(FUNCS), res.stderr


def test_vectorizable_rewrites_only_f32_libm_calls():
    src = "#include <math.h>\n#include <stdint.h>\nvoid k(float* y, double d) " \
          "{ y[0] = erff(y[1]) + expf(y[2]) + tanhf(y[3]) + expm1f(y[4]) + (float)exp(d); }\n"
    out = vectorizable(src)
    assert "zk_erff(y[1])" in out and "zk_expf(y[2])" in out and "zk_tanhf(y[3])" in out
    assert "expm1f(y[4])" in out and "(float)exp(d)" in out
    assert vectorizable("void k(void) {}\n") == "void k(void) {}\n"


def test_the_fit_script_reproduces_the_coefficients():
    """``vmath.py`` holds what ``python -m zenith.codegen.cpu.vmath_fit`` derives."""
    from zenith.codegen.cpu import vmath, vmath_fit

    p, q, _ = vmath_fit.fit_erf()
    np.testing.assert_allclose(p, vmath._ERF_P, rtol=1e-9)
    np.testing.assert_allclose(q, vmath._ERF_Q, rtol=1e-9)
    c, _ = vmath_fit.fit_poly(np.exp, -math.log(2) / 2, math.log(2) / 2, lambda x, i: x ** (i + 2), 5,
                              lambda x: 1 + x)
    np.testing.assert_allclose(c, vmath._EXP_P, rtol=1e-9)
    c, _ = vmath_fit.fit_poly(np.tanh, 1e-4, 0.625, lambda x, i: x ** 3 * (x * x) ** i, 6, lambda x: x)
    np.testing.assert_allclose(c, vmath._TANH_P, rtol=1e-9)
