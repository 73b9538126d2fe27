"""The greedy worklist driver and the rewriter it hands to patterns."""

from __future__ import annotations

import numpy as np
import pytest

from zenith.interpreter import interpret
from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, dtype, parse_module, verify
from zenith.ir.rewrite import CountingListener, PatternRewriter, RewriteError, pattern
from zenith.passes.driver import PatternSet, apply_patterns_greedily

F4 = TensorType(dtype("f32"), (4,))


def chain(ops: list[str]) -> Module:
    """main(x) = ops[-1](...ops[0](x))."""
    m = Module()
    fn = m.add_function(Function("main", [F4], []))
    b = Builder.at_end(fn.body)
    v = fn.args[0]
    for name in ops:
        v = b.op(name, v)
    b.create("func.return", [v])
    fn.sync_signature()
    return m


def names(m: Module) -> list[str]:
    return [op.name for op in m.main.body][:-1]


@pattern("zt.exp")
def exp_to_tanh(op, rw):
    rw.replace_op(op, [rw.op("zt.tanh", op.operand(0))])
    return True


@pattern("zt.tanh")
def tanh_to_sin(op, rw):
    rw.replace_op(op, [rw.op("zt.sin", op.operand(0))])
    return True


def test_runs_to_a_fixpoint_and_reports_convergence():
    m = chain(["zt.exp", "zt.exp", "zt.abs"])
    res = apply_patterns_greedily(m.main, [exp_to_tanh, tanh_to_sin])
    assert names(m) == ["zt.sin", "zt.sin", "zt.abs"]
    assert res.converged
    assert res.patterns_applied == 4
    assert res.applied_by_pattern == {"exp_to_tanh": 2, "tanh_to_sin": 2}
    assert res.iterations == 2  # one sweep that rewrites, one that confirms
    verify(m)


def test_iteration_cap_reports_not_converged():
    m = chain(["zt.exp"])
    res = apply_patterns_greedily(m.main, [exp_to_tanh], max_iterations=1)
    assert not res.converged
    assert res.iterations == 1
    assert names(m) == ["zt.tanh"]


def test_a_cycle_stops_at_the_rewrite_cap():
    @pattern("zt.add")
    def swap(op, rw):
        with rw.modify(op):
            op.set_operands(list(reversed(op.operands)))
        return True

    m = parse_module("""
func.func @main(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>) {
  %s = "zt.add"(%x, %y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%s) : (tensor<4xf32>) -> ()
}""")
    res = apply_patterns_greedily(m.main, [swap], max_rewrites=7)
    assert not res.converged
    assert res.patterns_applied == 7
    res = apply_patterns_greedily(m.main, [swap])  # default cap: still terminates
    assert not res.converged


def test_higher_benefit_is_tried_first_whatever_the_order():
    @pattern("zt.exp", benefit=1)
    def to_tanh(op, rw):
        rw.replace_op(op, [rw.op("zt.tanh", op.operand(0))])
        return True

    @pattern("zt.exp", benefit=5)
    def to_abs(op, rw):
        rw.replace_op(op, [rw.op("zt.abs", op.operand(0))])
        return True

    @pattern(None, benefit=3)  # any op
    def generic_to_cos(op, rw):
        if op.name != "zt.exp":
            return False
        rw.replace_op(op, [rw.op("zt.cos", op.operand(0))])
        return True

    for order in ([to_tanh, generic_to_cos, to_abs], [to_abs, to_tanh, generic_to_cos]):
        m = chain(["zt.exp"])
        apply_patterns_greedily(m.main, order)
        assert names(m) == ["zt.abs"]
    assert [p.name for p in PatternSet([to_tanh, generic_to_cos, to_abs]).for_op("zt.exp")] == [
        "to_abs", "generic_to_cos", "to_tanh"]
    m = chain(["zt.exp"])
    apply_patterns_greedily(m.main, [to_tanh, generic_to_cos])
    assert names(m) == ["zt.cos"]


def test_a_pattern_that_declines_lets_the_next_one_try():
    @pattern("zt.exp", benefit=9)
    def never(op, rw):
        return False

    m = chain(["zt.exp"])
    res = apply_patterns_greedily(m.main, [never, exp_to_tanh])
    assert names(m) == ["zt.tanh"] and res.applied_by_pattern == {"exp_to_tanh": 1}


