"""The GPU benchmark scripts without a GPU: --help works, a run says what is missing (exit 2),
and the pieces they build (one-op modules, the torch ResNet-50) are right on the CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["benchmarks/gpu_latency.py", "benchmarks/gpu_kernels.py", "benchmarks/gpu_run_model.py"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_and_no_gpu_message(script: str):
    h = _run(script, "--help")
    assert h.returncode == 0 and "usage:" in h.stdout and "--runs" in h.stdout
    from zenith.cuda_target import cuda_unavailable

    if cuda_unavailable() is None:
        pytest.skip("a GPU is here: the no-GPU message cannot be checked")
    r = _run(script, "--runs", "50")
    assert r.returncode == 2, r.stderr
    assert "needs an NVIDIA GPU" in r.stderr and "PyCUDA" in r.stderr
    assert _run(script, "--runs", "10").returncode == 2  # argparse rejects fewer than 50 runs


def test_one_op_modules_compute_softmax_layer_norm_and_matmul():
    import zenith
    from benchmarks.gpu_kernels import one_op_module

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 8)).astype(np.float32)
    g, b = rng.uniform(0.5, 1.5, 8), rng.uniform(-0.1, 0.1, 8)
    sm = zenith.compile(one_op_module("zt.softmax", [(3, 8)], "f32", axis=-1), target="cpu")(x)
    np.testing.assert_allclose(sm, np.exp(x) / np.exp(x).sum(-1, keepdims=True), rtol=1e-5)
    ln = zenith.compile(one_op_module("zt.layer_norm", [(3, 8)], "f32", [g, b], axis=-1, epsilon=1e-5),
                        target="cpu")(x)
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(ln, (x - mu) / np.sqrt(var + 1e-5) * g + b, rtol=1e-4, atol=1e-5)
    a, w = rng.standard_normal((4, 5)).astype(np.float16), rng.standard_normal((5, 6)).astype(np.float16)
    mm = zenith.compile(one_op_module("zt.matmul", [(4, 5), (5, 6)], "f16"), target="cpu")(a, w)
    np.testing.assert_allclose(mm.astype(np.float32), a.astype(np.float32) @ w.astype(np.float32),
                               rtol=2e-2, atol=2e-2)
