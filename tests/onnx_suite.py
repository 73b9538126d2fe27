"""Running the ONNX backend test suite (shipped in the ``onnx`` package) against Zenith.

Used by ``tests/test_onnx_conformance.py`` and, as a script, to write the failure
table of ``docs/conformance.md``:

    PYTHONPATH=. python -m tests.onnx_suite              # counts and failures by message
    PYTHONPATH=. python -m tests.onnx_suite --markdown   # the tables of docs/conformance.md
"""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import time
import unittest
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

# The light models are compared at rtol 1e-3, atol 1e-4 (the suite's default atol is 1e-7).
LIGHT_TOLERANCE = {"rtol": 1e-3, "atol": 1e-4}
LIGHT_MODELS = ("bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
                "shufflenet", "squeezenet", "vgg19", "zfnet512")
KINDS = {"node": "NodeModel", "simple": "SimpleModel", "pytorch-converted": "PyTorchConvertedModel",
         "pytorch-operator": "PyTorchOperatorModel", "light": "RealModel"}


@dataclass
class Outcome:
    name: str
    kind: str
    status: str  # "pass", "fail", "skip"
    message: str = ""
    seconds: float = 0.0


@functools.lru_cache(maxsize=1)
def suite_items() -> dict[str, dict]:
    """The suite's CPU test functions by kind (loading generates the node tests: ~7 s)."""
    import onnx.backend.test

    from zenith.onnx_backend import ZenithBackend

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {f"test_{m}": dict(LIGHT_TOLERANCE) for m in LIGHT_MODELS}
        runner = onnx.backend.test.BackendTest(ZenithBackend, __name__, test_kwargs=kwargs)
    out: dict[str, dict] = {}
    for kind, category in KINDS.items():
        items = runner._test_items.get(category, {})
        out[kind] = {n: it.func for n, it in sorted(items.items()) if n.endswith("_cpu")}
    return out


def _message(tb: str) -> str:
    lines = [ln for ln in tb.strip().split("\n") if ln.strip()]
    for ln in lines:
        if "error:" in ln:
            return ln.strip()
    return lines[-1].strip() if lines else ""


def run_test(name: str, kind: str, func) -> Outcome:
    case = type("OnnxCase", (unittest.TestCase,), {"test": func})("test")
    result = unittest.TestResult()
    t0 = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        case.run(result)
    dt = time.perf_counter() - t0
    if result.errors or result.failures:
        return Outcome(name, kind, "fail", _message((result.errors or result.failures)[0][1]), dt)
    if result.skipped:
        return Outcome(name, kind, "skip", result.skipped[0][1], dt)
    return Outcome(name, kind, "pass", "", dt)


def run_kinds(kinds: list[str], shard: tuple[int, int] = (0, 1)) -> list[Outcome]:
    """Run every CPU test of ``kinds`` (the ``shard[0]``-th of ``shard[1]`` slices)."""
    items = suite_items()
    home = tempfile.mkdtemp(prefix="zenith-onnx-home-")
    old = os.environ.get("ONNX_HOME")
    os.environ["ONNX_HOME"] = home  # the light models write their test data here
    try:
        out = []
        for kind in kinds:
            names = sorted(items[kind])
            for i, name in enumerate(names):
                if i % shard[1] == shard[0]:
                    out.append(run_test(name, kind, items[kind][name]))
        return out
    finally:
        if old is None:
            os.environ.pop("ONNX_HOME", None)
        else:
            os.environ["ONNX_HOME"] = old


def op_of(name: str) -> str:
    """A test's family: its name without ``test_``, ``_cpu`` and variant suffixes."""
    base = re.sub(r"^test_|_cpu$", "", name)
    return base.split("_")[0]


def report(outcomes: list[Outcome]) -> str:
    counts = defaultdict(Counter)
    for o in outcomes:
        counts[o.kind][o.status] += 1
    lines = ["| kind | passed | failed | total |", "|---|---|---|---|"]
    for kind in KINDS:
        c = counts.get(kind)
        if c:
            lines.append(f"| {kind} | {c['pass']} | {c['fail']} | {sum(c.values())} |")
    by_reason: dict[str, list[str]] = defaultdict(list)
    for o in outcomes:
        if o.status == "fail":
            by_reason[o.message[:160]].append(o.name)
    lines.append("")
    for msg, names in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"- {len(names)}: {msg}\n    {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}")
    return "\n".join(lines)


def markdown(outcomes: list[Outcome]) -> str:
    """The counts table and the failures grouped by their expected-failure reason."""
    from tests.onnx_expected_failures import expected_failure

    counts = defaultdict(Counter)
    for o in outcomes:
        counts[o.kind][o.status] += 1
    lines = ["| suite | passed | failed | total |", "|---|---|---|---|"]
    for kind in KINDS:
        c = counts.get(kind)
        if c:
            lines.append(f"| {kind} | {c['pass']} | {c['fail']} | {sum(c.values())} |")
    groups: dict[str, list[str]] = defaultdict(list)
    for o in outcomes:
        if o.status == "fail":
            groups[expected_failure(o.name) or f"UNEXPECTED: {o.message[:120]}"].append(o.name)
    lines += ["", "| tests | reason | examples |", "|---|---|---|"]
    for reason, names in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(n[5:-4] for n in names[:3]) + (", ..." if len(names) > 3 else "")
        lines.append(f"| {len(names)} | {reason} | {shown} |")
    return "\n".join(lines)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    kinds = args[0].split(",") if args else list(KINDS)
    t0 = time.perf_counter()
    res = run_kinds(kinds)
    print(markdown(res) if "--markdown" in sys.argv else report(res))
    print(f"{time.perf_counter() - t0:.1f} s")