def test_dead_ops_are_erased_transitively_and_listeners_see_it():
    m = chain(["zt.exp", "zt.tanh", "zt.abs"])
    ret = m.main.body.last
    with_rw = PatternRewriter()
    with_rw.set_operand(ret, 0, m.main.args[0])  # everything is now dead
    counter = CountingListener()
    res = apply_patterns_greedily(m.main, [], listeners=[counter])
    assert names(m) == []
    assert res.ops_erased == counter.erased == 3
    assert res.converged


def test_erase_dead_can_be_turned_off():
    m = chain(["zt.exp"])
    PatternRewriter().set_operand(m.main.body.last, 0, m.main.args[0])
    apply_patterns_greedily(m.main, [], erase_dead=False)
    assert names(m) == ["zt.exp"]


def test_folders_replace_ops_by_values_and_constants():
    m = parse_module("""
func.func @main(%x: tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi32>) {
  %one = "zt.constant"() {value = dense<1> : tensor<4xi32>} : () -> tensor<4xi32>
  %zero = "zt.constant"() {value = dense<0> : tensor<4xi32>} : () -> tensor<4xi32>
  %a = "zt.mul"(%one, %x) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %b = "zt.mul"(%a, %zero) : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  "func.return"(%a, %b) : (tensor<4xi32>, tensor<4xi32>) -> ()
}""")
    res = apply_patterns_greedily(m.main, [])
    ret = m.main.body.last
    assert ret.operand(0) is m.main.args[0]
    assert ret.operand(1).op.name == "zt.constant"
    assert res.folds == 2
    x = np.array([3, -1, 7, 0], np.int32)
    a, b = interpret(m, [x])
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, np.zeros(4, np.int32))
    assert names(m) == ["zt.constant"]  # the now-unused constants are gone


def test_fold_can_be_turned_off():
    m = parse_module("""
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
  %n = "zt.neg"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %nn = "zt.neg"(%n) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%nn) : (tensor<4xf32>) -> ()
}""")
    apply_patterns_greedily(m.main, [], fold=False)
    assert names(m) == ["zt.neg", "zt.neg"]
    apply_patterns_greedily(m.main, [])
    assert names(m) == []


def test_rewriter_rejects_type_changing_replacements():
    m = parse_module("""
func.func @main(%x: tensor<4xf32>, %y: tensor<2x4xf32>) -> (tensor<2x4xf32>) {
  %s = "zt.add"(%x, %y) : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  "func.return"(%s) : (tensor<2x4xf32>) -> ()
}""")
    op = m.main.body.first
    rw = PatternRewriter()
    with pytest.raises(RewriteError, match="of type tensor<2x4xf32> with a value of type tensor<4xf32>"):
        rw.replace_op(op, [m.main.args[0]])
    with pytest.raises(RewriteError, match="still has uses"):
        rw.erase_op(op)


def test_create_like_keeps_result_types_or_declines():
    m = parse_module("""
func.func @main(%x: tensor<"n"x4xf32>) -> (tensor<"n"x4xf32>) {
  %t = "zt.transpose"(%x) {perm = [1, 0]} : (tensor<"n"x4xf32>) -> tensor<4x"n"xf32>
  %u = "zt.transpose"(%t) {perm = [1, 0]} : (tensor<4x"n"xf32>) -> tensor<"n"x4xf32>
  "func.return"(%u) : (tensor<"n"x4xf32>) -> ()
}""")
    u = list(m.main.body)[1]
    rw = PatternRewriter()
    rw.set_insertion_point_before(u)
    assert rw.create_like(u, "zt.transpose", [m.main.args[0]], {"perm": (1, 0)}) is None  # 4 x n
    new = rw.create_like(u, "zt.reshape", [m.main.args[0]], {"shape": (-1, 4)})
    assert new is not None and new.result.type == u.result.type  # inferred ?x4 kept as "n"x4


def test_constant_materialization_uses_the_result_dtype():
    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    c = b.op("zt.constant", value=DenseAttr(np.array([1.5, 2.5], np.float32)))
    n = b.op("zt.neg", c)
    b.create("func.return", [n])
    fn.sync_signature()
    from zenith.passes import run_pipeline

    run_pipeline(m, "constant-fold")
    (const,) = list(fn.body)[:-1]
    assert const.attributes["value"].array.dtype == np.float32
    np.testing.assert_array_equal(interpret(m, [])[0], np.array([-1.5, -2.5], np.float32))
