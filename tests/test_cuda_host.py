"""Generated CUDA kernels checked numerically without a GPU (host emulation, tests/cuda_host).

The CUDA source of each kernel compiles with g++ against tests/cuda_host/shim.h
and runs on the CPU; results are compared with the interpreter on the module
before ``fuse``. Covered: random elementwise/injective programs (broadcast,
transpose, slice, pad, concat, split, gather, expand, tile, trilu, reshape,
casts) in f32/f16/bf16/f64, every reduction template and strategy (row-warp,
row-block, column) with prologues and epilogues, and the pools. All kernels are
compiled into one library (one g++ process) per test session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import zenith.codegen.cuda  # noqa: F401  (registers the generators)
from tests.cuda_host import CXX, HostKernels, kernel_ops, run_emulated
from tests.cuda_programs import RandomProgram
from zenith.codegen.cuda.kernel import generate_kernel
from zenith.interpreter import interpret
from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, Value, dtype
from zenith.passes import run_pipeline
from zenith.tolerance import assert_close

pytestmark = pytest.mark.skipif(CXX is None, reason="g++ is needed to emulate CUDA kernels on the host")

PROGRAMS = [(s, "f32") for s in range(14)] + [(s, "f16") for s in range(14, 20)] + \
           [(s, "bf16") for s in range(20, 24)] + [(s, "f64") for s in range(24, 26)]


def _module(shapes: list[tuple[int, ...]], dt: str, body: Callable[..., list[Value]]) -> Module:
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    args = [fn.body.add_arg(TensorType(dtype(dt), s)) for s in shapes]
    b.create("func.return", body(b, *args))
    fn.sync_signature()
    return m


def _c(b: Builder, arr, dt: str) -> Value:
    return b.op("zt.constant", value=DenseAttr(np.asarray(arr).astype(dtype(dt).np_dtype)))


def _pro(b: Builder, x: Value, dt: str) -> Value:
    """A prologue: x * 1.5 - 0.25 (fused into the anchor's input)."""
    return b.op("zt.sub", b.op("zt.mul", x, _c(b, 1.5, dt)), _c(b, 0.25, dt))


def _reduction_cases() -> dict[str, tuple[Module, list[np.ndarray]]]:
    rng = np.random.default_rng(7)
    cases: dict[str, tuple] = {}

    def add(name: str, shapes, dt: str, body, nan: bool = False) -> None:
        m = _module(shapes, dt, body)
        ins = [rng.standard_normal(s).astype(dtype(dt).np_dtype) for s in shapes]
        if nan:
            ins[0].flat[3] = np.nan
        cases[name] = (m, ins)

    for dt in ("f32", "f16", "bf16"):
        add(f"softmax-warp-{dt}", [(5, 37), (5, 37)], dt, lambda b, x, r, dt=dt: [
            b.op("zt.add", b.op("zt.softmax", _pro(b, x, dt), axis=-1), r)])
        add(f"layer_norm-affine-relu-{dt}", [(6, 50)], dt, lambda b, x, dt=dt: [b.op("zt.relu", b.op(
            "zt.layer_norm", _pro(b, x, dt), _c(b, rng.uniform(0.5, 1.5, 50), dt),
            _c(b, rng.uniform(-1, 1, 50), dt), axis=-1))])
    add("softmax-block", [(3, 1500)], "f32", lambda b, x: [b.op("zt.softmax", x, axis=-1)])
    add("softmax-block-f16", [(2, 1200)], "f16", lambda b, x: [b.op("zt.softmax", x, axis=-1)])
    add("layer_norm-uncached", [(1, 17000)], "f32", lambda b, x: [b.op("zt.layer_norm", _pro(b, x, "f32"))])
    add("log_softmax-column", [(4, 6, 5)], "f32", lambda b, x: [b.op("zt.log_softmax", x, axis=1)])
    add("hardmax", [(7, 9)], "f32", lambda b, x: [b.op("zt.hardmax", x, axis=-1)])
    add("softmax-subwarp", [(37, 5)], "f32", lambda b, x: [b.op("zt.softmax", _pro(b, x, "f32"), axis=-1)])
    add("layer_norm-subwarp-f16", [(300, 16)], "f16", lambda b, x: [b.op("zt.layer_norm", x, axis=-1)])
    add("rms_norm-block", [(3, 2000)], "f32", lambda b, x: [b.op(
        "zt.rms_norm", x, _c(b, rng.uniform(0.5, 1.5, 2000), "f32"), axis=-1)])
    add("layer_norm-2axes", [(2, 3, 4, 5)], "f64", lambda b, x: [b.op("zt.layer_norm", x, axis=2)])
    add("group_norm", [(2, 6, 3, 5)], "f32", lambda b, x: [b.op(
        "zt.group_norm", x, _c(b, rng.uniform(0.5, 1.5, 6), "f32"), _c(b, rng.uniform(-1, 1, 6), "f32"),
        num_groups=3)])
    add("group_norm-1d-f16", [(3, 4, 7)], "f16", lambda b, x: [b.op(
        "zt.group_norm", _pro(b, x, "f16"), _c(b, rng.uniform(0.5, 1.5, 4), "f16"),
        _c(b, rng.uniform(-1, 1, 4), "f16"), num_groups=2)])
    add("instance_norm", [(2, 3, 4, 5)], "f32", lambda b, x: [b.op(
        "zt.instance_norm", x, _c(b, rng.uniform(0.5, 1.5, 3), "f32"), _c(b, rng.uniform(-1, 1, 3), "f32"))])
    add("lrn", [(2, 7, 3, 4)], "f32",
        lambda b, x: [b.op("zt.lrn", x, size=4, alpha=0.5, beta=0.75, bias=2.0)])
    add("lrn-f16-relu", [(1, 5, 6)], "f16", lambda b, x: [b.op("zt.relu", b.op(
        "zt.lrn", _pro(b, x, "f16"), size=3))])
    add("sum-axes02", [(3, 5, 7)], "f32",
        lambda b, x: [b.op("zt.reduce_sum", x, axes=(0, 2), keepdims=False)])
    add("mean-column-epilogue", [(9, 33)], "f32", lambda b, x: [b.op("zt.tanh", b.op(
        "zt.reduce_mean", _pro(b, x, "f32"), axes=(0,)))])
    add("sum-all-block", [(70, 40)], "f32", lambda b, x: [b.op("zt.reduce_sum", x, keepdims=False)])
    add("max-nan", [(4, 10)], "f32", lambda b, x: [b.op("zt.reduce_max", x, axes=(-1,))], nan=True)
    add("min-column", [(6, 3, 4)], "f16", lambda b, x: [b.op("zt.reduce_min", x, axes=(1,))])
    add("sum-column-split", [(200, 3, 20)], "f32", lambda b, x: [b.op("zt.relu", b.op(
        "zt.reduce_sum", _pro(b, x, "f32"), axes=(0,), keepdims=False))])
    add("softmax-column-split-f16", [(2, 40, 9)], "f16", lambda b, x: [b.op("zt.softmax", x, axis=1)])
    add("argmax-column-split", [(70, 33)], "f32",
        lambda b, x: [b.op("zt.argmax", b.op("zt.floor", x), axis=0)])
    add("prod", [(5, 6)], "f32", lambda b, x: [b.op("zt.reduce_prod", x, axes=(-1,))])
    for fn in ("l1", "l2", "sum_square", "log_sum_exp"):
        add(fn, [(4, 3, 11)], "f32", lambda b, x, fn=fn: [b.op(f"zt.reduce_{fn}", x, axes=(1, 2))])
    add("sum-i32", [(5, 9)], "i32", lambda b, x: [b.op("zt.reduce_sum", x, axes=(-1,))])
    add("argmax-ties-last", [(6, 8)], "f32", lambda b, x: [b.op(
        "zt.argmax", b.op("zt.floor", x), axis=1, select_last_index=True)])
    add("argmax-ties-first-nan", [(6, 8)], "f32", lambda b, x: [b.op(
        "zt.argmax", b.op("zt.floor", x), axis=1)], nan=True)
    add("argmin-column", [(7, 3, 4)], "f32", lambda b, x: [b.op("zt.argmin", x, axis=0, keepdims=False)])
    return cases


def _pool_cases() -> dict[str, tuple[Module, list[np.ndarray]]]:
    rng = np.random.default_rng(8)
    cases: dict[str, tuple] = {}

    def add(name: str, shape, body, dt: str = "f32") -> None:
        cases[name] = (_module([shape], dt, body), [rng.standard_normal(shape).astype(dtype(dt).np_dtype)])

    add("max_pool-relu", (1, 3, 9, 9), lambda b, x: [b.op("zt.relu", b.op(
        "zt.max_pool", x, kernel_shape=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)))])
    for inc in (False, True):
        add(f"avg_pool-ceil-include{int(inc)}", (2, 2, 8, 7), lambda b, x, inc=inc: [b.op(
            "zt.avg_pool", x, kernel_shape=(3, 2), strides=(2, 2), pads=(1, 0, 1, 1), ceil_mode=True,
            count_include_pad=inc)])
    add("avg_pool-dilated-f16", (1, 2, 9, 8), lambda b, x: [b.op(
        "zt.avg_pool", x, kernel_shape=(2, 3), dilations=(2, 1), pads=(1, 1, 0, 1))], "f16")
    add("lp_pool", (1, 2, 6, 6),
        lambda b, x: [b.op("zt.lp_pool", x, kernel_shape=(2, 2), strides=(2, 2), p=2)])
    add("max_pool-1d-ceil", (1, 2, 11), lambda b, x: [b.op(
        "zt.max_pool", x, kernel_shape=(4,), strides=(3,), ceil_mode=True)])
    add("global_avg", (2, 3, 5, 5), lambda b, x: [b.op("zt.global_avg_pool", x)])
    add("global_max-bf16", (2, 3, 4, 6), lambda b, x: [b.op("zt.global_max_pool", x)], "bf16")
    return cases


