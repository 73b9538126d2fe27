"""``constant-fold``: evaluating all-constant ops, within the size limit."""

from __future__ import annotations

import io

import numpy as np

from zenith.interpreter import interpret
from zenith.ir import parse_module
from zenith.passes import PassManager, run_pipeline
from zenith.passes.instrument import StatisticsReport

TEXT = """
func.func @main(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>) {
  %a = "zt.constant"() {value = dense<[1.0, -2.0, 3.0, 0.5, 4.0, -1.0]> : tensor<2x3xf32>}
       : () -> tensor<2x3xf32>
  %b = "zt.constant"() {value = dense<2.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %m = "zt.mul"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %e = "zt.exp"(%m) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %t = "zt.transpose"(%e) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %y = "zt.add"(%x, %m) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"(%y, %t) : (tensor<2x3xf32>, tensor<3x2xf32>) -> ()
}
"""
A = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], np.float32)


def test_folds_chains_of_constant_ops_and_erases_their_inputs():
    m = parse_module(TEXT)
    out = io.StringIO()
    PassManager.parse("constant-fold", instrumentations=[StatisticsReport(out)]).run(m)
    names = [op.name for op in m.main.body][:-1]
    assert names == ["zt.constant", "zt.constant", "zt.add"]
    assert "(S) 3 ops-folded" in out.getvalue()
    assert "(S) 3 constants-erased" in out.getvalue()  # %a, %b and the folded %e
    x = np.full((2, 3), 0.25, np.float32)
    y, t = interpret(m, [x])
    np.testing.assert_allclose(y, x + A * 2, rtol=1e-6)
    np.testing.assert_allclose(t, np.exp(A * 2).T, rtol=1e-6)


def test_size_limit_leaves_large_results_alone():
    m = parse_module(TEXT)
    run_pipeline(m, "constant-fold{size-limit=5}")
    assert [op.name for op in m.main.body][:-1] == [
        "zt.constant", "zt.constant", "zt.mul", "zt.exp", "zt.transpose", "zt.add"]


def test_ops_with_non_constant_operands_are_untouched():
    m = parse_module("""
func.func @main(%x: tensor<3xi32>) -> (tensor<3xi32>) {
  %c = "zt.constant"() {value = dense<[1, 2, 3]> : tensor<3xi32>} : () -> tensor<3xi32>
  %y = "zt.add"(%x, %c) : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  "func.return"(%y) : (tensor<3xi32>) -> ()
}""")
    run_pipeline(m, "constant-fold")
    assert [op.name for op in m.main.body][:-1] == ["zt.constant", "zt.add"]
