"""The GEMM, conv and attention kernels on a real GPU against the interpreter: every small case
of tests/gemm_cases.py in f32, f16 and bf16 (SIMT, tensor-core and cp.async paths, edge tiles,
broadcasts, transposes, groups, masks, causal...), transformer/ResNet-sized shapes, and a
cp.async GEMM fed a misaligned torch view. Skipped without the CUDA target."""

from __future__ import annotations

import numpy as np
import pytest

import zenith
from tests.gemm_cases import _conv, _linear, cases, module, random_inputs
from tests.gpu.gpu_util import GPU, assert_matches, to_numpy
from zenith.interpreter import interpret

pytestmark = GPU
PRECISION = {"f32": "fp32", "f16": "fp16", "bf16": "bf16"}
BIG = [
    ("bert-ffn", [((1, 128, 768), "{dt}"), ((3072, 768), "{dt}"), ((3072,), "{dt}")], _linear(True, "gelu")),
    ("big-linear", [((4, 512, 1024), "{dt}"), ((1024, 1024), "{dt}")], _linear(False)),
    ("resnet-conv", [((2, 64, 56, 56), "{dt}"), ((64, 64, 3, 3), "{dt}"), ((64,), "{dt}")],
     _conv(True, "relu", pads=[1, 1, 1, 1])),
]


def _run(case, dt: str, seed: int = 0) -> None:
    m = module(case)
    x = random_inputs(m, np.random.default_rng(seed))
    want = interpret(m, x)
    got = zenith.compile(m, target="cuda", passes="").run(x)
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert_matches(w, to_numpy(g), PRECISION[dt], f"{case[0]} {dt} result #{i}")


@pytest.mark.parametrize("dt", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("name", [c[0] for c in cases("f32")])
def test_case_matches_interpreter(name, dt):
    _run(next(c for c in cases(dt) if c[0] == name), dt)


@pytest.mark.parametrize("dt", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("name", [b[0] for b in BIG])
def test_model_sized_gemms(name, dt):
    n, args, body = next(b for b in BIG if b[0] == name)
    _run((n, [(s, d.format(dt=dt)) for s, d in args], body), dt)


def test_cp_async_gemm_with_a_misaligned_torch_input():
    torch = pytest.importorskip("torch")
    case = next(c for c in cases("f16") if c[0] == "matmul-async-batched")
    m = module(case)
    x = random_inputs(m, np.random.default_rng(1))
    want = interpret(m, x)
    cm = zenith.compile(m, target="cuda", passes="")
    views = []
    for a in x:
        buf = torch.empty(a.size + 1, dtype=torch.float16, device="cuda")
        v = buf[1:].view(a.shape)  # 2 bytes past an aligned allocation
        v.copy_(torch.from_numpy(a))
        views.append(v)
    got = cm.run(views)
    assert_matches(want[0], to_numpy(got[0]), "fp16", "misaligned cp.async GEMM")
