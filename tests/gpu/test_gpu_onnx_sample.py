"""A sample of the ONNX backend node tests through target="cuda" on the GPU (see onnx_sample.py):
``ZENITH_GPU_ONNX_SAMPLE`` tests (default 400); no failure other than a named limitation, and at
least 200 pass."""

from __future__ import annotations

import os

from tests.gpu.gpu_util import GPU
from tests.gpu.onnx_sample import node_sample, summary

pytestmark = GPU


def test_onnx_node_sample_on_cuda(capsys):
    res = node_sample(int(os.environ.get("ZENITH_GPU_ONNX_SAMPLE", "400")))
    with capsys.disabled():
        print(f"\n[onnx node sample on cuda] {summary(res)}")
        for o in res["unsupported"]:
            print(f"  unsupported {o.name}: {o.message[:160]}")
    assert not res["failed"], "failures on cuda:\n" + "\n".join(
        f"  {o.name}: {o.message[:300]}" for o in res["failed"])
    assert len(res["passed"]) >= 200, f"only {len(res['passed'])} node tests passed on cuda"