def _vector_cases() -> dict[str, tuple[Module, list[np.ndarray]]]:
    rng = np.random.default_rng(9)
    cases: dict[str, tuple] = {}
    for dt in ("f32", "f16", "bf16", "f64"):
        m = _module([(4, 6), (4, 6)], dt, lambda b, x, y, dt=dt: [b.op("zt.add", b.op(
            "zt.mul", x, y), _c(b, rng.standard_normal(6), dt))])
        ins = [rng.standard_normal((4, 6)).astype(dtype(dt).np_dtype) for _ in range(2)]
        cases[f"vector-{dt}"] = (m, ins)
    # rows read as vectors: a transpose keeping the last axis plus a bias row, an embedding gather
    for dt, (a, b_, c) in (("f32", (3, 4, 8)), ("f16", (2, 3, 16)), ("bf16", (3, 2, 8))):
        m = _module([(a, b_, c)], dt, lambda b, x, c=c, dt=dt: [b.op("zt.add", b.op(
            "zt.transpose", x, perm=(1, 0, 2)), _c(b, rng.standard_normal(c), dt))])
        cases[f"vector-rows-{dt}"] = (m, [rng.standard_normal((a, b_, c)).astype(dtype(dt).np_dtype)])
    # an f32 input next to f16 outputs: 8 floats a thread, two 16-byte loads
    m = _module([(4, 16)], "f32", lambda b, x: [b.op("zt.add", b.op("zt.cast", x, to=dtype("f16")),
                                                      _c(b, rng.standard_normal(16), "f16"))])
    cases["vector-rows-mixed"] = (m, [rng.standard_normal((4, 16)).astype(np.float32)])
    # ... at a constant shift along the last axis (split, slice, concat, constant pad)
    shifted = {
        "split": ([(3, 24)],
                  lambda b, x: list(b.create("zt.split", [x], {"axis": -1, "sizes": (8, 8, 8)}).results)),
        "slice": ([(2, 20)], lambda b, x: [b.op("zt.slice", x, starts=(4,), ends=(12,), axes=(-1,))]),
        "concat": ([(2, 4), (2, 8)], lambda b, x, y: [b.op("zt.concat", x, y, axis=-1)]),
        "pad": ([(2, 8)], lambda b, x: [b.op("zt.pad", x, pads=(4, 4), axes=(-1,), value=1.5)]),
    }
    for name, (shapes, body) in shifted.items():
        m = _module(shapes, "f32", lambda b, *xs, body=body: [b.op("zt.neg", v) for v in body(b, *xs)])
        cases[f"vector-rows-{name}"] = (m, [rng.standard_normal(s).astype(np.float32) for s in shapes])
    ids = rng.integers(-10, 10, 6)
    m = _module([(10, 12), (6, 12)], "f32", lambda b, t, p: [b.op("zt.add", b.op(
        "zt.gather", t, _c(b, ids, "i64"), axis=0), p)])
    ins = [rng.standard_normal(s).astype(np.float32) for s in ((10, 12), (6, 12))]
    cases["vector-rows-gather"] = (m, ins)
    return cases


