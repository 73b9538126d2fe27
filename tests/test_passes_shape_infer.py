"""``shape-infer``: binding input shapes and symbols, re-inferring every type."""

from __future__ import annotations

import numpy as np
import pytest

from zenith.interpreter import interpret
from zenith.ir import ZenithError, parse_module, print_module, verify
from zenith.passes import PassFailure, run_pipeline
from zenith.passes.shape_infer import infer_shapes, parse_shapes

TEXT = """
func.func @main(%x: tensor<"b"x"s"x8xf32>, %w: tensor<8x?xf32>) -> (tensor<?x?x?xf32>, tensor<?xf32>) {
  %y = "zt.matmul"(%x, %w) : (tensor<"b"x"s"x8xf32>, tensor<8x?xf32>) -> tensor<?x?x?xf32>
  %t = "zt.transpose"(%y) {perm = [0, 2, 1]} : (tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %r = "zt.reshape"(%t) {shape = [-1]} : (tensor<?x?x?xf32>) -> tensor<?xf32>
  "func.return"(%y, %r) : (tensor<?x?x?xf32>, tensor<?xf32>) -> ()
}
"""


def test_shapes_and_symbols_propagate_to_every_type():
    m = parse_module(TEXT)
    n = infer_shapes(m, shapes={"w": (8, 16)}, dims={"b": 2, "s": 3})
    assert print_module(m).splitlines()[1] == (
        "  func.func @main(%x: tensor<2x3x8xf32>, %w: tensor<8x16xf32>) -> "
        "(tensor<2x3x16xf32>, tensor<96xf32>) {")
    assert n == 5  # x, w, y, t, r
    verify(m)
    x = np.ones((2, 3, 8), np.float32)
    w = np.ones((8, 16), np.float32)
    y, r = interpret(m, [x, w])
    np.testing.assert_array_equal(y, x @ w)
    np.testing.assert_array_equal(r, np.transpose(x @ w, (0, 2, 1)).reshape(-1))


def test_without_inputs_symbols_are_kept_where_rules_keep_them():
    m = parse_module(TEXT)
    run_pipeline(m, "shape-infer")
    text = print_module(m)
    assert 'tensor<"b"x"s"x?xf32>' in text  # matmul keeps batch dims, transpose permutes them
    assert 'tensor<"b"x?x"s"xf32>' in text


def test_input_shape_option_binds_symbols():
    m = parse_module(TEXT)
    run_pipeline(m, "shape-infer{shapes=x:4x5x8}")
    assert "tensor<4x5x?xf32>" in print_module(m)


def test_shapes_option_parsing():
    assert parse_shapes("x:1x128, y:4x?,s:") == {"x": (1, 128), "y": (4, None), "s": ()}
    with pytest.raises(ValueError, match=r"expected 'name:DxDx\.\.\.'"):
        parse_shapes("x1x128")


@pytest.mark.parametrize("shapes, dims, message", [
    ({"x": (2, 3)}, {}, r"input 'x' of '@main' has rank 3 .* the shape given has rank 2"),
    ({"w": (9, 4)}, {}, r"input 'w' of '@main' is tensor<8x\?xf32>; dim 0 cannot be 9"),
    ({"x": (2, 3, 8)}, {"b": 5}, r'symbol "b" is bound to 5 but input \'x\' dim 0 is 2'),
    ({"z": (1,)}, {}, r"no function argument named 'z' \(arguments: w, x\)"),
])
def test_inconsistent_inputs_are_errors(shapes, dims, message):
    with pytest.raises(ZenithError, match=message):
        infer_shapes(parse_module(TEXT), shapes, dims)


def test_a_declared_type_that_contradicts_the_rule_is_an_error_at_the_op():
    m = parse_module("""
func.func @main(%x: tensor<"n"xf32>) -> (tensor<4xf32>) {
  %y = "zt.exp"(%x) : (tensor<"n"xf32>) -> tensor<4xf32>
  "func.return"(%y) : (tensor<4xf32>) -> ()
}""", "c.zir")
    with pytest.raises(PassFailure) as info:
        run_pipeline(m, "shape-infer{dims=n=3}")
    assert "result #0 is declared tensor<4xf32> but its operands imply tensor<3xf32>" in info.value.message
    assert info.value.loc.prefix() == "c.zir:3:3"
