"""The generated fp32/fp64 GEMM, conv and attention kernels, run on the CPU (tests/cuda_gemm_util.py
host shim: g++, one std::thread per CUDA thread, a barrier for __syncthreads), against the
reference interpreter. This checks the index math of every tile edge, the im2col gathers, the
epilogues and the online softmax without a GPU; the tensor-core (wmma) kernels are only
compiled (tests/test_cuda_gemm_ptx.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.cuda_gemm_util import CUDA_INCLUDE, GXX, fused, host_run
from tests.gemm_cases import cases, module, random_inputs
from zenith.codegen.cuda import CudaOptions, generate_kernel
from zenith.codegen.cuda.gemm import generate_matmul
from zenith.codegen.cuda.gemm_templates import SIMT_CONFIGS, WMMA_CONFIGS
from zenith.interpreter import interpret
from zenith.tolerance import assert_close

pytestmark = pytest.mark.skipif(GXX is None or CUDA_INCLUDE is None, reason="needs g++ and the CUDA headers")


def _check(cs: list, tmp_path) -> None:
    """``cs``: (case, dtype, tolerance scale); all kernels in one g++ build."""
    rng = np.random.default_rng(0)
    mods = [module(c) for c, _, _ in cs]
    ins = [random_inputs(m, rng) for m in mods]
    want = [interpret(m, x) for m, x in zip(mods, ins)]
    ops = []
    for (c, _, _), m in zip(cs, mods):
        ks = fused(m)
        assert len(ks) == 1 and len(m.main.body) - 1 == 1, f"{c[0]}: expected one kernel"
        assert all(v in m.main.args for v in ks[0].operands), f"{c[0]}: kernel reads non-arguments"
        ops.append(ks[0])
    args = [[x[m.main.args.index(v)] for v in op.operands] for m, x, op in zip(mods, ins, ops)]
    got = host_run(ops, args, tmp_path)
    for (c, dt, scale), w, g in zip(cs, want, got):
        for i, (a, b) in enumerate(zip(w, g, strict=True)):
            assert_close(a, b, scale=scale, what=f"{c[0]} {dt} result #{i}")


def test_f32_f64_kernels_match_interpreter(tmp_path):
    """SIMT GEMMs, implicit-GEMM and direct convs, conv_transpose, attention; fp32 and fp64."""
    picked = {"matmul-batch-bcast-gelu", "gemm-tatb-c2d-relu", "conv-group-residual", "attn-float-mask"}
    _check([(c, "f32", 2) for c in cases("f32")]
           + [(c, "f64", 2) for c in cases("f64") if c[0] in picked], tmp_path)


def test_f16_bf16_kernels_match_interpreter(tmp_path):
    """Tensor-core GEMMs and convs (wmma emulated lane by lane in the shim), the small-size
    SIMT fallback and attention, with f16/bf16 loads and stores."""
    # bf16 differs from f16 by the element type only: a sample
    bf16 = {"matmul-batch-bcast-gelu", "linear-bias-gelu-res", "gemm-tb-c", "conv-3x3-pad-relu",
            "gemm-ta-async", "attn-float-mask", "attn-gqa-lr-bool-d32"}
    _check([(c, "f16", 1) for c in cases("f16")]
           + [(c, "bf16", 1) for c in cases("bf16") if c[0] in bf16], tmp_path)


def test_every_tile_config(tmp_path):
    """Each SIMT tile (f32) and each tensor-core tile (f16; cp.async and register-staged) on
    shapes with partial edge tiles in M, N and K (configuration forced)."""
    picks = [("linear-bias-gelu-res", "f32", t) for t in SIMT_CONFIGS]
    picks += [(name, "f16", t) for name in ("linear-bias-gelu-res", "gemm-tatb-c2d-relu")
              for t in WMMA_CONFIGS]
    rng = np.random.default_rng(1)
    ops, args, want, kernels = [], [], [], []
    for name, dt, tile in picks:
        m = module(next(c for c in cases(dt) if c[0] == name))
        x = random_inputs(m, rng)
        want.append(interpret(m, x))
        (op,) = fused(m)
        ops.append(op)
        args.append([x[m.main.args.index(v)] for v in op.operands])
        kernels.append(generate_matmul(op, CudaOptions(arch="sm_80"), tile=tile))
        assert kernels[-1].notes["tile"] == tile
    stages = {k.notes.get("stages", "")[:1] for k, (_, dt, _) in zip(kernels, picks) if dt == "f16"}
    assert stages >= {"1", "2"}
    got = host_run(ops, args, tmp_path, kernels)
    for (name, dt, tile), w, g in zip(picks, want, got):
        assert_close(w[0], g[0], scale=2 if dt == "f32" else 1, what=f"{name} {dt} tile {tile}")


def test_cp_async_gemm_with_misalignedrandom_inputs(tmp_path):
    """A cp.async kernel given inputs that are not 16-byte aligned (a torch view with an
    offset, say) falls back to plain loads of the same chunks."""
    case = next(c for c in cases("f16") if c[0] == "matmul-async-batched")
    m = module(case)
    rng = np.random.default_rng(3)
    x = random_inputs(m, rng)
    want = interpret(m, x)
    (op,) = fused(m)
    kernel = generate_kernel(op, CudaOptions(arch="sm_80"))
    assert kernel.notes["stages"].startswith("2")

    def shifted(a: np.ndarray) -> np.ndarray:
        buf = np.empty(a.size + 1, a.dtype)
        out = buf[1:].reshape(a.shape)  # 2 bytes past an aligned base
        out[...] = a
        return out

    args = [shifted(x[m.main.args.index(v)]) for v in op.operands]
    assert all(a.ctypes.data % 16 for a in args)
    (got,) = host_run([op], [args], tmp_path, [kernel])
    assert_close(want[0], got[0], what="misaligned cp.async GEMM")
