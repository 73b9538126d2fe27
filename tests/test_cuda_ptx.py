"""The CUDA source of every kernel of the end-to-end models compiles with ``nvcc -ptx``.

Models: BERT-base (batch 1, seq 128, exported from a transformers config with
random weights), a GPT-2 block (also in f16 and bf16 through ``lower-precision``),
and light models of the onnx package (``LIGHT_MODELS``: ResNet-50, Inception v1,
ShuffleNet), each
through ``canonicalize,constant-fold,cse,dce`` then ``fuse,plan-memory``; plus
f16 and bf16 modules of elementwise, reduction and pool kernels. Distinct kernels
(sources equal up to the entry name) are bundled into one translation unit a
architecture, compiled for sm_80 and sm_90 in parallel; any nvcc error fails.

Every kernel kind the models contain must have a generator (``opaque`` kernels
would fail here: the models have none).
"""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import zenith.codegen.cuda  # noqa: F401  (registers the generators)
from benchmarks.fusion_report import PREPARE
from tests.cuda_programs import RandomProgram
from tests.test_cuda_host import _pool_cases, _reduction_cases, _vector_cases
from tests.test_onnx_models import gpt2_block_path, model_dir  # noqa: F401  (fixtures)
from zenith.codegen.cuda.build import dedupe
from zenith.codegen.cuda.kernel import GENERATORS, CudaKernel, generate_kernel
from zenith.codegen.cuda.nvcc import bundle, compile_source, nvcc_path, rename_entry
from zenith.interpreter import interpret
from zenith.ir import Module
from zenith.ir.diagnostics import ZenithError
from zenith.passes import run_pipeline
from zenith.tolerance import assert_close, compare, tolerance
from zenith.tools.models import export_bert
from zenith.tools.models import light_model_path as light_model

# Light models of the onnx package: ResNet-50, plus LRN (Inception v1) and channel shuffles
# (ShuffleNet). The others add no template (see "Light models" in docs/cuda.md) and cost seconds.
LIGHT_MODELS = ("resnet50", "inception_v1", "shufflenet")
ARCHS = ("sm_80", "sm_90")
# The front end (where every compile error of generated source shows) is the same at any
# optimisation level; cicc at -O1 makes the PTX 2.5x faster than the default -O3.
FLAGS = ("-std=c++17", "-Xcicc", "-O1")

pytestmark = pytest.mark.slow


def _have_nvcc() -> bool:
    try:
        nvcc_path()
        return True
    except ZenithError:
        return False


needs_nvcc = pytest.mark.skipif(not _have_nvcc(), reason="nvcc (CUDA toolkit) is not installed")


def _fused(path, precision: str | None = None) -> Module:
    import zenith

    m = zenith.load_onnx(path)
    run_pipeline(m, PREPARE)
    if precision:
        run_pipeline(m, f"lower-precision{{dtype={precision}}}")
    run_pipeline(m, "fuse,plan-memory")
    return m


def _half_modules() -> dict[str, Module]:
    """f16/bf16 modules: the host tests' low-precision cases and random injective programs."""
    mods = {name: m for name, (m, _) in (_reduction_cases() | _pool_cases() | _vector_cases()).items()
            if "f16" in name or "bf16" in name}
    for seed in range(8):
        dt = "f16" if seed % 2 else "bf16"
        mods[f"random-{seed}-{dt}"] = RandomProgram(100 + seed, dt, steps=8).m
    for m in mods.values():
        run_pipeline(m, "fuse,plan-memory")
    return mods


@pytest.fixture(scope="module")
def models(tmp_path_factory, gpt2_block_path) -> dict[str, Module]:  # noqa: F811
    pytest.importorskip("transformers")
    bert = export_bert(tmp_path_factory.mktemp("bert") / "bert.onnx", seq=128)
    mods = {"bert": _fused(bert), "gpt2_block": _fused(gpt2_block_path)}
    mods |= {f"gpt2_block-{dt}": _fused(gpt2_block_path, dt) for dt in ("f16", "bf16")}
    mods |= {name: _fused(light_model(name)) for name in LIGHT_MODELS}
    return mods | _half_modules()


