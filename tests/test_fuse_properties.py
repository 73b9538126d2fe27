"""``fuse`` and ``fuse,plan-memory`` on random programs: same results, sane partitions.

Two sources: the programs of ``tests/strategies.py`` (every op with a sample)
and the fusion-shaped programs of ``tests/fuse_programs.py`` (chains, anchors,
views, decomposed patterns). The expected results are the interpreter's on the
program before the pass (each op's reference is checked against an independent
oracle by the op tests).
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.fuse_programs import fusion_programs
from tests.fuse_util import run_and_compare
from tests.opsamples import SAMPLES
from tests.strategies import programs
from zenith.interpreter import interpret
from zenith.ir import ZenithError, verify
from zenith.passes.fuse import partition_errors
from zenith.passes.plan_memory import plan_errors, unplannable

PROPS = settings(max_examples=200, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(p, pipeline: str, seed: int) -> None:
    inputs = p.inputs(seed)
    try:  # the symbolic variant can draw programs that do not verify or run (not fuse's job)
        verify(p.module)
        interpret(p.module, inputs)
    except ZenithError:
        assume(False)
    fn = p.module.main
    scale = 4.0 * max((SAMPLES[op.name].rtol_scale for op in fn.body if op.name in SAMPLES), default=1.0)
    run_and_compare(p.module, pipeline, scale=scale, inputs=inputs)
    fn = p.module.main
    assert partition_errors(fn) == []
    if "plan-memory" in pipeline and unplannable(fn) is None:  # data-dependent shapes are not planned
        assert plan_errors(fn) == []
        a = fn.attributes
        assert a["arena_lower_bound"] <= a["arena_bytes"] <= a["arena_naive"]


@PROPS
@given(programs(max_ops=8), st.sampled_from(["fuse", "fuse,plan-memory"]), st.integers(0, 2**31))
def test_fuse_keeps_results_of_random_programs(p, pipeline, seed):
    _check(p, pipeline, seed)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(max_ops=6, symbolic=True), st.integers(0, 2**31))
def test_fuse_handles_symbolic_shapes(p, seed):
    _check(p, "fuse{no-patterns=true},fuse", seed)


FUSION_PIPELINES = ["fuse", "fuse,plan-memory", "fuse{max-group-size=3},plan-memory",
                    "fuse{no-patterns=true},plan-memory", "fuse,canonicalize,cse,fuse,plan-memory"]


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fusion_programs(), st.sampled_from(FUSION_PIPELINES), st.integers(0, 2**31))
def test_fuse_keeps_results_of_fusion_shaped_programs(m, pipeline, seed):
    run_and_compare(m, pipeline, seed=seed)
    fn = m.main
    assert partition_errors(fn) == []
    if "plan-memory" in pipeline:
        assert plan_errors(fn) == []
        a = fn.attributes
        assert a["arena_lower_bound"] <= a["arena_bytes"] <= a["arena_naive"]
