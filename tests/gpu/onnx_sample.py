"""A sample of the ONNX backend node tests run through target="cuda" (the GPU test and, on the
fake driver, the CI test of the runtime use it).

The suite's own runner (tests/onnx_suite.py) compares against the expected
outputs shipped with each test; ``zenith.api.compile`` is wrapped so the backend
compiles for "cuda". The sample is every k-th node test that passes on the CPU
(not in tests/onnx_expected_failures.py). Limitations the CUDA target reports by
name (an op without a generator, data-dependent shapes, a dtype the runtime
lacks) are counted as unsupported; anything else that fails is a failure.
"""

from __future__ import annotations

import re
from unittest import mock

UNSUPPORTED = re.compile(r"no generator for kind|not supported on the CUDA target|CUDA target has no|"
                         r"needs static shapes|has no static shape|the CUDA runtime has no dtype")


def node_sample(count: int) -> dict[str, list]:
    """Outcomes of ``count`` node tests on cuda, by "passed", "unsupported", "failed", "skipped"."""
    import zenith.api
    from tests.onnx_expected_failures import expected_failure
    from tests.onnx_suite import run_test, suite_items

    real = zenith.api.compile

    def on_cuda(model, target="auto", *a, **kw):
        return real(model, "cuda", *a, **kw)

    items = suite_items()["node"]
    names = [n for n in sorted(items) if not expected_failure(n)]
    sample = names[::max(1, len(names) // count)][:count]
    with mock.patch.object(zenith.api, "compile", on_cuda):
        outcomes = [run_test(n, "node", items[n]) for n in sample]
    out: dict[str, list] = {"passed": [], "unsupported": [], "failed": [], "skipped": []}
    for o in outcomes:
        if o.status == "pass":
            out["passed"].append(o)
        elif o.status == "skip":
            out["skipped"].append(o)
        else:
            out["unsupported" if UNSUPPORTED.search(o.message) else "failed"].append(o)
    return out


def summary(res: dict[str, list]) -> str:
    return ", ".join(f"{len(v)} {k}" for k, v in res.items())
