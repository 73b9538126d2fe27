"""``fuse`` and ``fuse,plan-memory`` on random programs: same results, sane partitions.

The programs come from ``tests/strategies.py`` (every op with a sample); the
expected results from the samples' independent oracles.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.opsamples import SAMPLES
from tests.strategies import evaluate_oracle, programs
from zenith.interpreter import interpret
from zenith.ir import verify
from zenith.passes import run_pipeline
from zenith.passes.fuse import partition_errors
from zenith.passes.plan_memory import plan_errors, unplannable
from zenith.tolerance import assert_close

PROPS = settings(max_examples=200, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(p, pipeline: str, seed: int) -> None:
    fn = p.module.main
    inputs = p.inputs(seed)
    want = evaluate_oracle(fn, inputs)
    scale = 4.0 * max((SAMPLES[op.name].rtol_scale for op in fn.body if op.name in SAMPLES), default=1.0)
    run_pipeline(p.module, pipeline)
    verify(p.module)
    assert partition_errors(p.module.main) == []
    fn = p.module.main
    if "plan-memory" in pipeline and unplannable(fn) is None:  # data-dependent shapes are not planned
        assert plan_errors(fn) == []
        a = fn.attributes
        assert a["arena_lower_bound"] <= a["arena_bytes"] <= a["arena_naive"]
    got = interpret(p.module, inputs)
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert_close(np.asarray(w), g, scale=scale, what=f"{pipeline}: result #{i}")


@PROPS
@given(programs(max_ops=8), st.sampled_from(["fuse", "fuse,plan-memory"]), st.integers(0, 2**31))
def test_fuse_keeps_results_of_random_programs(p, pipeline, seed):
    _check(p, pipeline, seed)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(max_ops=6, symbolic=True), st.integers(0, 2**31))
def test_fuse_handles_symbolic_shapes(p, seed):
    _check(p, "fuse{no-patterns=true},fuse", seed)
