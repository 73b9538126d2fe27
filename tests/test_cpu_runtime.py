"""The CPU runtime (``zenith/codegen/cpu`` kernels run by ``zenith/runtime/executable.py``).

- random programs through ``fuse,plan-memory``, CPU codegen and the Executable
  give the interpreter's results (hypothesis; both program strategies);
- the fast paths (GEMM, im2col conv, max pool, attention, generated C) against
  the interpreter on hand-built kernels of realistic shapes, edge cases included;
- the pool serves a steady workload from its cache; report(); input errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import zenith
from tests.fuse_programs import fusion_programs
from tests.onnx_util import mlp, mlp_oracle
from tests.opsamples import SAMPLES
from tests.strategies import programs
from zenith.codegen.cpu import CpuOptions, cc, generate
from zenith.interpreter import interpret
from zenith.ir import (
    Builder,
    DenseAttr,
    Function,
    Module,
    TensorType,
    ZenithError,
    dtype,
    print_module,
    verify,
)
from zenith.passes import run_pipeline
from zenith.passes.semantics import random_inputs
from zenith.runtime.executable import Executable
from zenith.tolerance import assert_close

PROPS = settings(max_examples=100, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NUMPY_ONLY = CpuOptions(use_c=False)
C_ALWAYS = CpuOptions(c_min_elements=1)


def through_runtime(m: Module, inputs: list[np.ndarray], options: CpuOptions = NUMPY_ONLY,
                    scale: float = 4.0) -> Executable | None:
    """Compare the runtime with the interpreter on ``inputs``; None if the module is not planned."""
    want = interpret(m, inputs)
    fused = m.clone()
    run_pipeline(fused, "fuse,plan-memory")
    if "arena_bytes" not in fused.main.attributes:
        return None
    exe = Executable(generate(fused.main, options))
    for _ in range(2):  # the second call reuses the bound arena
        got = exe(inputs)
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            assert_close(w, g, scale=scale, what=f"result #{i}")
    return exe


@PROPS
@given(programs(max_ops=6), st.integers(0, 2**31))
def test_random_programs_match_the_interpreter(p, seed):
    inputs = p.inputs(seed)
    try:
        verify(p.module)
        interpret(p.module, inputs)
    except ZenithError:
        assume(False)
    fn = p.module.main
    scale = 4.0 * max((SAMPLES[op.name].rtol_scale for op in fn.body if op.name in SAMPLES), default=1.0)
    through_runtime(p.module, inputs, scale=scale)


@PROPS
@given(fusion_programs(), st.integers(0, 2**31))
def test_fusion_shaped_programs_match_the_interpreter(m, seed):
    inputs = random_inputs(m.main, np.random.default_rng(seed))
    assert through_runtime(m, inputs) is not None


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fusion_programs(max_steps=6), st.integers(0, 2**31))
def test_generated_c_matches_the_interpreter(m, seed):
    """Every eligible elementwise kernel and epilogue in C, however small."""
    inputs = random_inputs(m.main, np.random.default_rng(seed))
    assert through_runtime(m, inputs, C_ALWAYS) is not None


# -- hand-built kernels for the fast paths ---------------------------------------------------
def _module(shapes: list[tuple[int, ...]], build, dt: str = "f32") -> Module:
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    args = [fn.body.add_arg(TensorType(dtype(dt), s)) for s in shapes]
    outs = build(b, *args)
    b.create("func.return", list(outs))
    fn.sync_signature()
    verify(m)
    return m


def _const(b: Builder, arr: np.ndarray):
    return b.op("zt.constant", value=DenseAttr(arr))


def _impls(exe: Executable) -> set[str]:
    return {k.impl for k in exe.program.kernels.values()}


@pytest.mark.parametrize("k,stride,pad,dil", [(3, 1, 1, 1), (1, 2, 0, 1), (1, 1, 0, 1), (3, 2, 1, 1),
                                              (7, 2, 3, 1), (3, 1, 2, 2), (2, 1, (0, 1, 1, 0), 1)])
def test_conv_im2col_with_bias_relu_and_residual(k, stride, pad, dil):
    rng = np.random.default_rng(k * 10 + stride)
    c, m_out, hw = 5, 6, 11
    pads = list(pad) if isinstance(pad, tuple) else [pad] * 4
    w = (rng.standard_normal((m_out, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    bias = rng.standard_normal(m_out).astype(np.float32)
    ho = (hw + pads[0] + pads[2] - dil * (k - 1) - 1) // stride + 1

    def build(b, x, r):
        y = b.op("zt.conv", x, _const(b, w), _const(b, bias), strides=[stride] * 2,
                 pads=pads, dilations=[dil] * 2)
        return [b.op("zt.relu", b.op("zt.add", y, r))]

    m = _module([(2, c, hw, hw), (2, m_out, ho, ho)], build)
    ins = [rng.standard_normal((2, c, hw, hw)).astype(np.float32),
           rng.standard_normal((2, m_out, ho, ho)).astype(np.float32)]
    exe = through_runtime(m, ins, CpuOptions(split_gemm=k == 3))
    assert any(i.startswith("numpy-im2col-gemm") for i in _impls(exe))


@pytest.mark.parametrize("mask,dims", [("none", (1, 3, 10, 8)), ("float", (1, 3, 10, 8)),
                                       ("bool", (1, 3, 10, 8)), ("causal", (1, 3, 10, 8)),
                                       ("dead_rows", (1, 3, 10, 8)), ("head_mask", (2, 4, 96, 64)),
                                       ("dead_rows", (1, 4, 128, 64))])
@pytest.mark.parametrize("use_c", [False, pytest.param(True, marks=pytest.mark.skipif(
    not cc.available(), reason="no C compiler"))])
def test_attention(mask, dims, use_c):
    """Small shapes run on one thread; the last two split the heads over the runtime's threads.
    ``use_c``: the softmax runs in C (``softmax.py``) where the scores are contiguous."""
    rng = np.random.default_rng(7)
    b_, h, s, d = dims
    shapes = [(b_, h, s, d)] * 3
    qkv = [rng.standard_normal(sh).astype(np.float32) for sh in shapes]
    extra: list[np.ndarray] = []
    if mask == "float":
        extra = [np.where(rng.random((b_, 1, 1, s)) < 0.3, -1e4, 0).astype(np.float32)]
    elif mask == "head_mask":  # differs per head: sliced with the heads
        extra = [np.where(rng.random((1, h, s, s)) < 0.3, -1e4, 0).astype(np.float32)]
    elif mask in ("bool", "dead_rows"):
        mm = rng.random((b_, 1, s, s)) < 0.7
        if mask == "dead_rows":
            mm[0, 0, 2] = False  # query 2 attends nothing: its output is 0
        extra = [mm]
    mdt = "bool" if mask in ("bool", "dead_rows") else "f32"

    def build(b, q, k, v, *ms):
        ms = list(ms)
        if mdt == "bool" and ms:
            ms = [b.op("zt.cast", ms[0], to="bool")] if ms[0].type.dtype.name != "bool" else ms
        y = b.op("zt.attention", q, k, v, *ms, causal=mask == "causal", scale=0.3)
        return [b.op("zt.add", y, q)]

    m = Module()
    fn = m.add_function(Function("main", [], []))
    bld = Builder.at_end(fn.body)
    args = [fn.body.add_arg(TensorType(dtype("f32"), sh)) for sh in shapes]
    if extra:
        args.append(fn.body.add_arg(TensorType(dtype(mdt), extra[0].shape)))
    bld.create("func.return", build(bld, *args))
    fn.sync_signature()
    verify(m)
    exe = through_runtime(m, qkv + extra, CpuOptions(use_c=use_c, split_gemm=True))
    assert any(i.startswith("numpy-attention") for i in _impls(exe))


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
def test_c_softmax_rows_semantics():
    from zenith.codegen.cpu.softmax import softmax_rows

    rng = np.random.default_rng(11)
    x = (rng.standard_normal((6, 37)) * 20).astype(np.float32)
    x[1, ::3] = -np.inf           # some keys masked
    x[2] = -np.inf                # every key masked: a dead row
    x[3, 5] = np.nan
    x[4, 7] = np.inf
    want = x.astype(np.float64) * 0.5
    with np.errstate(invalid="ignore"):
        e = np.exp(want - want.max(axis=-1, keepdims=True))
        want = e / e.sum(axis=-1, keepdims=True)
    for dead in (0.0, float("nan")):
        got = x.copy()[None, None]
        softmax_rows(got, 0.5, dead=dead)
        got = got[0, 0]
        np.testing.assert_allclose(got[[0, 1, 5]], want[[0, 1, 5]], rtol=2e-6, atol=1e-30)
        assert np.all(np.isnan(got[3])) and np.all(np.isnan(got[4]))  # NaN / +inf: NaN, as NumPy
        assert np.array_equal(got[2], np.full(37, dead), equal_nan=True)


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
@pytest.mark.parametrize("bias_shape", [(2, 1, 1, 9), (1, 3, 5, 9), (5, 9), (2, 3, 1, 1), (1, 3, 5, 1)])
def test_c_softmax_reads_the_bias_through_its_broadcast_strides(bias_shape):
    from zenith.codegen.cpu.softmax import softmax_rows

    rng = np.random.default_rng(12)
    s = rng.standard_normal((2, 3, 5, 9)).astype(np.float32)
    bias = np.where(rng.random(bias_shape) < 0.3, -np.inf, rng.standard_normal(bias_shape)).astype(np.float32)
    z = s.astype(np.float64) * 0.7 + bias
    with np.errstate(invalid="ignore"):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        want = e / e.sum(axis=-1, keepdims=True)
    want = np.where(np.isneginf(z.max(axis=-1, keepdims=True)), 0.0, want)  # dead rows: 0
    got = s.copy()
    softmax_rows(got, 0.7, dead=0.0, bias=bias)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
def test_linear_gelu_epilogue_in_c_and_gemm_variants():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((256, 64)).astype(np.float32) / 8
    bias = rng.standard_normal(256).astype(np.float32)

    def build(b, x, a2, b2):
        h = b.op("zt.gelu", b.op("zt.linear", x, _const(b, w), _const(b, bias)))
        g = b.op("zt.gemm", a2, b2, trans_b=True, alpha=0.5)
        return [h, b.op("zt.tanh", b.op("zt.matmul", x, b.op("zt.transpose", x, perm=[1, 0])))] + [g]

    m = _module([(200, 64), (30, 20), (40, 20)], build)
    ins = [rng.standard_normal(s).astype(np.float32) for s in [(200, 64), (30, 20), (40, 20)]]
    for split in (False, True):  # OpenBLAS's threads, or row blocks on the runtime's threads
        exe = through_runtime(m, ins, CpuOptions(c_min_elements=1000, split_gemm=split))
        assert "numpy-gemm+c" in _impls(exe)


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
def test_linear_bias_rides_the_c_epilogue_and_leaves_the_ir_alone():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((96, 48)).astype(np.float32) / 8
    bias = rng.standard_normal(96).astype(np.float32)

    def build(b, x, r):
        return [b.op("zt.add", b.op("zt.gelu", b.op("zt.linear", x, _const(b, w), _const(b, bias))), r)]

    m = _module([(64, 48), (64, 96)], build)
    ins = [rng.standard_normal(s).astype(np.float32) for s in [(64, 48), (64, 96)]]
    fused = m.clone()
    run_pipeline(fused, "fuse,plan-memory")
    before = print_module(fused)
    exe = Executable(generate(fused.main, C_ALWAYS))
    assert print_module(fused) == before  # the bias split happens on a detached copy of the kernel
    assert _impls(exe) == {"numpy-gemm+c"}
    assert_close(interpret(m, ins)[0], exe(ins)[0], scale=4.0)


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
def test_conv_bias_rides_the_c_epilogue_per_channel():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32) / 4
    bias = rng.standard_normal(8).astype(np.float32)  # per output channel, not per column

    def build(b, x, r):
        c = b.op("zt.conv", x, _const(b, w), _const(b, bias), pads=[1, 1, 1, 1])
        return [b.op("zt.relu", b.op("zt.add", c, r))]

    m = _module([(2, 3, 9, 7), (2, 8, 9, 7)], build)
    ins = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3, 9, 7), (2, 8, 9, 7)]]
    fused = m.clone()
    run_pipeline(fused, "fuse,plan-memory")
    before = print_module(fused)
    im2col_c = CpuOptions(c_min_elements=1, direct_conv=False)  # (else the C direct conv runs it)
    for options, impl in ((im2col_c, "numpy-im2col-gemm+c"), (NUMPY_ONLY, "numpy-im2col-gemm+numpy")):
        exe = Executable(generate(fused.main, options))
        assert print_module(fused) == before
        assert _impls(exe) == {impl}
        for _ in range(2):
            assert_close(interpret(m, ins)[0], exe(ins)[0], scale=4.0)


# -- the pool, report(), errors --------------------------------------------------------------
def test_steady_workload_is_served_from_the_pool_cache():
    cm = zenith.compile(mlp(), input_shapes={"x": (3, 4)})
    x = np.ones((3, 4), np.float32)
    cm(x)  # warm-up
    before = dict(cm.report_dict()["pool"])
    for _ in range(100):
        assert_close(mlp_oracle(x), cm(x))
    after = cm.report_dict()["pool"]
    calls = after["allocations"] - before["allocations"]
    hits = after["cache_hits"] - before["cache_hits"]
    assert calls == 100 and hits / calls >= 0.99
    assert after["backend_allocations"] == before["backend_allocations"]


def test_report_names_kernels_arena_pool_and_executor():
    cm = zenith.compile(mlp(), input_shapes={"x": (3, 4)})
    cm(np.ones((3, 4), np.float32))
    d = cm.report_dict()
    assert d["executor"] == "cpu runtime" and d["kernels_by_kind"] == {"matmul": 1}
    assert d["arena_lower_bound"] <= d["arena_bytes"] <= d["arena_naive"]
    text = cm.report()
    for word in ("cpu runtime", "k0_linear_relu", "lower bound", "hit rate", "reserved"):
        assert word in text


def test_unplannable_model_falls_back_to_the_interpreter_and_says_why():
    from onnx import TensorProto, helper

    from tests.onnx_util import model, tensor

    nodes = [helper.make_node("NonZero", ["x"], ["y"])]
    m = model(nodes, [tensor("x", [2, 3])], [tensor("y", [2, None], TensorProto.INT64)])
    cm = zenith.compile(m)
    x = np.array([[1, 0, 2], [0, 3, 0]], np.float32)
    np.testing.assert_array_equal(cm(x), np.array(np.nonzero(x)))
    d = cm.report_dict()
    assert d["executor"] == "interpreter (fallback)" and "non-static" in d["fallback_reason"]
    assert "fallback reason" in cm.report()


def test_symbolic_model_compiles_per_signature_and_interpreter_escape_hatch():
    cm = zenith.compile(mlp())
    for n in (1, 5, 1):
        x = np.random.default_rng(n).random((n, 4), np.float32)
        assert_close(mlp_oracle(x), cm(x))
    assert cm.report_dict()["signatures"] == 2
    interp = zenith.compile(mlp(), runtime="interpreter")
    assert type(interp.executor).__name__ == "InterpreterExecutor"
    with pytest.raises(ZenithError, match="unknown runtime"):
        zenith.compile(mlp(), runtime="gpu")


def test_wrong_inputs_are_clear_errors():
    cm = zenith.compile(mlp(), input_shapes={"x": (3, 4)})
    with pytest.raises(ZenithError, match=r"input 'x'.*\(2, 4\)"):
        cm(np.ones((2, 4), np.float32))
    with pytest.raises(ZenithError, match="input 'x' has dtype"):
        cm(np.ones((3, 4), np.float64))
    exe = cm.executor.last
    with pytest.raises(ZenithError, match="input 'x' has shape"):
        exe([np.ones((3, 5), np.float32)])
    with pytest.raises(ZenithError, match="takes 1 input"):
        exe([])


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
@pytest.mark.parametrize("axis,affine", [(-1, 2), (1, 2), (-1, 1), (2, 0)])
def test_layer_norm_in_c(axis, affine):
    rng = np.random.default_rng(axis + 5 * affine)
    shape = (3, 5, 40)
    norm_shape = shape[axis % 3:]
    params = [rng.standard_normal(norm_shape).astype(np.float32) for _ in range(affine)]

    def build(b, x):
        y = b.op("zt.layer_norm", x, *[_const(b, p) for p in params], axis=axis, epsilon=1e-3)
        return [b.op("zt.relu", y)]

    m = _module([shape], build)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    exe = through_runtime(m, [x], C_ALWAYS)
    assert any(i.startswith("c-layernorm") for i in _impls(exe))


@pytest.mark.skipif(not cc.available(), reason="no C compiler")
def test_openmp_c_kernels_match_the_interpreter():
    """``c_threads=2`` (``ZENITH_C_THREADS``): generated C splits rows over OpenMP threads."""
    from zenith.codegen.cpu import cgen

    rng = np.random.default_rng(13)
    g = rng.standard_normal(256).astype(np.float32)

    def build(b, x, r):
        y = b.op("zt.gelu", b.op("zt.add", x, r))
        return [y, b.op("zt.layer_norm", x, _const(b, g), axis=-1, epsilon=1e-5)]

    shapes = [(384, 256), (256,)]  # a broadcast add: 384 rows, 98k elements (OpenMP from 65536)
    m = _module(shapes, build)
    ins = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    exe = through_runtime(m, ins, CpuOptions(c_min_elements=1, c_threads=2))
    assert {"c-elementwise", "c-layernorm"} <= _impls(exe)
    add = next(op for op in m.main.body if op.name == "zt.add")
    src = cgen.elementwise_source([add], list(add.operands), [add.results[0]], 2, "k")
    assert "#pragma omp parallel for num_threads(2)" in src
