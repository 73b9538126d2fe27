"""``zenith.compile(..., target="cuda"|"auto", precision=...)`` without a GPU.

The whole CUDA path (fuse, plan, lower, build, load, run) runs on the fake
driver of tests/cuda_fake.py, with a stand-in for ``codegen.cuda.build`` whose
kernels run their bodies with the interpreter; on a machine without PyCUDA the
errors say what is missing and how to install it.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from onnx import helper

import zenith
from tests.cuda_fake import FakeDriver, FakeGraphs, fake_cuda_program
from tests.onnx_util import mlp, mlp_oracle, model, tensor
from zenith.interpreter import interpret
from zenith.ir.diagnostics import ZenithError
from zenith.runtime import cuda as rt


def _has(mod: str) -> bool:
    try:
        __import__(mod)
    except ImportError:
        return False
    return True


def static_mlp():
    m = mlp()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 5
    m.graph.output[0].type.tensor_type.shape.dim[0].dim_value = 5
    return m


@pytest.mark.skipif(_has("pycuda.driver"), reason="PyCUDA is installed here")
def test_cuda_without_pycuda_says_what_is_missing():
    with pytest.raises(ZenithError, match=r"target 'cuda' is not available: PyCUDA is not installed.*"
                                          r"pip install -e \"\.\[cuda\]\""):
        zenith.compile(static_mlp(), target="cuda")
    assert zenith.compile(static_mlp(), target="auto").target == "cpu"


def test_precision_on_cpu_runs_the_lowered_module():
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    for p, dt in (("fp16", "f16"), ("bf16", "bf16")):
        cm = zenith.compile(mlp(), target="cpu", precision=p)
        assert f"x{dt}>" in cm.ir and cm.input_types[0].dtype.name == "f32"
        y = cm(x)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, mlp_oracle(x), rtol=2e-2, atol=2e-2)
    with pytest.raises(ZenithError, match="unknown precision 'fp8'"):
        zenith.compile(mlp(), precision="fp8")


@pytest.fixture
def fake_gpu(monkeypatch):
    drv = FakeDriver()
    rt.set_driver(drv, FakeGraphs(drv))
    built = []

    def build_program(lowered, options, compile=True):
        assert compile and options.arch == "sm_90"
        built.append(lowered)
        return fake_cuda_program(lowered, drv)

    fake = types.ModuleType("zenith.codegen.cuda.build")
    fake.build_program = build_program
    monkeypatch.setitem(sys.modules, "zenith.codegen.cuda.build", fake)
    yield drv, built
    rt.reset_driver()


def _two_layer():
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["r"]), helper.make_node("Softmax", ["r"], ["y"], axis=-1),
             helper.make_node("ReduceSum", ["r"], ["s"], keepdims=0)]
    rng = np.random.default_rng(0)
    from onnx import numpy_helper

    inits = [numpy_helper.from_array(rng.standard_normal((8, 6)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.standard_normal(6).astype(np.float32), "b")]
    return model(nodes, [tensor("x", [3, 8])], [tensor("y", [3, 6]), tensor("s", [])], inits)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_compile_for_cuda_end_to_end_on_the_fake_driver(fake_gpu, precision):
    _, built = fake_gpu
    x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    ref = zenith.compile(_two_layer(), target="cpu")
    cm = zenith.compile(_two_layer(), target="cuda", precision=precision)
    assert cm.target == "cuda" and len(built) == 1
    assert '"zk.fused"' in cm.ir
    tol = 1e-5 if precision == "fp32" else 2e-2
    for _ in range(3):  # direct, capture, replay
        for w, g in zip(ref(x), cm(x)):
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    st = cm.executor.stats()
    assert st["graph_launches"] == 2 and st["calls"] == 3
    want = interpret(cm.module, [x])
    np.testing.assert_allclose(cm(x)[0], want[0], rtol=1e-6)


def test_auto_picks_cuda_only_for_static_shapes(fake_gpu):
    assert zenith.compile(static_mlp(), target="auto").target == "cuda"
    assert zenith.compile(mlp(), target="auto").target == "cpu"
    with pytest.raises(ZenithError, match=r"needs static shapes.*x: tensor<\"batch\"x4xf32>.*input_shapes="):
        zenith.compile(mlp(), target="cuda")
    cm = zenith.compile(mlp(), target="cuda", input_shapes={"x": (2, 4)})
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(cm(x), mlp_oracle(x), rtol=1e-6)


def test_missing_codegen_is_reported(monkeypatch):
    drv = FakeDriver()
    rt.set_driver(drv, FakeGraphs(drv))
    try:
        monkeypatch.setitem(sys.modules, "zenith.codegen.cuda.build", None)  # import fails
        with pytest.raises(ZenithError, match=r"CUDA code generation \(zenith.codegen.cuda.build\) is not"):
            zenith.compile(static_mlp(), target="cuda")
        assert zenith.compile(static_mlp(), target="auto").target == "cpu"
    finally:
        rt.reset_driver()


def test_programs_of_the_real_code_generator_pass_the_runtime_checks():
    """The runtime's checks and launch planning accept what codegen/cuda/build.py makes (cubins
    by nvcc, no GPU needed); skipped where the generator or nvcc is missing."""
    import shutil

    build = pytest.importorskip("zenith.codegen.cuda.build")
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH")
    from zenith.codegen.cuda.kernel import CompiledCudaKernel, CudaOptions
    from zenith.codegen.lower import lower_function
    from zenith.ir import parse_module
    from zenith.passes import run_pipeline
    from zenith.runtime.cuda.plan import buffer_pointers, check_program, output_roots, plan_launches

    text = """
