"""``cse`` and ``dce``: what they merge and erase, and what they must leave alone."""

from __future__ import annotations

import numpy as np

from zenith.interpreter import interpret
from zenith.ir import parse_module, print_module, verify
from zenith.passes import run_pipeline
from zenith.passes.cse import cse_block
from zenith.passes.dce import dce_block


def body_names(fn) -> list[str]:
    return [op.name for op in fn.body][:-1]


def test_cse_merges_duplicates_and_commutative_swaps_only():
    m = parse_module("""
func.func @main(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
                                                           tensor<4xf32>) {
  %a = "zt.add"(%x, %y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %b = "zt.add"(%y, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %c = "zt.sub"(%x, %y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %d = "zt.sub"(%y, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%a, %b, %c, %d) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> ()
}""")
    x, y = np.array([1, 2, 3, 4], np.float32), np.array([5, 0, -1, 2], np.float32)
    run_pipeline(m, "cse")
    assert body_names(m.main) == ["zt.add", "zt.sub", "zt.sub"]
    a, b, c, d = interpret(m, [x, y])
    np.testing.assert_array_equal(a, x + y)
    np.testing.assert_array_equal(b, x + y)
    np.testing.assert_array_equal(c, x - y)
    np.testing.assert_array_equal(d, y - x)


def test_cse_compares_attributes_with_defaults_filled_in():
    m = parse_module("""
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %a = "zt.leaky_relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = "zt.leaky_relu"(%x) {alpha = 0.01} : (tensor<4xf32>) -> tensor<4xf32>
  %c = "zt.leaky_relu"(%x) {alpha = 0.2} : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%a, %b, %c) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> ()
}""")
    run_pipeline(m, "cse")
    assert body_names(m.main) == ["zt.leaky_relu", "zt.leaky_relu"]


def test_cse_merges_equal_constants_but_not_different_ones():
    m = parse_module("""
func.func @main() -> (tensor<2xf32>, tensor<2xf32>, tensor<2xi32>) {
  %a = "zt.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %b = "zt.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %c = "zt.constant"() {value = dense<[1, 2]> : tensor<2xi32>} : () -> tensor<2xi32>
  "func.return"(%a, %b, %c) : (tensor<2xf32>, tensor<2xf32>, tensor<2xi32>) -> ()
}""")
    run_pipeline(m, "cse")
    assert body_names(m.main) == ["zt.constant", "zt.constant"]


REGION_TEXT = """
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
  %outer = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %k = "test.kernel"(%x) (
    {
    ^bb0(%a: tensor<4xf32>):
      %e1 = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
      %e2 = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
      %dead = "zt.tanh"(%a) : (tensor<4xf32>) -> tensor<4xf32>
      %s = "zt.add"(%e1, %e2) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      "test.yield"(%s) : (tensor<4xf32>) -> ()
    }) : (tensor<4xf32>) -> tensor<4xf32>
  %dead_outer = "zt.tanh"(%k) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%outer) : (tensor<4xf32>) -> ()
}"""


def test_cse_works_inside_regions_without_reaching_out():
    m = parse_module(REGION_TEXT, allow_unregistered=True)
    assert cse_block(m.main.body) == 1
    kernel = m.main.body.first.next
    inner = [op.name for op in kernel.regions[0].blocks[0]]
    assert inner == ["zt.exp", "zt.tanh", "zt.add", "test.yield"]  # e2 merged into e1, not into %outer
    assert m.main.body.first.name == "zt.exp"


def test_dce_erases_inside_regions_and_keeps_unknown_ops():
    m = parse_module(REGION_TEXT, allow_unregistered=True)
    assert dce_block(m.main.body) == 2  # %dead inside, %dead_outer outside
    kernel = m.main.body.first.next
    assert kernel.name == "test.kernel"  # not known to be pure: kept although unused
    assert "zt.tanh" not in print_module(m)


def test_dce_erases_whole_dead_chains_and_keeps_arguments():
    m = parse_module("""
func.func @main(%x: tensor<4xf32>, %unused: tensor<4xf32>) -> (tensor<4xf32>) {
  %a = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = "zt.tanh"(%a) : (tensor<4xf32>) -> tensor<4xf32>
  %c = "zt.add"(%b, %a) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %live = "zt.neg"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%live) : (tensor<4xf32>) -> ()
}""")
    run_pipeline(m, "dce")
    assert body_names(m.main) == ["zt.neg"]
    assert len(m.main.args) == 2
    verify(m)