@pytest.fixture(scope="module")
def kernels(models) -> dict[str, list[tuple[str, CudaKernel]]]:
    """(kind, kernel) per model, for every kernel whose kind has a generator."""
    out = {}
    for name, m in models.items():
        ops = [op for op in m.main.body if op.name == "zk.fused"]
        out[name] = [(op.attr("kind"), generate_kernel(op)) for op in ops if op.attr("kind") in GENERATORS]
    return out


def test_every_kind_has_a_generator(models):
    kinds = {op.attr("kind") for m in models.values() for op in m.main.body if op.name == "zk.fused"}
    assert {"elementwise", "reduction", "pool", "matmul", "conv", "attention"} <= kinds
    missing = kinds - set(GENERATORS)
    assert not missing, f"kinds without a CUDA generator: {sorted(missing)}"


@needs_nvcc
def test_every_kernel_compiles_to_ptx_for_sm80_and_sm90(kernels):
    flat = [k for ks in kernels.values() for _, k in ks]
    unique, _ = dedupe(flat)
    entries = [f"{k.entry}_u{i}" for i, k in enumerate(unique)]
    tu = bundle([rename_entry(k.source, k.entry, e) for k, e in zip(unique, entries)])
    with ThreadPoolExecutor(len(ARCHS)) as pool:
        ptx = list(pool.map(lambda a: compile_source(tu, a, "ptx", FLAGS, name="models", use_cache=False),
                            ARCHS))
    for arch, text in zip(ARCHS, ptx):
        found = set(re.findall(r"\.entry\s+(\w+)", text.decode()))
        missing = sorted(set(entries) - found)
        assert not missing, f"{arch}: entries missing from the PTX: {missing[:5]}"
        assert f".target {arch}" in text.decode()
    counts = {name: len(ks) for name, ks in kernels.items() if name in ("bert", "resnet50", "gpt2_block")}
    assert all(n > 0 for n in counts.values()), counts


def test_kernels_follow_the_abi(kernels):
    """extern "C" entry, inputs then outputs, launch geometry within CUDA limits."""
    for name, ks in kernels.items():
        for _kind, k in ks:
            bounds = r"(?:__launch_bounds__\(\d+\) )?"
            head = re.search(rf'extern "C" __global__ void {bounds}{k.entry}\(([^)]*)\)', k.source)
            assert head, f"{name}/{k.name}: no extern C entry"
            params = [p.strip() for p in head.group(1).split(",")]
            assert len(params) == k.n_inputs + k.n_outputs
            assert all(p.startswith("const ") for p in params[:k.n_inputs])
            assert not any(p.startswith("const ") for p in params[k.n_inputs:])
            assert 1 <= k.block[0] <= 1024 and k.block[0] % 32 == 0 and 1 <= k.grid[0] < 2**31



@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is needed to emulate kernels on the host")
@pytest.mark.parametrize("precision", [None, "f16", "bf16"])
def test_gpt2_block_kernels_run_on_the_host(gpt2_block_path, tmp_path, precision):  # noqa: F811
    """The GPT-2 block's own elementwise/reduction kernels (f32, or after lower-precision),
    emulated on the CPU (kernels of other kinds interpreted), agree with the interpreter on
    the unfused model."""
    import zenith
    from tests.cuda_host import build, run_emulated

    m = zenith.load_onnx(gpt2_block_path)
    run_pipeline(m, PREPARE)
    if precision:
        run_pipeline(m, f"lower-precision{{dtype={precision}}}")
    h = np.random.default_rng(0).standard_normal(tuple(m.main.args[0].type.shape)).astype(np.float32)
    want = interpret(m, [h])
    run_pipeline(m, "fuse,plan-memory")
    lib = build(m, tmp_path)
    kinds = {op.attr("kind") for op, _ in lib.items}
    assert kinds >= {"elementwise", "reduction"}
    if precision:
        dts = {v.type.dtype.name for op, _ in lib.items for v in [*op.operands, *op.results]}
        assert precision in dts
    got = run_emulated(m, [h], lib)
    for w, g in zip(want, got, strict=True):
        if precision is None:
            assert_close(w, g, scale=4, what="GPT-2 block output")
        else:  # f32 output of half compute: the kernels round once where the interpreter rounds per op
            c = compare(w, g, *tolerance(precision))
            assert c.ok, f"GPT-2 block output ({precision}): {c.message}"
