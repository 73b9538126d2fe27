"""The scalar expression table, compiled by gcc and run against each op's reference.

Every elementwise op gets a C loop built from its template; the results on
random inputs must match the interpreter's NumPy reference within the dtype's
tolerance. The CUDA generator uses the same table, so this also checks the
arithmetic of every CUDA elementwise kernel.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import zenith  # noqa: F401
from zenith.codegen.scalar import BOOL_RESULT, C_STORAGE, SCALAR, UnsupportedOp, compute_type, scalar_expr
from zenith.interpreter import interpret
from zenith.ir import REGISTRY, Builder, Function, Module, TensorType, dtype, from_numpy
from zenith.tolerance import assert_close

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

DOMAIN = {"zt.log": (0.1, 4), "zt.sqrt": (0, 4), "zt.rsqrt": (0.2, 4), "zt.reciprocal": (0.5, 4),
          "zt.asin": (-0.9, 0.9), "zt.acos": (-0.9, 0.9), "zt.atanh": (-0.9, 0.9),
          "zt.acosh": (1.1, 4), "zt.tan": (-1.2, 1.2), "zt.pow": (0.5, 2)}
ATTRS = {"zt.gelu": [{}, {"approximate": "tanh"}], "zt.clip": [{"min": -1.0, "max": 0.5}],
         "zt.mod": [{}, {"fmod": True}], "zt.leaky_relu": [{"alpha": 0.2}]}


def _arity(name: str) -> int:
    od = REGISTRY[name]
    return len(od.operands)


def _dtypes(name: str) -> list[str]:
    kinds = {"zt.not": ["bool"], "zt.and": ["bool"], "zt.or": ["bool"], "zt.xor": ["bool"],
             "zt.bitwise_not": ["i32", "u8"], "zt.bitwise_and": ["i32", "i64"],
             "zt.bitwise_or": ["i32"], "zt.bitwise_xor": ["i32"], "zt.shl": ["u8", "u32"],
             "zt.shr": ["u32", "i64"], "zt.where": ["f32", "i64"]}
    if name in kinds:
        return kinds[name]
    base = ["f32", "f64", "f16"]
    if name in ("zt.add", "zt.sub", "zt.mul", "zt.div", "zt.max", "zt.min", "zt.mod", "zt.abs",
                "zt.neg", "zt.sign", "zt.relu", "zt.eq", "zt.lt", "zt.ge", "zt.clip"):
        base += ["i32", "i64", "i8"]
    return base


CASES = [(n, d, i) for n in sorted(SCALAR) for d in _dtypes(n) for i in range(len(ATTRS.get(n, [{}])))]


def _inputs(name: str, dt: str, rng: np.random.Generator) -> list[np.ndarray]:
    n = 257
    np_dt = dtype(dt).np_dtype
    if name == "zt.where":
        return [rng.random(n) < 0.5, rng.uniform(-3, 3, n).astype(np_dt), rng.uniform(-3, 3, n).astype(np_dt)]
    if dt == "bool":
        return [rng.random(n) < 0.5 for _ in range(_arity(name))]
    lo, hi = DOMAIN.get(name, (-3, 3))
    if dtype(dt).is_int:
        lo, hi = (0, 7) if name in ("zt.shl", "zt.shr") else (-20, 20)
        if dt.startswith("u"):
            lo = 0
    arrays = [rng.uniform(lo, hi, n) for _ in range(_arity(name))]
    if name in ("zt.div", "zt.mod"):
        arrays[1] = np.where(np.abs(arrays[1]) < 0.5, 1.5, arrays[1])
        if dtype(dt).is_int:
            arrays[1][::17] = 0  # integer division by zero gives 0 in both
    if name in ("zt.shl", "zt.shr"):
        arrays[0] = rng.uniform(0, 100, n)
    return [a.astype(np_dt) for a in arrays]


def _c_source(cases) -> str:
    lines = ["#include <math.h>", "#include <stdint.h>", "#include <string.h>",
             "static inline float h2f(uint16_t h){ _Float16 v; memcpy(&v,&h,2); return (float)v; }",
             "static inline uint16_t f2h(float f){ _Float16 v=(_Float16)f; uint16_t h; memcpy(&h,&v,2);"
             " return h; }"]
    for k, (name, dt, ai) in enumerate(cases):
        d = dtype(dt)
        ct = compute_type(d)
        n_in = _arity(name)
        in_dts = ["bool"] + [dt] * 2 if name == "zt.where" else [dt] * n_in
        params = ", ".join(f"const {C_STORAGE[x]}* in{i}" for i, x in enumerate(in_dts))
        out_dt = "bool" if name in BOOL_RESULT else dt
        loads = []
        for i, x in enumerate(in_dts):
            cti = compute_type(dtype(x))
            val = f"h2f(in{i}[j])" if x == "f16" else f"({cti})in{i}[j]"
            loads.append(f"{cti} a{i} = {val};")
        expr = scalar_expr(name, [f"a{i}" for i in range(n_in)], ATTRS.get(name, [{}])[ai], ct)
        store = f"f2h((float)({expr}))" if out_dt == "f16" else f"({C_STORAGE[out_dt]})({expr})"
        lines.append(f"void k{k}({params}, {C_STORAGE[out_dt]}* out, long n) {{ for (long j = 0; j < n; ++j) "
                     f"{{ {' '.join(loads)} out[j] = {store}; }} }}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    cases = []
    for c in CASES:
        try:
            ct = compute_type(dtype(c[1]))
            scalar_expr(c[0], ["a0", "a1", "a2"][:_arity(c[0])], ATTRS.get(c[0], [{}])[c[2]], ct)
            cases.append(c)
        except UnsupportedOp:
            pass
    d = tmp_path_factory.mktemp("scalar")
    src = d / "k.c"
    src.write_text(_c_source(cases))
    so = d / "k.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(so), str(src), "-lm"], check=True)
    return ctypes.CDLL(str(so)), {c: i for i, c in enumerate(cases)}


@pytest.mark.parametrize("case", CASES, ids=[f"{n}-{d}-{i}" for n, d, i in CASES])
def test_scalar_matches_reference(lib, case):
    so, index = lib
    name, dt, ai = case
    if case not in index:
        pytest.skip(f"{name} has no scalar code for {dt} (runs as an opaque kernel)")
    rng = np.random.default_rng(0)
    ins = _inputs(name, dt, rng)
    attrs = ATTRS.get(name, [{}])[ai]
    m = Module()
    fn = m.add_function(Function("main", [TensorType(from_numpy(x.dtype), x.shape) for x in ins], []))
    b = Builder.at_end(fn.body)
    r = b.op(name, *fn.args, **attrs)
    b.create("func.return", [r])
    fn.sync_signature()
    (want,) = interpret(m, ins)
    out = np.empty_like(want)
    argtypes = [np.ctypeslib.ndpointer(dtype=x.dtype, flags="C") for x in ins]
    f = getattr(so, f"k{index[case]}")
    f.argtypes = [*argtypes, np.ctypeslib.ndpointer(dtype=out.dtype, flags="C"), ctypes.c_long]
    f(*ins, out, out.size)
    assert_close(want, out, scale=2.0, what=f"{name} {dt}")
