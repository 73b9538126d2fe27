"""The generated GEMM, conv and attention kernels run on the CPU against the reference
interpreter (tests/cuda_gemm_util.py host shim: g++, one std::thread per CUDA thread, a
barrier for __syncthreads, nvcuda::wmma and cp.async emulated). This checks the index math of
every tile edge, the im2col gathers, the epilogues, the online softmax, tensor-core layouts
and cp.async staging without a GPU. Every kernel of the module is built in one g++ run (two
translation units in parallel) by a module fixture; each test checks its own group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from tests.cuda_gemm_util import CUDA_INCLUDE, GXX, fused, host_run
from tests.gemm_cases import cases, module, random_inputs
from zenith.codegen.cuda import CudaKernel, CudaOptions, generate_kernel
from zenith.codegen.cuda.gemm import generate_matmul
from zenith.codegen.cuda.gemm_templates import SIMT_CONFIGS, WMMA_CONFIGS
from zenith.interpreter import interpret
from zenith.tolerance import assert_close

pytestmark = pytest.mark.skipif(GXX is None or CUDA_INCLUDE is None, reason="needs g++ and the CUDA headers")


@dataclass
class Job:
    group: str
    what: str
    op: object
    args: list[np.ndarray]
    want: list[np.ndarray]
    scale: float
    kernel: CudaKernel


def _job(group: str, case, dt: str, scale: float, rng, tile: str | None = None,
         shift: bool = False) -> Job:
    m = module(case)
    x = random_inputs(m, rng)
    want = interpret(m, x)
    ks = fused(m)
    assert len(ks) == 1 and len(m.main.body) - 1 == 1, f"{case[0]}: expected one kernel"
    (op,) = ks
    assert all(v in m.main.args for v in op.operands), f"{case[0]}: kernel reads non-arguments"
    args = [x[m.main.args.index(v)] for v in op.operands]
    if shift:
        args = [_shifted(a) for a in args]
    options = CudaOptions(arch="sm_80")
    kernel = generate_matmul(op, options, tile=tile) if tile else generate_kernel(op, options)
    return Job(group, f"{case[0]} {dt}" + (f" tile {tile}" if tile else ""), op, args, want, scale, kernel)


def _shifted(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` 2 bytes past an aligned base (a torch view with an offset, say)."""
    buf = np.empty(a.size + 1, a.dtype)
    out = buf[1:].reshape(a.shape)
    out[...] = a
    return out


def _case(dt: str, name: str):
    return next(c for c in cases(dt) if c[0] == name)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, list]:
    rng = np.random.default_rng(0)
    jobs = [_job("f32-f64", c, "f32", 2, rng) for c in cases("f32")]
    f64 = ("matmul-batch-bcast-gelu", "gemm-tatb-c2d-relu", "conv-group-residual", "attn-float-mask")
    jobs += [_job("f32-f64", _case("f64", n), "f64", 2, rng) for n in f64]
    jobs += [_job("f16-bf16", c, "f16", 1, rng) for c in cases("f16")]
    # bf16 differs from f16 by the element type only: a sample
    bf16 = ("matmul-batch-bcast-gelu", "linear-bias-gelu-res", "gemm-tb-c", "conv-3x3-pad-relu",
            "gemm-ta-async", "attn-float-mask", "attn-gqa-lr-bool-d32")
    jobs += [_job("f16-bf16", _case("bf16", n), "bf16", 1, rng) for n in bf16]
    jobs += [_job("tiles", _case("f32", "linear-bias-gelu-res"), "f32", 2, rng, tile=t) for t in SIMT_CONFIGS]
    jobs += [_job("tiles", _case("f16", n), "f16", 1, rng, tile=t)
             for n in ("linear-bias-gelu-res", "gemm-tatb-c2d-relu") for t in WMMA_CONFIGS]
    jobs += [_job("misaligned", _case("f16", "matmul-async-batched"), "f16", 1, rng, shift=True)]
    got = host_run([j.op for j in jobs], [j.args for j in jobs], tmp_path_factory.mktemp("host"),
                   [j.kernel for j in jobs])
    out: dict[str, list] = {}
    for j, g in zip(jobs, got):
        out.setdefault(j.group, []).append((j, g))
    return out


def _check(pairs: list) -> None:
    for j, got in pairs:
        for i, (a, b) in enumerate(zip(j.want, got, strict=True)):
            assert_close(a, b, scale=j.scale, what=f"{j.what} result #{i}")


def test_f32_f64_kernels_match_interpreter(results):
    """SIMT GEMMs, implicit-GEMM and direct convs, conv_transpose, attention; fp32 and fp64."""
    _check(results["f32-f64"])


def test_f16_bf16_kernels_match_interpreter(results):
    """Tensor-core GEMMs, convs and attention (wmma emulated lane by lane in the shim), the
    small-size SIMT fallback and the CUDA-core attention, with f16/bf16 loads and stores."""
    templates = {j.kernel.notes["template"] for j, _ in results["f16-bf16"]}
    assert {"linear-wmma", "conv-wmma", "flash-attention-wmma", "matmul-simt", "flash-attention"} <= templates
    _check(results["f16-bf16"])


def test_every_tile_config(results):
    """Each SIMT tile (f32) and each tensor-core tile (f16; cp.async and register-staged) on
    shapes with partial edge tiles in M, N and K (configuration forced)."""
    pairs = results["tiles"]
    assert {j.kernel.notes["tile"] for j, _ in pairs} == set(SIMT_CONFIGS) | set(WMMA_CONFIGS)
    assert {j.kernel.notes.get("stages", "-")[0] for j, _ in pairs} == {"-", "1", "2"}
    _check(pairs)


def test_cp_async_gemm_with_misaligned_inputs(results):
    """A cp.async kernel given inputs that are not 16-byte aligned falls back to plain loads of
    the same chunks (the shim flags a misaligned cp.async as a fault)."""
    ((j, got),) = results["misaligned"]
    assert j.kernel.notes["stages"].startswith("2") and all(a.ctypes.data % 16 for a in j.args)
    _check([(j, got)])
