"""The partition and outlining of ``fuse`` (patterns off): what shares a kernel, and what must not."""

from __future__ import annotations

import re

import pytest

from tests.fuse_util import body_ops, kernel_ops, kernels, run_and_compare
from zenith.ir import parse_module, print_module
from zenith.passes import run_pipeline
from zenith.passes.fuse import PartitionError, check_partition

NP = "fuse{no-patterns=true}"
F = "tensor<4x8xf32>"


def fn(args: str, rets: str, body: str) -> str:
    return f'func.func @main({args}) -> ({rets}) {{\n{body}\n}}\n'


def test_elementwise_chain_is_one_kernel_with_views_inside():
    m = run_and_compare(fn(f"%x: {F}, %y: {F}", "tensor<32xf32>", f"""
  %a = "zt.exp"(%x) : ({F}) -> {F}
  %b = "zt.mul"(%a, %y) : ({F}, {F}) -> {F}
  %t = "zt.transpose"(%b) : ({F}) -> tensor<8x4xf32>
  %r = "zt.reshape"(%t) {{shape = [32]}} : (tensor<8x4xf32>) -> tensor<32xf32>
  %s = "zt.sigmoid"(%r) : (tensor<32xf32>) -> tensor<32xf32>
  "func.return"(%s) : (tensor<32xf32>) -> ()"""), NP)
    [k] = kernels(m)
    assert k.attr("kind") == "elementwise"
    assert body_ops(k) == ["zt.exp", "zt.mul", "zt.transpose", "zt.reshape", "zt.sigmoid"]
    assert re.fullmatch(r"k0_exp_mul_transpose_sigmoid", k.attr("name"))
    assert [op.name for op in m.main.body] == ["zk.fused", "func.return"]


def test_anchor_takes_an_elementwise_epilogue_and_yields_values_read_outside():
    h = "tensor<4x16xf32>"
    m = run_and_compare(fn(f"%x: {F}, %w: tensor<16x8xf32>, %b: tensor<16xf32>, %r: {h}", f"{h}, {h}", f"""
  %h = "zt.linear"(%x, %w, %b) : ({F}, tensor<16x8xf32>, tensor<16xf32>) -> {h}
  %g = "zt.gelu"(%h) : ({h}) -> {h}
  %a = "zt.add"(%g, %r) : ({h}, {h}) -> {h}
  "func.return"(%a, %h) : ({h}, {h}) -> ()"""), NP)
    [k] = kernels(m)
    assert k.attr("kind") == "matmul" and k.attr("name") == "k0_linear_gelu_add"
    assert body_ops(k) == ["zt.linear", "zt.gelu", "zt.add"]
    assert len(k.results) == 2  # the residual sum and the linear output (returned too)


def test_epilogue_must_keep_the_anchor_shape():
    """A broadcasting consumer would change the kernel's index space: not an epilogue."""
    args = "%x: tensor<4x8xf32>, %w: tensor<8x1xf32>, %y: tensor<4x3xf32>"
    m = run_and_compare(fn(args, "tensor<4x3xf32>", """
  %h = "zt.matmul"(%x, %w) : (tensor<4x8xf32>, tensor<8x1xf32>) -> tensor<4x1xf32>
  %a = "zt.add"(%h, %y) : (tensor<4x1xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  "func.return"(%a) : (tensor<4x3xf32>) -> ()"""), NP)
    assert kernel_ops(m) == [["zt.matmul"], ["zt.add"]]


def test_reduction_takes_a_prologue_only_when_nothing_else_reads_it():
    body = f"""
  %a = "zt.mul"(%x, %y) : ({F}, {F}) -> {F}
  %e = "zt.exp"(%a) : ({F}) -> {F}
  %s = "zt.softmax"(%e) : ({F}) -> {F}
  "func.return"(%s{{extra}}) : ({F}{{extra_t}}) -> ()"""
    m = run_and_compare(fn(f"%x: {F}, %y: {F}", F, body.format(extra="", extra_t="")), NP)
    assert kernel_ops(m) == [["zt.mul", "zt.exp", "zt.softmax"]]
    assert kernels(m)[0].attr("kind") == "reduction"
    m = run_and_compare(fn(f"%x: {F}, %y: {F}", f"{F}, {F}", body.format(extra=", %a", extra_t=f", {F}")), NP)
    # mul is returned too: it cannot be a prologue; exp, read only by softmax, can.
    assert kernel_ops(m) == [["zt.mul"], ["zt.exp", "zt.softmax"]]


def test_matmul_takes_no_prologue():
    m = run_and_compare(fn(f"%x: {F}, %w: tensor<8x8xf32>", F, f"""
  %a = "zt.relu"(%x) : ({F}) -> {F}
  %h = "zt.matmul"(%a, %w) : ({F}, tensor<8x8xf32>) -> {F}
  "func.return"(%h) : ({F}) -> ()"""), NP)
    assert kernel_ops(m) == [["zt.relu"], ["zt.matmul"]]


