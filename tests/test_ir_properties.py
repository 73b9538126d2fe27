"""Properties of the IR over random well-typed modules (issue: IR foundation).

(a) print -> parse -> print is identical and parse(print(m)) equals m;
(b) every generated module verifies;
(c) the interpreter agrees with an independent NumPy evaluation of the program.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.opsamples import SAMPLES
from tests.strategies import evaluate_oracle, programs
from zenith.interpreter import interpret
from zenith.ir import parse_module, print_module, structurally_equal, verify
from zenith.tolerance import assert_close

PROPS = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPS
@given(programs(symbolic=True, names=True))
def test_round_trip(p):
    text = print_module(p.module)
    again = parse_module(text, "roundtrip.zir")
    assert print_module(again) == text
    assert structurally_equal(again, p.module)


@PROPS
@given(programs(symbolic=True))
def test_generated_modules_verify(p):
    verify(p.module)


@PROPS
@given(programs(), st.integers(0, 2**31))
def test_interpreter_matches_numpy(p, seed):
    fn = p.module.main
    inputs = p.inputs(seed)
    got = interpret(fn, inputs)
    want = evaluate_oracle(fn, inputs)
    scale = 4.0 * max((SAMPLES[op.name].rtol_scale for op in fn.body
                       if op.name in SAMPLES), default=1.0)
    for i, (w, g) in enumerate(zip(want, got)):
        assert_close(w, g, scale=scale, what=f"result #{i}")