def _generator_cases() -> dict[str, tuple[Module, list[np.ndarray]]]:
    """Index maps beyond the random programs: generated values and channel/sequence rearrangements."""
    rng = np.random.default_rng(10)
    cases: dict[str, tuple] = {}

    def add(name: str, shapes, body, dt: str = "f32") -> None:
        cases[name] = (_module(shapes, dt, body),
                       [rng.standard_normal(s).astype(dtype(dt).np_dtype) for s in shapes])

    add("fill", [(3, 4)], lambda b, x: [b.op("zt.add", x, b.op("zt.fill", shape=(3, 4), value=2.5))])
    for dt in ("f32", "f16"):
        add(f"range-{dt}", [(7,)], lambda b, x, dt=dt: [b.op("zt.mul", x, b.op(
            "zt.range", start=0.5, limit=2.6, delta=0.3, dtype=dtype(dt)))], dt)
    add("range-i64", [(6,)], lambda b, x: [b.op("zt.add", x, b.op("zt.cast", b.op(
        "zt.range", start=-3, limit=9, delta=2, dtype=dtype("i64")), to=dtype("f32")))])
    add("eye_like", [(4, 5)], lambda b, x: [b.op("zt.mul", x, b.op("zt.eye_like", x, k=1))])
    add("one_hot", [(3, 5, 2)], lambda b, x: [b.op("zt.add", x, b.op(
        "zt.one_hot", _c(b, [[0, -1], [4, 7], [-5, 2]], "i64"), _c(b, [-1.0, 3.0], "f32"), depth=5, axis=1))])
    for mode in ("DCR", "CRD"):
        add(f"depth_to_space-{mode}", [(1, 8, 2, 3)], lambda b, x, mode=mode: [b.op(
            "zt.neg", b.op("zt.depth_to_space", x, blocksize=2, mode=mode))])
    add("space_to_depth", [(1, 2, 4, 6)],
        lambda b, x: [b.op("zt.neg", b.op("zt.space_to_depth", x, blocksize=2))])
    add("reverse_sequence", [(5, 3, 2)], lambda b, x: [b.op("zt.neg", b.op(
        "zt.reverse_sequence", x, _c(b, [5, 1, 3], "i64"), batch_axis=1, time_axis=0))])
    add("gather_nd", [(3, 4, 5)], lambda b, x: [b.op("zt.neg", b.op(
        "zt.gather_nd", x, _c(b, [[0, -1], [2, 1]], "i64")))])
    add("gather_nd-batch", [(2, 3, 4)], lambda b, x: [b.op("zt.neg", b.op(
        "zt.gather_nd", x, _c(b, [[2], [0]], "i64"), batch_dims=1))])
    add("isinf-shrink", [(4, 5)], lambda b, x: [b.op("zt.where", b.op(
        "zt.isinf", b.op("zt.div", x, b.op("zt.shrink", x, lambd=0.6, bias=0.1)), detect_negative=False),
        _c(b, 7.0, "f32"), x)])
    return cases


