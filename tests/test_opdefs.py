"""Every registered op is declared consistently and has a sample with an oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.opsamples import SAMPLES, Draw, random_array
from zenith.interpreter import interpret
from zenith.ir import REGISTRY, Builder, DenseAttr, Function, Module
from zenith.tolerance import assert_close

# Ops with regions are tested on their own (tests/test_zk.py).
STRUCTURAL = {"builtin.module", "func.func", "func.return", "zk.fused"}
OPS = sorted(n for n in REGISTRY if n not in STRUCTURAL and not REGISTRY[n].traits & {"terminator"})


def test_every_op_has_a_sample_with_an_oracle():
    missing = [n for n in OPS if n not in SAMPLES]
    assert not missing, f"ops without a sample in tests/opsamples: {missing}"
    no_oracle = [n for n in OPS if SAMPLES[n].oracle is None and n in SAMPLES]
    assert not no_oracle, f"samples without an oracle: {no_oracle}"


def test_every_op_is_documented():
    assert not [n for n in OPS if not REGISTRY[n].doc], "ops without doc"


@pytest.mark.parametrize("name", [n for n in OPS if n in SAMPLES])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_op_sample_matches_oracle(name, data):
    """One op on its own: type rule, verifier, reference and oracle agree."""
    s = SAMPLES[name]
    args, attrs = s.gen(Draw(data.draw), None)
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    operands, specs = [], []
    for a in args:
        if a.const is not None:
            operands.append(b.op("zt.constant", value=DenseAttr(a.const)))
        else:
            operands.append(fn.body.add_arg(a.type))
            specs.append(a)
    op = s.create(b, operands, attrs)
    b.create("func.return", op.results)
    fn.sync_signature()
    from zenith.ir import verify

    verify(m)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    inputs = [random_array(rng, a) for a in specs]
    got = interpret(m, inputs)
    it = iter(inputs)
    full = [a.const if a.const is not None else next(it) for a in args]
    want = s.oracle(full, dict(op.attributes))
    want = list(want) if isinstance(want, (list, tuple)) else [want]
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert_close(np.asarray(w), g, scale=2 * s.rtol_scale, what=f"{name} result #{i}")
