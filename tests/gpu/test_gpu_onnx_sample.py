"""A sample of the ONNX backend node tests run through target="cuda".

The suite's own runner (tests/onnx_suite.py) compares against the expected
outputs shipped with each test; ``zenith.api.compile`` is wrapped so the backend
compiles for "cuda". The sample is every k-th node test that passes on the CPU
(not in tests/onnx_expected_failures.py), ``ZENITH_GPU_ONNX_SAMPLE`` tests (default
300). A test whose kernel the CUDA target has no generator for is counted as
unsupported (an error that names the op); any other failure fails the test, and
at least 200 must pass.
"""

from __future__ import annotations

import os
import re

from tests.gpu.gpu_util import GPU

pytestmark = GPU
UNSUPPORTED = re.compile(r"no generator for kind|not supported on the CUDA target|CUDA target has no")


def test_onnx_node_sample_on_cuda(monkeypatch, capsys):
    import zenith.api
    from tests.onnx_expected_failures import expected_failure
    from tests.onnx_suite import run_test, suite_items

    real = zenith.api.compile

    def on_cuda(model, target="auto", *a, **kw):
        return real(model, "cuda", *a, **kw)

    monkeypatch.setattr(zenith.api, "compile", on_cuda)
    items = suite_items()["node"]
    names = [n for n in sorted(items) if not expected_failure(n)]
    want = int(os.environ.get("ZENITH_GPU_ONNX_SAMPLE", "300"))
    step = max(1, len(names) // want)
    sample = names[::step][:want]
    outcomes = [run_test(n, "node", items[n]) for n in sample]
    passed = [o for o in outcomes if o.status == "pass"]
    unsupported = [o for o in outcomes if o.status == "fail" and UNSUPPORTED.search(o.message)]
    failed = [o for o in outcomes if o.status == "fail" and o not in unsupported]
    with capsys.disabled():
        print(f"\n[onnx node sample on cuda] {len(passed)} passed, {len(unsupported)} unsupported, "
              f"{len(failed)} failed, {len(outcomes) - len(passed) - len(unsupported) - len(failed)} "
              f"skipped of {len(outcomes)}")
        for o in unsupported:
            print(f"  unsupported {o.name}: {o.message[:160]}")
    assert not failed, "failures on cuda:\n" + "\n".join(f"  {o.name}: {o.message[:300]}" for o in failed)
    assert len(passed) >= 200, f"only {len(passed)} node tests passed on cuda"
