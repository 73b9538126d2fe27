"""Type rules of the nn families stay valid when operand dims become symbolic or unknown.

For every op of reduce/norm/nn/pool/attention, a sample's static operand types are
generalized (each dim independently kept, renamed to a fresh symbol, or made
unknown); the rule must still accept them, and every result dim it infers must be
compatible with the static result (equal, or not static).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.opsamples import SAMPLES, Draw
from zenith.ir import REGISTRY, TensorType
from zenith.ir.opdef import infer_result_types
from zenith.ir.types import dims_compatible

FAMILIES = {f"zenith.dialects.zt.{m}" for m in ("reduce", "norm", "nn", "pool", "attention")}
OPS = sorted(n for n, od in REGISTRY.items()
             if od.infer is not None and od.infer.__module__ in FAMILIES)


class _Val:
    """A stand-in operand: the type rules only read ``.type``."""

    def __init__(self, t: TensorType) -> None:
        self.type = t


def test_families_are_registered():
    assert len(OPS) == 36, OPS


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_symbolic_dims_generalize_static_types(data):
    name = data.draw(st.sampled_from(OPS))
    d = Draw(data.draw)
    args, attrs = SAMPLES[name].gen(d, None)
    static = infer_result_types(REGISTRY[name], [_Val(a.type) for a in args], attrs)
    general = []
    for i, a in enumerate(args):
        dims = tuple(
            dim if k == 0 else (f"s{i}_{j}" if k == 1 else None)
            for j, (dim, k) in enumerate((dim, d.int(0, 2)) for dim in a.type.shape))
        general.append(_Val(a.type.with_shape(dims)))
    inferred = infer_result_types(REGISTRY[name], general, attrs)
    assert len(inferred) == len(static)
    for s, g in zip(static, inferred):
        assert s.dtype is g.dtype and s.rank == g.rank, (name, s, g)
        assert all(dims_compatible(x, y) for x, y in zip(s.shape, g.shape)), (name, s, g)
