"""The IR core API: use lists, RAUW, erase, clone, walk, builder, equality, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import zenith  # noqa: F401
from zenith.ir import (
    Block,
    Builder,
    DenseAttr,
    Function,
    Module,
    TensorType,
    ZenithError,
    dtype,
    parse_module,
    print_module,
    promote,
    structurally_equal,
    verify,
)

F32 = dtype("f32")
T = TensorType(F32, (2, 3))


def _fn():
    m = Module()
    fn = m.add_function(Function("main", [T, T], [T]))
    return m, fn, Builder.at_end(fn.body)


def test_use_lists_and_replace_all_uses():
    m, fn, b = _fn()
    x, y = fn.args
    s = b.op("zt.add", x, x)
    p = b.op("zt.mul", s, y)
    b.create("func.return", [p])
    assert x.uses == [(s.op, 0), (s.op, 1)]
    assert s.users == [p.op]
    x.replace_all_uses_with(y)
    assert not x.has_uses and y.num_uses == 3
    assert s.op.operands == (y, y)
    verify(m)


def test_erase_refuses_used_results_and_unlinks():
    m, fn, b = _fn()
    r = b.op("zt.relu", fn.args[0])
    n = b.op("zt.neg", r)
    ret = b.create("func.return", [n])
    with pytest.raises(ValueError, match="still used by zt.neg"):
        r.op.erase()
    ret.set_operand(0, r)
    n.op.erase()
    assert [op.name for op in fn.body] == ["zt.relu", "func.return"]
    assert r.users == [ret]
    assert fn.args[0].num_uses == 1
    verify(m)


def test_linked_list_insertion_and_order():
    _m, fn, b = _fn()
    a = b.create("zt.relu", [fn.args[0]])
    c = b.create("zt.neg", [a.result])
    b.create("func.return", [c.result])
    mid = Builder.before_op(c).create("zt.abs", [a.result])
    assert [op.name for op in fn.body] == ["zt.relu", "zt.abs", "zt.neg", "func.return"]
    assert a.is_before_in_block(mid) and mid.is_before_in_block(c)
    mid.move_after(c)
    assert [op.name for op in fn.body] == ["zt.relu", "zt.neg", "zt.abs", "func.return"]
    assert c.is_before_in_block(mid)
    assert len(fn.body) == 4
    assert next(op.name for op in fn.body.reversed()) == "func.return"


def test_clone_is_deep_and_structurally_equal():
    m, fn, b = _fn()
    c = b.op("zt.constant", value=DenseAttr(np.ones((2, 3), np.float32)))
    s = b.op("zt.add", fn.args[0], c)
    b.create("func.return", [s])
    m2 = m.clone()
    assert structurally_equal(m, m2)
    assert print_module(m) == print_module(m2)
    assert m2.main.body.first is not fn.body.first
    # mutating the clone leaves the original alone
    m2.main.body.first.attributes["value"] = DenseAttr(np.zeros((2, 3), np.float32))
    assert not structurally_equal(m, m2)


def test_structural_equality_sees_operand_order_and_types():
    a = parse_module(f"""func.func @main(%x: {T}, %y: {T}) -> ({T}) {{
  %s = "zt.sub"(%x, %y) : ({T}, {T}) -> {T}
  "func.return"(%s) : ({T}) -> ()
}}""")
    b = parse_module(f"""func.func @main(%p: {T}, %q: {T}) -> ({T}) {{
  %r = "zt.sub"(%p, %q) : ({T}, {T}) -> {T}
  "func.return"(%r) : ({T}) -> ()
}}""")
    c = parse_module(f"""func.func @main(%x: {T}, %y: {T}) -> ({T}) {{
  %s = "zt.sub"(%y, %x) : ({T}, {T}) -> {T}
  "func.return"(%s) : ({T}) -> ()
}}""")
    assert structurally_equal(a, b)
    assert not structurally_equal(a, c)


def test_walk_visits_nested_regions_in_preorder():
    text = """func.func @main(%x: tensor<2xf32>) -> (tensor<2xf32>) {
  %y = "test.region"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    %b = "zt.relu"(%a) : (tensor<2xf32>) -> tensor<2xf32>
    "test.yield"(%b) : (tensor<2xf32>) -> ()
  }) : (tensor<2xf32>) -> tensor<2xf32>
  "func.return"(%y) : (tensor<2xf32>) -> ()
}
"""
    m = parse_module(text, allow_unregistered=True)
    assert [op.name for op in m.ops()] == ["test.region", "zt.relu", "test.yield", "func.return"]
    assert print_module(parse_module(print_module(m), allow_unregistered=True)) == print_module(m)
    inner = list(m.ops())[1]
    assert inner.parent_op.name == "test.region"
    verify(m, allow_unregistered=True)


def test_builder_infers_types_and_drops_default_attributes():
    _m, fn, b = _fn()
    g = b.op("zt.gelu", fn.args[0], approximate="none")
    assert g.type == T and g.op.attributes == {}
    t = b.zt.transpose(g, perm=[1, 0])
    assert t.type == TensorType(F32, (3, 2)) and t.op.attributes == {"perm": (1, 0)}
    with pytest.raises(ZenithError, match="'zt.add': shapes"):
        b.op("zt.add", fn.args[0], t)
    with pytest.raises(AttributeError, match="no op 'zt.nope'"):
        b.zt.nope(g)


def test_large_constants_round_trip_through_resources():
    m, fn, b = _fn()
    big = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    c = b.op("zt.constant", value=DenseAttr(np.tile(big, (10, 1))))
    b.op("zt.reshape", c, shape=[10, 2, 3])
    b.create("func.return", [fn.args[0]])
    text = print_module(m)
    assert "dense_resource<r0>" in text and "dialect_resources" in text
    again = parse_module(text)
    assert print_module(again) == text
    const = next(op for op in again.ops() if op.name == "zt.constant")
    np.testing.assert_array_equal(const.attributes["value"].array, np.tile(big, (10, 1)))


def test_special_float_attributes_round_trip():
    m, fn, b = _fn()
    vals = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4028235e38], np.float32)
    b.op("zt.constant", value=DenseAttr(vals))
    b.create("func.return", [b.op("zt.leaky_relu", fn.args[0], alpha=float("nan"))])
    text = print_module(m)
    again = parse_module(text)
    assert print_module(again) == text
    assert structurally_equal(m, again)


def test_promotion_rules():
    d = dtype
    assert promote(d("f16"), d("bf16")) is d("f32")
    assert promote(d("i8"), d("f16")) is d("f16")
    assert promote(d("u8"), d("i8")) is d("i16")
    assert promote(d("bool"), d("i32")) is d("i32")
    assert promote(d("i64"), d("f32")) is d("f32")
    assert promote(d("f32"), d("f64")) is d("f64")
    assert promote(d("u64"), d("i64")) is d("f64")
    assert promote(d("i32"), d("i32")) is d("i32")


def test_block_arguments_can_be_added_and_erased():
    blk = Block([T])
    a = blk.add_arg(TensorType(F32, ()))
    assert a.index == 1
    blk.erase_arg(0)
    assert a.index == 0 and len(blk.args) == 1