def test_fusing_around_a_third_kernel_would_make_a_cycle():
    """A -> B -> C and A -> C with B opaque: A and C must not share a kernel."""
    m = run_and_compare(fn(f"%x: {F}", F, f"""
  %a = "zt.exp"(%x) : ({F}) -> {F}
  %b = "zt.cumsum"(%a) {{axis = 1}} : ({F}) -> {F}
  %c = "zt.add"(%a, %b) : ({F}, {F}) -> {F}
  "func.return"(%c) : ({F}) -> ()"""), NP)
    assert kernel_ops(m) == [["zt.exp"], ["zt.cumsum"], ["zt.add"]]
    assert kernels(m)[1].attr("kind") == "opaque"


def test_cycle_through_an_anchor_leaves_the_epilogue_to_the_anchor():
    """A -> B(matmul) -> C and A -> C: C joins B's epilogue, never A."""
    m = run_and_compare(fn(f"%x: {F}, %w: tensor<8x8xf32>", F, f"""
  %a = "zt.exp"(%x) : ({F}) -> {F}
  %b = "zt.matmul"(%a, %w) : ({F}, tensor<8x8xf32>) -> {F}
  %c = "zt.add"(%a, %b) : ({F}, {F}) -> {F}
  "func.return"(%c) : ({F}) -> ()"""), NP)
    assert kernel_ops(m) == [["zt.exp"], ["zt.matmul", "zt.add"]]


def test_views_and_constants_stay_outside_kernels():
    m = run_and_compare(fn(f"%x: {F}, %w: tensor<8x8xf32>", "tensor<32xf32>, tensor<32xf32>", f"""
  %c = "zt.constant"() {{value = dense<2.0> : tensor<f32>}} : () -> tensor<f32>
  %h = "zt.matmul"(%x, %w) : ({F}, tensor<8x8xf32>) -> {F}
  %r = "zt.reshape"(%h) {{shape = [32]}} : ({F}) -> tensor<32xf32>
  %s = "zt.mul"(%r, %c) : (tensor<32xf32>, tensor<f32>) -> tensor<32xf32>
  "func.return"(%s, %r) : (tensor<32xf32>, tensor<32xf32>) -> ()"""), NP)
    names = [op.name for op in m.main.body]
    assert names == ["zt.constant", "zk.fused", "zt.reshape", "zk.fused", "func.return"]
    assert kernel_ops(m) == [["zt.matmul"], ["zt.mul"]]


def test_expensive_producer_is_not_recomputed_per_broadcast_element():
    body = """
  %a = "zt.{op}"(%v) : (tensor<8xf32>) -> tensor<8xf32>
  %b = "zt.add"(%a, %x) : (tensor<8xf32>, tensor<64x8xf32>) -> tensor<64x8xf32>
  "func.return"(%b) : (tensor<64x8xf32>) -> ()"""
    args = "%v: tensor<8xf32>, %x: tensor<64x8xf32>"
    m = run_and_compare(fn(args, "tensor<64x8xf32>", body.format(op="exp")), NP)
    assert kernel_ops(m) == [["zt.exp"], ["zt.add"]]
    m = run_and_compare(fn(args, "tensor<64x8xf32>", body.format(op="neg")), NP)
    assert kernel_ops(m) == [["zt.neg", "zt.add"]]


def test_elementwise_kernel_outputs_share_one_shape():
    m = run_and_compare(fn("%x: tensor<8xf32>, %y: tensor<4x8xf32>", "tensor<8xf32>, tensor<4x8xf32>", """
  %a = "zt.neg"(%x) : (tensor<8xf32>) -> tensor<8xf32>
  %b = "zt.add"(%a, %y) : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%a, %b) : (tensor<8xf32>, tensor<4x8xf32>) -> ()"""), NP)
    assert kernel_ops(m) == [["zt.neg"], ["zt.add"]]


def test_max_group_size_caps_kernels():
    ops = "\n".join(f'  %v{i + 1} = "zt.neg"(%v{i}) : ({F}) -> {F}' for i in range(10))
    text = fn(f"%v0: {F}", F, ops + f'\n  "func.return"(%v10) : ({F}) -> ()')
    m = run_and_compare(text, "fuse{no-patterns=true max-group-size=4}")
    assert [len(k) for k in kernel_ops(m)] == [4, 4, 2]


def test_running_fuse_again_partitions_afresh():
    text = fn(f"%x: {F}", F, f"""
  %a = "zt.exp"(%x) : ({F}) -> {F}
  %b = "zt.neg"(%a) : ({F}) -> {F}
  "func.return"(%b) : ({F}) -> ()""")
    m = run_and_compare(text, f"{NP},plan-memory,{NP}")
    assert kernel_ops(m) == [["zt.exp", "zt.neg"]]
    assert kernels(m)[0].attr("name") == "k0_exp_neg"
    assert "arena_bytes" not in m.main.attributes  # the old plan described the old kernels


