"""The CUDA source of matmul / conv / attention kernels compiles with ``nvcc -ptx`` for sm_80
and sm_90: the small cases of tests/gemm_cases.py in f32, f16 and bf16 (tensor-core and SIMT
paths), transformer-sized f16/bf16 shapes, and every such kernel of BERT-base (seq 128),
ResNet-50 (onnx light model) and a GPT-2 block. Identical sources are compiled once; all
kernels go into two translation units per architecture. Runs without a GPU; the numerics
are checked in test_cuda_gemm_host.py (host emulation) and tests/gpu/test_gpu_gemm_kernels.py."""

from __future__ import annotations

import pytest

from benchmarks.fusion_report import PREPARE
from tests.cuda_gemm_util import NVCC, build, fused, nvcc_ptx
from tests.gemm_cases import _attn, _conv, _linear, cases, module
from tests.test_onnx_models import gpt2_block_path, model_dir  # noqa: F401 (fixtures)
from zenith.codegen.cuda import CudaOptions, generate_kernel
from zenith.ir.diagnostics import ZenithError
from zenith.tools.models import export_bert, light_model_path

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc not found")

# Transformer / CNN sized shapes in low precision: the tensor-core tiles on real sizes.
BIG = [
    ("bert-ffn", [((1, 128, 768), "{dt}"), ((3072, 768), "{dt}"), ((3072,), "{dt}")], _linear(True, "gelu")),
    ("bert-attn", [((1, 12, 128, 64), "{dt}"), ((1, 12, 128, 64), "{dt}"), ((1, 12, 128, 64), "{dt}"),
                   ((1, 1, 1, 128), "{dt}")], _attn()),
    ("resnet-conv", [((1, 64, 56, 56), "{dt}"), ((64, 64, 3, 3), "{dt}"), ((64,), "{dt}")],
     _conv(True, "relu", pads=[1, 1, 1, 1])),
    ("big-linear", [((4, 512, 1024), "{dt}"), ((1024, 1024), "{dt}")], _linear(False)),
]


def _big(dt: str) -> list:
    return [(n, [(s, d.format(dt=dt)) for s, d in args], body) for n, args, body in BIG]


def _kernels(dt: str, options: CudaOptions) -> list:
    out = []
    picked = cases(dt) + (_big(dt) if dt != "f32" else [])
    if dt == "bf16":  # bf16 differs from f16 by the loads and the mma type only: a sample
        keep = ("attn-float-mask", "attn-gqa-lr-bool-d32", "conv-3x3-pad-relu", "conv-depthwise",
                "conv-transpose")
        picked = [c for c in picked if not c[0].startswith(("attn-", "conv-")) or c[0] in keep]
    if dt == "f32":  # every f32 case also runs on the host shim (test_cuda_gemm_host.py): a sample
        keep = ("attn-bool-mask-dead-rows", "attn-d128-residual", "attn-gqa-lr-bool-d32",
                "conv-group-residual", "conv-depthwise", "conv-transpose", "conv-3d")
        picked = [c for c in picked if not c[0].startswith(("attn-", "conv-")) or c[0] in keep]
    for case in picked:
        ops = fused(module(case))
        assert len(ops) == 1, case[0]
        out.append((case[0], generate_kernel(ops[0], options)))
    return out


@pytest.fixture(scope="module")
def case_kernels() -> dict[str, list]:
    return {dt: _kernels(dt, CudaOptions(arch="sm_80")) for dt in ("f32", "f16", "bf16")}


def test_case_kernels_compile_for_sm80_and_sm90(case_kernels):
    nvcc_ptx([k for ks in case_kernels.values() for _, k in ks])


