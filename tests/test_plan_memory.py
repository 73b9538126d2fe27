"""``plan-memory``: lifetimes, in-place reuse, alignment, the lower bound, and the plan checker."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuse_util import kernels, run_and_compare
from zenith.ir import ZenithError, parse_module
from zenith.passes import run_pipeline
from zenith.passes.plan_memory import plan_errors
from zenith.passes.plan_memory.assign import assign_offsets, lower_bound
from zenith.passes.plan_memory.liveness import Buffer

P = "fuse,plan-memory"


def fn(args: str, rets: str, body: str) -> str:
    return f'func.func @main({args}) -> ({rets}) {{\n{body}\n}}\n'


def planned(text: str, pipeline: str = P):
    m = run_and_compare(text, pipeline)
    assert plan_errors(m.main) == []
    return m, {k.attr("name"): tuple(k.attr("offsets")) for k in kernels(m)}


T = "tensor<16x16xf32>"  # 1024 bytes


def _chain(second: str, second_type: str = T, tail: str = "") -> str:
    """cumsum (an opaque kernel) then ``second`` applied to its result, then ``tail``."""
    return fn(f"%x: {T}", second_type, f"""
  %a = "zt.cumsum"(%x) {{axis = 1}} : ({T}) -> {T}
  %b = {second}
{tail}""")


def test_elementwise_kernel_writes_over_an_input_that_dies_there():
    m, offs = planned(_chain(f'"zt.exp"(%a) : ({T}) -> {T}', tail=f'  "func.return"(%b) : ({T}) -> ()'))
    assert offs == {"k0_cumsum": (0,), "k1_exp": (0,)}
    assert m.main.attributes["arena_bytes"] == 1024 == m.main.attributes["arena_lower_bound"]
    assert m.main.attributes["arena_naive"] == 2048


def test_no_in_place_when_the_input_lives_on():
    text = fn(f"%x: {T}", f"{T}, {T}", f"""
  %a = "zt.cumsum"(%x) {{axis = 1}} : ({T}) -> {T}
  %b = "zt.exp"(%a) : ({T}) -> {T}
  %c = "zt.cumsum"(%b) {{axis = 0}} : ({T}) -> {T}
  %d = "zt.cumsum"(%a) {{axis = 0}} : ({T}) -> {T}
  "func.return"(%c, %d) : ({T}, {T}) -> ()""")
    _, offs = planned(text)
    assert offs["k1_exp"] != offs["k0_cumsum"]


@pytest.mark.parametrize("second, second_type", [
    (f'"zt.transpose"(%a) : ({T}) -> {T}', T),  # reads element (j, i) to write (i, j)
    (f'"zt.cast"(%a) {{to = f16}} : ({T}) -> tensor<16x16xf16>', "tensor<16x16xf16>"),  # other size
    (f'"zt.softmax"(%a) : ({T}) -> {T}', T),  # not an elementwise kernel
])
def test_no_in_place_when_it_is_not_index_for_index(second, second_type):
    m, offs = planned(_chain(second, second_type, f'  "func.return"(%b) : ({second_type}) -> ()'))
    first, then = offs.values()
    assert first != then
    assert m.main.attributes["arena_bytes"] >= 64 + m.main.args[0].type.nbytes


def test_no_in_place_over_a_broadcast_input():
    """Same bytes (f64[16] in, f32[2x16] out), but row 1 reads what row 0 would overwrite."""
    text = fn("%x: tensor<16xf64>, %y: tensor<2x16xf32>", "tensor<2x16xf32>", """
  %a = "zt.cumsum"(%x) {axis = 0} : (tensor<16xf64>) -> tensor<16xf64>
  %b = "zt.cast"(%a) {to = f32} : (tensor<16xf64>) -> tensor<16xf32>
  %c = "zt.add"(%b, %y) : (tensor<16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  "func.return"(%c) : (tensor<2x16xf32>) -> ()""")
    _, offs = planned(text)
    assert offs == {"k0_cumsum": (0,), "k1_cast_add": (128,)}


def test_views_extend_their_base_lifetime():
    text = fn(f"%x: {T}", "tensor<256xf32>", f"""
  %a = "zt.cumsum"(%x) {{axis = 1}} : ({T}) -> {T}
  %v = "zt.reshape"(%a) {{shape = [256]}} : ({T}) -> tensor<256xf32>
  %b = "zt.cumsum"(%a) {{axis = 0}} : ({T}) -> {T}
  %c = "zt.cumsum"(%b) {{axis = 0}} : ({T}) -> {T}
  %w = "zt.reshape"(%c) {{shape = [256]}} : ({T}) -> tensor<256xf32>
  %d = "zt.add"(%v, %w) : (tensor<256xf32>, tensor<256xf32>) -> tensor<256xf32>
  "func.return"(%d) : (tensor<256xf32>) -> ()""")
    m, offs = planned(text)
    # a is read (through %v) by the last kernel: it must not share bytes with b or c.
    a, b, c = offs["k0_cumsum"][0], offs["k1_cumsum"][0], offs["k2_cumsum"][0]
    assert a not in (b, c)
    assert m.main.attributes["arena_lower_bound"] == 3 * 1024  # a, b, c all live at the third kernel


def test_offsets_are_aligned_and_sizes_rounded_up():
    t = "tensor<3x5xf32>"  # 60 bytes: 64 in the arena
    text = fn(f"%x: {t}", f"{t}, {t}", f"""
  %a = "zt.cumsum"(%x) {{axis = 1}} : ({t}) -> {t}
  %b = "zt.cumsum"(%a) {{axis = 0}} : ({t}) -> {t}
  "func.return"(%a, %b) : ({t}, {t}) -> ()""")
    m, offs = planned(text)
    assert all(o % 64 == 0 for v in offs.values() for o in v)
    assert m.main.attributes["arena_bytes"] == 128 == m.main.attributes["arena_naive"]


def test_lower_bound_by_hand():
    # sizes 1, 2, 4 (x64) live over steps [0, 1], [1, 2], [2, 2]: peaks 3 at step 1, 6 at step 2
    bufs = [Buffer([], 64, 0, 1), Buffer([], 128, 1, 2), Buffer([], 256, 2, 2)]
    assert lower_bound(bufs, 3) == 384
    arena, _ = assign_offsets(bufs)
    assert arena == 384  # b0 and b2 never live together: they can share bytes
    spans = [(b.offset, b.offset + b.size, b.start, b.end) for b in bufs]
    for i, (o1, e1, s1, t1) in enumerate(spans):
        for o2, e2, s2, t2 in spans[i + 1:]:
            assert not (s1 <= t2 and s2 <= t1 and o1 < e2 and o2 < e1)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(1, 8), st.integers(0, 9), st.integers(0, 4)), min_size=1,
                max_size=30))
def test_assignment_is_valid_and_between_the_bounds(specs):
    bufs = [Buffer([], 64 * s, a, a + d) for s, a, d in specs]
    arena, _ = assign_offsets(bufs)
    assert lower_bound(bufs, 20) <= arena <= sum(b.size for b in bufs)
    for i, a in enumerate(bufs):
        assert a.offset % 64 == 0 and a.offset + a.size <= arena
        for b in bufs[i + 1:]:
            if a.start <= b.end and b.start <= a.end:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset


def _planned_text() -> str:
    m, _ = planned(_chain(f'"zt.exp"(%a) : ({T}) -> {T}', tail=f"""
  %c = "zt.cumsum"(%b) {{axis = 0}} : ({T}) -> {T}
  %d = "zt.add"(%c, %b) : ({T}, {T}) -> {T}
  "func.return"(%d) : ({T}) -> ()"""))
    from zenith.ir import print_module
    return print_module(m)


@pytest.mark.parametrize("edit, message", [
    (lambda offs: [o + 32 for o in offs], "not a multiple of 64"),
    (lambda offs: [0 for _ in offs], "overlap while both live"),
    (lambda offs: [o + 4096 for o in offs], "lies outside the arena"),
])
def test_plan_checker_catches_broken_plans(edit, message):
    m = parse_module(_planned_text())
    ks = kernels(m)
    for k in ks:
        k.attributes["offsets"] = tuple(edit(list(k.attr("offsets"))))
    errors = plan_errors(m.main)
    assert errors and any(message in e for e in errors), errors


def test_plan_checker_accepts_the_planners_in_place_and_rejects_a_forged_one():
    m = parse_module(_planned_text())
    assert plan_errors(m.main) == []
    names = {k.attr("name"): k for k in kernels(m)}
    assert names["k1_exp"].attr("offsets") == names["k0_cumsum"].attr("offsets")  # in place
    # put c (cumsum: not elementwise) over b, which the add still reads: both live, same bytes
    names["k2_cumsum"].attributes["offsets"] = names["k1_exp"].attr("offsets")
    assert any("overlap" in e for e in plan_errors(m.main))


def test_unfused_or_dynamic_functions_are_skipped_or_rejected():
    text = fn(f"%x: {T}", T, f'  %a = "zt.exp"(%x) : ({T}) -> {T}\n  "func.return"(%a) : ({T}) -> ()')
    m = parse_module(text)
    stats = run_pipeline(m, "plan-memory").records[0].stats
    assert stats["functions-skipped"] == 1 and "arena_bytes" not in m.main.attributes
    with pytest.raises(ZenithError, match="'zt.exp' is outside every kernel"):
        run_pipeline(parse_module(text), "plan-memory{strict=true}")
    dyn = text.replace(T, "tensor<?x16xf32>")
    with pytest.raises(ZenithError, match="non-static type"):
        run_pipeline(parse_module(dyn), "fuse,plan-memory{strict=true}")


def test_statistics_report_the_arena():
    m = parse_module(_chain(f'"zt.exp"(%a) : ({T}) -> {T}', tail=f'  "func.return"(%b) : ({T}) -> ()'))
    stats = run_pipeline(m, P).records[1].stats
    assert stats["arena-bytes"] == 1024 and stats["arena-lower-bound"] == 1024
    assert stats["arena-naive"] == 2048 and stats["in-place"] == 1 and stats["buffers"] == 1


def test_planned_results_run_unchanged():
    """The interpreter ignores offsets; this pins that planning changes nothing else."""
    text = _chain(f'"zt.exp"(%a) : ({T}) -> {T}', tail=f'  "func.return"(%b) : ({T}) -> ()')
    m = run_and_compare(text, P, inputs=[np.ones((16, 16), np.float32)])
    assert m.main.attributes["arena_bytes"] == 1024
