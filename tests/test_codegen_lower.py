"""The target-independent Program skeleton of a fused, planned function."""

from __future__ import annotations

import pytest

from zenith.codegen.lower import lower_function
from zenith.ir.diagnostics import ZenithError
from zenith.ir.parser import parse_module
from zenith.passes import run_pipeline

SRC = """
func.func @main(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> (tensor<4x16xf32>, tensor<64xf32>) {
  %b = "zt.constant"() {value = dense<0.5> : tensor<16xf32>} : () -> tensor<16xf32>
  %h = "zt.linear"(%x, %w, %b) : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %g = "zt.gelu"(%h) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %r = "zt.reshape"(%g) {shape = [64]} : (tensor<4x16xf32>) -> tensor<64xf32>
  %e = "zt.exp"(%r) : (tensor<64xf32>) -> tensor<64xf32>
  "func.return"(%g, %e) : (tensor<4x16xf32>, tensor<64xf32>) -> ()
}
"""


def lowered():
    m = parse_module(SRC)
    run_pipeline(m, "fuse,plan-memory")
    return lower_function(m.main, "cpu")


def test_buffers_params_launches():
    lw = lowered()
    p = lw.program
    kinds = [b.kind for b in p.buffers]
    assert kinds.count("input") == 2 and kinds.count("param") == 1
    assert [b.name for b in p.buffers if b.kind == "input"] == ["x", "w"]
    assert len(p.params) == 1 and p.params[0].shape == (16,)
    assert [la.kernel for la in p.launches] == list(lw.kernel_ops)
    assert set(p.info["kinds"].values()) == {"matmul", "elementwise"}
    # every launch reads buffers defined before it and writes arena buffers
    for la in p.launches:
        assert all(p.buffers[o].kind == "arena" for o in la.outputs)
    offsets = [p.buffers[o].offset for la in p.launches for o in la.outputs]
    assert all(off % 64 == 0 and off < p.arena_bytes for off in offsets)
    assert len(p.outputs) == 2 and p.output_names == ["out0", "out1"]


def test_views_point_at_their_root():
    p = lowered().program
    views = [b for b in p.buffers if b.kind == "view"]
    assert len(views) == 1
    for v in views:
        assert p.buffers[v.base].kind != "view"
        assert p.buffers[v.base].numel == v.numel


def test_unplanned_function_is_an_error():
    m = parse_module(SRC)
    with pytest.raises(ZenithError, match="no memory plan"):
        lower_function(m.main, "cpu")