def test_fuse_after_canonicalize_folded_a_kernel_body():
    """canonicalize may fold a body to a constant; fuse inlines it and partitions again."""
    text = fn(f"%x: {F}", f"tensor<i64>, {F}", f"""
  %s = "zt.size"(%x) : ({F}) -> tensor<i64>
  %a = "zt.exp"(%x) : ({F}) -> {F}
  "func.return"(%s, %a) : (tensor<i64>, {F}) -> ()""")
    m = run_and_compare(text, "fuse,canonicalize,fuse")
    assert kernel_ops(m) == [["zt.exp"]]
    assert [op.name for op in m.main.body] == ["zt.constant", "zk.fused", "func.return"]


def test_statistics_and_report(capsys):
    m = parse_module(fn(f"%x: {F}", F, f"""
  %a = "zt.exp"(%x) : ({F}) -> {F}
  %b = "zt.neg"(%a) : ({F}) -> {F}
  %c = "zt.cumsum"(%b) {{axis = 1}} : ({F}) -> {F}
  "func.return"(%c) : ({F}) -> ()"""))
    rep = run_pipeline(m, "fuse{no-patterns=true report=true}")
    stats = rep.records[0].stats
    assert stats["kernels"] == 2 and stats["ops-fused"] == 2 and stats["merges"] == 1
    # exp reads x and writes a, neg reads a and writes b: fused, a never touches memory.
    assert stats["bytes-saved"] == 2 * 4 * 8 * 4
    err = capsys.readouterr().err
    assert "fusion report for @main: 2 kernels (1 elementwise, 1 opaque)" in err
    assert re.search(r"k0_exp_neg\s+elementwise\s+2 ops\s+in\s+1\s+out\s+1\s+saved 256 B", err)
    assert "zt.exp, zt.neg" in err


def _kernel_text(body: str, kind: str = "elementwise", ret: str = "%r") -> str:
    return fn(f"%x: {F}", F, f"""
  %r = "zk.fused"(%x) ({{
  ^bb0(%a: {F}):
{body}
  }}) {{kind = "{kind}", name = "k0"}} : ({F}) -> {F}
  "func.return"({ret}) : ({F}) -> ()""")


@pytest.mark.parametrize("body, kind, message", [
    (f'    %m = "zt.matmul"(%a, %a) : ({F}, {F}) -> {F}\n    "zk.yield"(%m) : ({F}) -> ()', "elementwise",
     "is elementwise but holds zt.matmul"),
    (f'    %m = "zt.softmax"(%a) : ({F}) -> {F}\n    %n = "zt.softmax"(%m) : ({F}) -> {F}\n'
     f'    "zk.yield"(%n) : ({F}) -> ()', "reduction", "has 2 anchors"),
    (f'    %m = "zt.exp"(%a) : ({F}) -> {F}\n    "zk.yield"(%m) : ({F}) -> ()', "opaque",
     "is opaque but 'zt.exp' has a fusion story"),
    (f'    %m = "zt.exp"(%x) : ({F}) -> {F}\n    "zk.yield"(%m) : ({F}) -> ()', "elementwise",
     "reads operand #0 from outside the kernel"),
    (f'    %m = "zt.exp"(%a) : ({F}) -> {F}\n    "zk.yield"(%m) : ({F}) -> ()', "matmul",
     "without exactly one matmul anchor"),
])
def test_sanity_check_rejects_broken_kernels(body, kind, message):
    m = parse_module(_kernel_text(body, kind))
    with pytest.raises(PartitionError, match=message):
        check_partition(m.main)


def test_sanity_check_rejects_ops_outside_kernels_and_duplicate_names():
    loose = f'  %a = "zt.exp"(%x) : ({F}) -> {F}\n  "func.return"(%a) : ({F}) -> ()'
    m = parse_module(fn(f"%x: {F}", F, loose))
    with pytest.raises(PartitionError, match="'zt.exp' is outside every kernel"):
        check_partition(m.main)
    one = f'    %m = "zt.exp"(%a) : ({F}) -> {F}\n    "zk.yield"(%m) : ({F}) -> ()'
    text = _kernel_text(one)
    second = (f'  %s = "zk.fused"(%r) ({{\n  ^bb0(%a: {F}):\n{one}\n'
              f'  }}) {{kind = "elementwise", name = "k0"}} : ({F}) -> {F}\n  "func.return"')
    dup = text.replace('  "func.return"', second).replace('"func.return"(%r)', '"func.return"(%s)')
    with pytest.raises(PartitionError, match="name used twice"):
        check_partition(parse_module(dup).main)


def test_fused_ir_round_trips():
    m = run_and_compare(fn(f"%x: {F}, %w: tensor<8x8xf32>", F, f"""
  %h = "zt.matmul"(%x, %w) : ({F}, tensor<8x8xf32>) -> {F}
  %g = "zt.relu"(%h) : ({F}) -> {F}
  "func.return"(%g) : ({F}) -> ()"""), NP)
    text = print_module(m)
    assert print_module(parse_module(text)) == text