_NP_HALF = {"f16": np.float16, "bf16": ml_dtypes.bfloat16}


def _rounding_cases() -> dict[str, tuple[Module, list[np.ndarray]]]:
    """Casts through f16/bf16 of halfway points, subnormals, overflow and specials."""
    rng = np.random.default_rng(3)
    cases: dict[str, tuple] = {}
    for dt, npdt in _NP_HALF.items():
        m = _module([(4096,)], "f32", lambda b, x, dt=dt: [b.op("zt.cast", b.op("zt.cast", x, to=dtype(dt)),
                                                                  to=dtype("f32"))])
        base = rng.standard_normal(4096).astype(npdt).astype(np.float32)
        x = (base * np.float32(1 + 2.0 ** -11 if dt == "f16" else 1 + 2.0 ** -8)).astype(np.float32)
        x[:7] = [6e-8, 3e-5, 65519.0, 65520.0, np.inf, -0.0, np.nan]
        cases[f"round-{dt}"] = (m, [x])
    return cases


@pytest.fixture(scope="module")
def emulated(tmp_path_factory) -> dict:
    """Every case fused, its reference results, and one host library of all kernels."""
    cases: dict[str, tuple] = {}
    for seed, dt in PROGRAMS:
        p = RandomProgram(seed, dt)
        cases[f"random-{seed}-{dt}"] = (p.m, p.inputs())
    cases |= _reduction_cases() | _pool_cases() | _vector_cases() | _rounding_cases() | _generator_cases()
    prepared, items = {}, []
    for name, (m, ins) in cases.items():
        with np.errstate(over="ignore", invalid="ignore"):
            want = interpret(m, ins)
        run_pipeline(m, "fuse,plan-memory")
        items += [(op, generate_kernel(op)) for op in kernel_ops(m)]
        prepared[name] = (m, ins, want)
    lib = HostKernels(items, Path(tmp_path_factory.mktemp("cuda-host")))
    return {"cases": prepared, "lib": lib}