func.func @main(%x: tensor<64x256xf32>, %y: tensor<64x256xf32>) -> (tensor<64x256xf32>, tensor<16384xf32>) {
  %a = "zt.add"(%x, %y) : (tensor<64x256xf32>, tensor<64x256xf32>) -> tensor<64x256xf32>
  %g = "zt.gelu"(%a) : (tensor<64x256xf32>) -> tensor<64x256xf32>
  %s = "zt.softmax"(%g) : (tensor<64x256xf32>) -> tensor<64x256xf32>
  %n = "zt.layer_norm"(%s) {axis = -1} : (tensor<64x256xf32>) -> tensor<64x256xf32>
  %t = "zt.tanh"(%n) : (tensor<64x256xf32>) -> tensor<64x256xf32>
  %r = "zt.reshape"(%t) {shape = [16384]} : (tensor<64x256xf32>) -> tensor<16384xf32>
  "func.return"(%s, %r) : (tensor<64x256xf32>, tensor<16384xf32>) -> ()
}"""
    for lower in ("", "lower-precision{dtype=f16}"):
        m = parse_module(text)
        run_pipeline(m, ",".join(p for p in (lower, "fuse", "plan-memory") if p))
        prog = build.build_program(lower_function(m.main, "cuda"), CudaOptions(arch="sm_90"), compile=True)
        check_program(prog)
        assert all(isinstance(k, CompiledCudaKernel) and k.image for k in prog.kernels.values())
        ptrs = buffer_pointers(prog, 1 << 40, [1 << 41] * len(prog.params), [1 << 42, 1 << 43])
        specs = plan_launches(prog, ptrs)
        assert [s.kernel for s in specs] == [la.kernel for la in prog.launches]
        for s in specs:
            k = prog.kernels[s.kernel].kernel
            assert len(s.args) == k.n_inputs + k.n_outputs
        assert None not in output_roots(prog)  # both outputs are written in place in torch mode


def test_onnx_node_sample_on_the_fake_driver(fake_gpu, monkeypatch):
    """The GPU conformance sample's machinery, on the fake: every planned program of 30 node
    tests runs right through the runtime (the fake's kernels are the interpreter)."""
    from tests.gpu.onnx_sample import node_sample, summary

    real = sys.modules["zenith.codegen.cuda.build"].build_program

    def build_program(lowered, options, compile=True):  # opaque kernels: as the real generator does
        for name, op in lowered.kernel_ops.items():
            if op.attr("kind") == "opaque":
                raise ZenithError(f"kernel '{name}': the CUDA target has no generator for kind 'opaque'")
        return real(lowered, options, compile)

    monkeypatch.setattr(sys.modules["zenith.codegen.cuda.build"], "build_program", build_program)
    res = node_sample(30)
    bad = "".join(f"\n  {o.name}: {o.message[:200]}" for o in res["failed"])
    assert not res["failed"], summary(res) + bad
    assert len(res["passed"]) >= 22, summary(res)