def test_low_precision_gemms_use_tensor_cores(case_kernels):
    for dt in ("f16", "bf16"):
        for name, k in case_kernels[dt]:
            t = k.notes["template"]
            if name.startswith(("matmul", "linear", "gemm")) or name in ("bert-ffn", "big-linear"):
                want = "simt" if name in ("matmul-odd", "matmul-vec-left", "matmul-vec-right") else "wmma"
                assert t.endswith(want), f"{name} {dt}: {t}"
    tiles = {n: k.notes.get("tile") for n, k in case_kernels["f16"]}
    assert tiles["big-linear"] == "128x128x32" and tiles["bert-ffn"] == "64x64x32"
    assert tiles["resnet-conv"] == tiles["linear-nobias-silu"] == "32x32x32"  # fill the SMs
    assert dict(case_kernels["f16"])["resnet-conv"].notes["template"] == "conv-wmma"
    assert dict(case_kernels["f32"])["conv-depthwise"].notes["template"] == "conv-direct"
    attn = {n: k.notes["template"] for n, k in case_kernels["f16"] if n.startswith(("attn", "bert-attn"))}
    assert attn["bert-attn"] == attn["attn-gqa-lr-bool-d32"] == "flash-attention-wmma"
    assert attn["attn-window-softcap"] == "flash-attention"  # Dv 72: not a multiple of 16
    assert dict(case_kernels["f32"])["attn-d128-residual"].notes["template"] == "flash-attention"


def test_bf16_needs_sm80_for_tensor_cores():
    case = next(c for c in cases("bf16") if c[0] == "linear-nobias-silu")
    (op,) = fused(module(case))
    assert generate_kernel(op, CudaOptions(arch="sm_75")).notes["template"] == "linear-simt"
    no_tc = CudaOptions(arch="sm_90", tensor_cores=False)
    assert generate_kernel(op, no_tc).notes["template"] == "linear-simt"
    case = next(c for c in cases("bf16") if c[0] == "attn-plain")
    (op,) = fused(module(case))
    assert generate_kernel(op, CudaOptions(arch="sm_75")).notes["template"] == "flash-attention"
    assert generate_kernel(op, CudaOptions(arch="sm_80")).notes["template"] == "flash-attention-wmma"


def test_errors_name_the_op():
    q = [((1, 1, 4, 192), "f32")] * 3
    (op,) = fused(build(q, lambda b, q, k, v: b.op("zt.attention", q, k, v)))
    with pytest.raises(ZenithError, match=r"k0_attention.*'zt.attention'.*192.*128"):
        generate_kernel(op)
    ints = [((4, 8), "i32"), ((8, 4), "i32")]
    (op,) = fused(build(ints, lambda b, x, y: b.op("zt.matmul", x, y)))
    with pytest.raises(ZenithError, match=r"'zt.matmul'.*i32"):
        generate_kernel(op)


def _model_kernels(m) -> list:
    from zenith.passes import run_pipeline

    run_pipeline(m, PREPARE)
    return [generate_kernel(op, CudaOptions(arch="sm_80")) for op in fused(m)]


@pytest.fixture(scope="module")
def bert_path(tmp_path_factory):
    pytest.importorskip("transformers")
    return export_bert(tmp_path_factory.mktemp("bert") / "bert.onnx", seq=128)


@pytest.mark.slow
def test_model_kernels(bert_path, gpt2_block_path):  # noqa: F811
    """Every matmul / conv / attention kernel of BERT-base (seq 128), ResNet-50 and a GPT-2
    block generates, with the expected templates. (tests/test_cuda_ptx.py compiles every
    kernel of these models, ours included, for sm_80 and sm_90.)"""
    import zenith

    kinds = {}
    for name, path in (("bert", bert_path), ("resnet50", light_model_path("resnet50")),
                       ("gpt2", gpt2_block_path)):
        ks = _model_kernels(zenith.load_onnx(path))
        assert ks, name
        kinds[name] = {k.notes["template"] for k in ks}
    assert kinds["resnet50"] == {"conv-simt", "gemm-simt"}, kinds["resnet50"]
    assert {"flash-attention", "linear-simt"} <= kinds["bert"], kinds["bert"]
    assert any(t.startswith(("linear", "gemm", "matmul")) for t in kinds["gpt2"]), kinds["gpt2"]
