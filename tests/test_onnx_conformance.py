"""The ONNX backend test suite (shipped in the ``onnx`` package) run against Zenith.

Each part runs its tests in this process through ``zenith.onnx_backend`` and
checks the outcome against ``tests/onnx_expected_failures.py``: an unlisted
failure, or a listed test that now passes, fails the test. The pass counts are
printed to the terminal. docs/conformance.md has the numbers and the command.
"""

from __future__ import annotations

import pytest

from tests.onnx_expected_failures import expected_failure, unused_patterns
from tests.onnx_suite import run_kinds

PARTS = {
    "node": ["node"],
    "models": ["simple", "pytorch-converted", "pytorch-operator"],
    "light": ["light"],
}


@pytest.mark.parametrize("part", sorted(PARTS))
def test_onnx_backend_suite(part: str, capsys: pytest.CaptureFixture) -> None:
    outcomes = run_kinds(PARTS[part])
    assert outcomes, "no ONNX backend tests were collected"
    passed = [o for o in outcomes if o.status == "pass"]
    failed = {o.name: o for o in outcomes if o.status == "fail"}
    listed = {o.name for o in outcomes if expected_failure(o.name)}
    with capsys.disabled():
        for kind in PARTS[part]:
            mine = [o for o in outcomes if o.kind == kind]
            ok = sum(o.status == "pass" for o in mine)
            print(f"\n[onnx backend suite] {kind}: Zenith passes {ok} of {len(mine)} tests")
    unexpected = sorted(set(failed) - listed)
    assert not unexpected, "unexpected failures:\n" + "\n".join(
        f"  {n}: {failed[n].message[:300]}" for n in unexpected)
    now_passing = sorted(listed - set(failed))
    assert not now_passing, ("tests listed as expected failures now pass; remove them from "
                             "tests/onnx_expected_failures.py:\n  " + "\n  ".join(now_passing))
    assert len(passed) + len(failed) == len(outcomes)


def test_expected_failure_patterns_are_live() -> None:
    """Every entry of the expected-failure list still names at least one suite test."""
    from tests.onnx_suite import suite_items

    names = [n for items in suite_items().values() for n in items]
    stale = unused_patterns(names)
    assert not stale, f"expected-failure patterns that match no test: {stale}"