def _check(emulated: dict, name: str) -> None:
    m, ins, want = emulated["cases"][name]
    got = run_emulated(m, ins, emulated["lib"])
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert g.dtype == w.dtype and g.shape == w.shape
        if w.dtype.kind in "iub":
            np.testing.assert_array_equal(g, w, err_msg=f"{name} result #{i}")
        else:
            assert_close(w, g, scale=4, what=f"{name} result #{i}")


@pytest.mark.parametrize("seed,dt", PROGRAMS, ids=[f"{s}-{d}" for s, d in PROGRAMS])
def test_random_injective_programs_match_interpreter(emulated, seed, dt):
    _check(emulated, f"random-{seed}-{dt}")


@pytest.mark.parametrize("name", list(_reduction_cases()))
def test_reductions_match_interpreter(emulated, name):
    _check(emulated, name)


@pytest.mark.parametrize("name", list(_generator_cases()))
def test_generated_and_rearranged_values_match_interpreter(emulated, name):
    m = emulated["cases"][name][0]
    assert {op.attr("kind") for op in kernel_ops(m)} == {"elementwise"}
    _check(emulated, name)


@pytest.mark.parametrize("name", list(_pool_cases()))
def test_pools_match_interpreter(emulated, name):
    _check(emulated, name)


@pytest.mark.parametrize("dt", ["f32", "f16", "bf16", "f64"])
def test_vectorized_elementwise(emulated, dt):
    m = emulated["cases"][f"vector-{dt}"][0]
    (op,) = kernel_ops(m)
    k = generate_kernel(op)
    assert int(k.notes["vector"]) == {"f32": 4, "f16": 8, "bf16": 8, "f64": 2}[dt]
    assert "zk_vec<" in k.source
    _check(emulated, f"vector-{dt}")


@pytest.mark.parametrize("name", ["vector-rows-f32", "vector-rows-f16", "vector-rows-bf16",
                                  "vector-rows-gather", "vector-rows-split", "vector-rows-slice",
                                  "vector-rows-concat", "vector-rows-pad", "vector-rows-mixed"])
def test_vector_rows(emulated, name):
    """Inputs read along the output's last axis (not at its flat index) are vector loads too."""
    (op,) = kernel_ops(emulated["cases"][name][0])
    source = generate_kernel(op).source
    assert "reinterpret_cast<const zk_vec<" in source
    if name == "vector-rows-mixed":
        assert "zk_vec<float, 8>" in source
    _check(emulated, name)


def _misaligned(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` at an address 4 bytes past 16-byte alignment."""
    raw = np.empty(a.nbytes + 32, np.uint8)
    start = (-raw.ctypes.data) % 16 + 4
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def test_vector_kernels_fall_back_on_misaligned_pointers(emulated):
    m, ins, want = emulated["cases"]["vector-f32"]
    (op,) = kernel_ops(m)
    assert "& 15) == 0)" in generate_kernel(op).source
    lib = emulated["lib"]
    n = next(i for i, (o, _) in enumerate(lib.items) if o is op)
    args = dict(zip(m.main.args, ins))
    operands = [args[v] if v in args else v.owner.attr("value").array for v in op.operands]
    got = lib.run(n, [_misaligned(a) for a in operands])[0]
    assert_close(want[0], got, scale=4, what="misaligned inputs")


def test_strategies_are_all_exercised(emulated):
    seen, cached = set(), set()
    for m, _, _ in emulated["cases"].values():
        notes = [generate_kernel(op).notes for op in kernel_ops(m)]
        seen |= {n.get("strategy") for n in notes}
        cached |= {(n.get("strategy"), n.get("cached") != "0") for n in notes if "cached" in n}
    assert {"row-subwarp", "row-warp", "row-block", "column", "column-split"} <= seen
    assert {("row-warp", True), ("row-block", True), ("row-block", False)} <= cached


@pytest.mark.parametrize("dt", ["f16", "bf16"])
def test_half_rounding_is_exact(emulated, dt):
    """f32 -> f16/bf16 -> f32 casts in a kernel round to nearest even exactly like NumPy."""
    m, (x,), _ = emulated["cases"][f"round-{dt}"]
    got = run_emulated(m, [x], emulated["lib"])[0]
    with np.errstate(over="ignore"):
        want = x.astype(_NP_HALF[dt]).astype(np.float32)
    np.testing.assert_array_equal(got, want)
