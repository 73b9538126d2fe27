"""build_program, the nvcc driver (cache, errors, parallel dedupe) and the dump tool, without a GPU."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import zenith.codegen.cuda  # noqa: F401  (registers the generators)
from zenith.codegen.cuda import nvcc
from zenith.codegen.cuda.build import build_program, generate_sources
from zenith.codegen.cuda.kernel import CompiledCudaKernel, CudaKernel, generate_kernel
from zenith.codegen.lower import lower_function
from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, dtype
from zenith.ir.diagnostics import ZenithError
from zenith.passes import run_pipeline

try:
    nvcc.nvcc_path()
    HAVE_NVCC = True
except ZenithError:
    HAVE_NVCC = False
needs_nvcc = pytest.mark.skipif(not HAVE_NVCC, reason="nvcc (CUDA toolkit) is not installed")


def _block_module() -> Module:
    """Two identical residual + layer-norm blocks: their kernels differ only by name."""
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    x = fn.body.add_arg(TensorType(dtype("f32"), (4, 64)))
    g = b.op("zt.constant", value=DenseAttr(np.linspace(0.5, 1.5, 64, dtype=np.float32)))
    h = x
    for _ in range(2):
        t = b.op("zt.relu", b.op("zt.add", h, b.op("zt.transpose", b.op("zt.transpose", h, perm=(1, 0)),
                                                    perm=(1, 0))))
        h = b.op("zt.layer_norm", t, g, axis=-1)
    b.create("func.return", [h])
    fn.sync_signature()
    run_pipeline(m, "fuse,plan-memory")
    return m


def test_generate_sources_and_build_without_compiling():
    m = _block_module()
    ks = generate_sources(m)
    assert [k.notes["template"] for k in ks].count("reduction/layer_norm") == 2
    program = build_program(lower_function(m.main, "cuda"), compile=False)
    assert program.target == "cuda"
    assert all(isinstance(k, CudaKernel) for k in program.kernels.values())
    for launch in program.launches:
        cfg = launch.config
        assert set(cfg) == {"grid", "block", "shared_bytes"} and len(cfg["grid"]) == 3
        k = program.kernels[launch.kernel]
        assert f"void {k.entry}(" in k.source
    entries = {k.entry for k in program.kernels.values()}
    assert len(entries) == program.info["cuda"]["distinct"] < len(program.kernels)


def test_generate_sources_needs_fused_kernels():
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    x = fn.body.add_arg(TensorType(dtype("f32"), (4,)))
    b.create("func.return", [b.op("zt.exp", x)])
    fn.sync_signature()
    with pytest.raises(ZenithError, match="run 'fuse' first"):
        generate_sources(m)


@needs_nvcc
def test_build_program_compiles_cubins(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENITH_CACHE_DIR", str(tmp_path))
    m = _block_module()
    program = build_program(lower_function(m.main, "cuda"))
    images = {id(k.image) for k in program.kernels.values()}
    for k in program.kernels.values():
        assert isinstance(k, CompiledCudaKernel) and k.arch == "sm_90"
        assert k.image[:4] == b"\x7fELF"
        assert k.kernel.entry.encode() in k.image
    assert len(images) == 1  # one bundle
    assert list(tmp_path.rglob("*.cubin"))


def _unsupported_module(op_name: str, dt: str, **attrs) -> Module:
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    x = fn.body.add_arg(TensorType(dtype(dt), (8,)))
    a = b.op("zt.abs", x)
    args = (a, a) if op_name == "zt.pow" else (a,)
    b.create("func.return", [b.op(op_name, *args, **attrs)])
    fn.sync_signature()
    run_pipeline(m, "fuse,plan-memory")
    return m


def test_unsupported_ops_name_the_kernel_and_op():
    m = _unsupported_module("zt.cumsum", "f32", axis=0)
    opaque = r"kernel 'k\d+_cumsum'.*no generator for kind 'opaque'.*zt\.cumsum"
    with pytest.raises(ZenithError, match=opaque):
        generate_sources(m)
    m = _unsupported_module("zt.cast", "f32", to=dtype("f8e4m3fn"))
    op = next(o for o in m.main.body if o.name == "zk.fused")
    with pytest.raises(ZenithError, match=r"kernel 'k0_\w+'.*zt\.cast at .*f8e4m3fn"):
        generate_kernel(op)
    m = _unsupported_module("zt.pow", "i32")
    op = next(o for o in m.main.body if o.name == "zk.fused")
    with pytest.raises(ZenithError, match=r"kernel 'k0_\w+'.*zt\.pow at .*integer pow"):
        generate_kernel(op)


BROKEN = """extern "C" __global__ void broken(float* out) {
  int i = threadIdx.x;
  out[i] = undefined_name + 1.0f;
}
"""


@needs_nvcc
def test_compile_error_shows_message_and_numbered_source(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENITH_CACHE_DIR", str(tmp_path))
    with pytest.raises(ZenithError) as e:
        nvcc.compile_source(BROKEN, "sm_80", "ptx", name="broken")
    text = str(e.value)
    assert "undefined_name" in text and "is undefined" in text
    assert ">    3 |   out[i] = undefined_name + 1.0f;" in text
    assert "     2 |   int i = threadIdx.x;" in text


@needs_nvcc
def test_cache_hits_skip_nvcc_and_identical_units_compile_once(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENITH_CACHE_DIR", str(tmp_path))
    src = 'extern "C" __global__ void twice(float* o) { o[threadIdx.x] = 2.0f; }\n'
    other = src.replace("2.0f", "3.0f")
    calls = []
    real = subprocess.run

    def counting(cmd, *a, **kw):
        if "--ptx" in cmd:
            calls.append(cmd)
        return real(cmd, *a, **kw)

    monkeypatch.setattr(nvcc.subprocess, "run", counting)
    out = nvcc.compile_many([src, other, src], "sm_80", "ptx", progress=False)
    assert out[0] == out[2] != out[1] and len(calls) == 2
    again = nvcc.compile_many([src, other], "sm_80", "ptx", progress=False)
    assert again == out[:2] and len(calls) == 2
    nvcc.compile_source(src, "sm_90", "ptx")  # another arch is another key
    assert len(calls) == 3


def test_missing_nvcc_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ZENITH_NVCC", raising=False)
    monkeypatch.delenv("CUDA_HOME", raising=False)
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ZenithError, match="nvcc was not found"):
        nvcc.compile_source("", "sm_80", "ptx")
    monkeypatch.setenv("ZENITH_NVCC", "/nonexistent/nvcc")
    with pytest.raises(ZenithError, match="not an executable nvcc"):
        nvcc.nvcc_path()


def test_dump_tool_writes_sources(tmp_path):
    from zenith.ir.printer import print_module
    from zenith.tools import cuda_dump

    src = tmp_path / "block.zir"
    m2 = Module()  # unfused: the tool runs fuse itself
    fn = m2.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    x = fn.body.add_arg(TensorType(dtype("f32"), (4, 64)))
    b.create("func.return", [b.op("zt.softmax", b.op("zt.mul", x, x), axis=-1)])
    fn.sync_signature()
    src.write_text(print_module(m2))
    out = tmp_path / "out"
    assert cuda_dump.main([str(src), "--out", str(out)]) == 0
    listing = (out / "kernels.txt").read_text().splitlines()
    assert len(listing) == 1 and "reduction/softmax" in listing[0]
    assert "extern \"C\" __global__" in (out / listing[0].split("\t")[-1]).read_text()
