"""``lower-precision``: the lowered module agrees with the f32 one within half-precision tolerance.

Oracle: the interpreter on the f32 module; the lowered module runs with NumPy
half arithmetic. Models: a small BERT (transformers config, random weights,
exported to ONNX), a conv-net block (conv, batch-norm, residual, pooling, gemm)
and random fusion-shaped programs (hypothesis). Each check also verifies the IR,
that the signature keeps its f32 types, that norms/softmax/reductions still
compute in f32, and that the result still fuses and plans.
"""

from __future__ import annotations

import warnings

import ml_dtypes
import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import zenith
from tests.fuse_programs import fusion_programs
from zenith.interpreter import interpret
from zenith.ir import Module, verify
from zenith.passes import run_pipeline
from zenith.passes.lower_precision import KEEP_F32, LowerPrecision
from zenith.passes.semantics import random_inputs
from zenith.tolerance import compare

RTOL = 2e-2


def half_close(want: np.ndarray, got: np.ndarray, what: str, rtol: float = RTOL,
               atol_floor: float = 0.0) -> None:
    """Elementwise rtol; absolute floor max(rtol x the mean magnitude, atol_floor) (cancellations)."""
    assert got.dtype == want.dtype and got.shape == want.shape, what
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    atol = max(rtol * float(np.mean(np.abs(want))) if want.size else 0.0, atol_floor)
    c = compare(want, got, rtol, atol)
    assert c.ok, f"{what}: {c.message} (max abs err {c.max_abs_err:.3g})"


def lower_and_compare(m: Module, inputs: list[np.ndarray], dt: str,
                      oracle_inputs: list[np.ndarray] | None = None, rtol: float = RTOL,
                      atol_floor: float = 0.0) -> Module:
    """Lower ``m`` to ``dt``; compare with the f32 interpreter on ``oracle_inputs`` (default: ``inputs``)."""
    want = interpret(m, inputs if oracle_inputs is None else oracle_inputs)
    low = m.clone()
    run_pipeline(low, f"lower-precision{{dtype={dt}}}")
    verify(low)
    assert low.main.arg_types == m.main.arg_types and low.main.result_types == m.main.result_types
    got = interpret(low, inputs)
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        half_close(w, g, f"{dt}: result #{i}", rtol, atol_floor)
    kept = [op for op in low.main.body if op.name in KEEP_F32 or op.name.startswith("zt.reduce_")]
    for op in kept:  # statistics in f32
        assert all(r.type.dtype.name != dt for r in op.results), op.name
    fused = low.clone()
    run_pipeline(fused, "fuse,plan-memory")
    for i, (w, g) in enumerate(zip(want, interpret(fused, inputs), strict=True)):
        half_close(w, g, f"{dt} fused: result #{i}", rtol, atol_floor)
    return low


def _half_ops(m: Module, dt: str) -> list[str]:
    return [op.name for op in m.main.body if any(r.type.dtype.name == dt for r in op.results)]


@pytest.fixture(scope="module")
def small_bert(tmp_path_factory) -> Module:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=100, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=128, max_position_embeddings=64)
    bert = transformers.BertModel(cfg).eval()

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids, mask):
            return self.bert(input_ids=ids, attention_mask=mask).last_hidden_state

    path = tmp_path_factory.mktemp("bert") / "bert_small.onnx"
    ids = torch.zeros(2, 16, dtype=torch.long)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Wrapper(), (ids, torch.ones_like(ids)), str(path), dynamo=False, opset_version=17,
                          input_names=["ids", "mask"], output_names=["hidden"])
    m = zenith.load_onnx(str(path))
    run_pipeline(m, "canonicalize,constant-fold,cse,dce")
    return m


@pytest.mark.parametrize("dt", ["f16", "bf16"])
def test_small_bert(small_bert: Module, dt: str):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 100, (2, 16)).astype(np.int64)
    mask = np.ones((2, 16), np.int64)
    mask[1, 11:] = 0
    low = lower_and_compare(small_bert, [ids, mask], dt)
    half = _half_ops(low, dt)
    assert half.count("zt.attention") == 2 and half.count("zt.matmul") + half.count("zt.linear") == 12
    assert [op.name for op in low.main.body].count("zt.layer_norm") == 5  # embeddings + 2 per layer


def conv_block() -> onnx.ModelProto:
    rng = np.random.default_rng(0)

    def init(name, *shape, scale=None):
        fan = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        s = scale if scale is not None else np.sqrt(2 / fan)
        return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)

    inits = [init("w1", 8, 3, 3, 3), init("w2", 8, 8, 3, 3), init("fc", 10, 8), init("fcb", 10, scale=0.1),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "g"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, 8).astype(np.float32), "b"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, 8).astype(np.float32), "mu"),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "var")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "b", "mu", "var"], ["n1"]),
             helper.make_node("Relu", ["n1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c2", "p1"], ["s"]),
             helper.make_node("Relu", ["s"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["gp"]),
             helper.make_node("Flatten", ["gp"], ["f"]),
             helper.make_node("Gemm", ["f", "fc", "fcb"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["y"], axis=-1)]
    graph = helper.make_graph(nodes, "convnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                [2, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 10]),
                               helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 10])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("dt", ["f16", "bf16"])
def test_conv_block(dt: str):
    m = zenith.load_onnx(conv_block())
    run_pipeline(m, "canonicalize,constant-fold,cse,dce")
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16)).astype(np.float32)
    low = lower_and_compare(m, [x], dt)
    half = _half_ops(low, dt)
    assert half.count("zt.conv") == 2 and "zt.max_pool" in half and "zt.global_avg_pool" in half
    assert "zt.batch_norm" not in [op.name for op in low.main.body]  # folded before lowering


def test_integer_paths_and_casts_are_untouched():
    from zenith.ir import parse_module

    m = parse_module("""
func.func @main(%x: tensor<4xf32>, %i: tensor<4xi64>) -> (tensor<4xf32>, tensor<4xi64>, tensor<4xi32>) {
  %j = "zt.add"(%i, %i) : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %f = "zt.cast"(%j) {to = f32} : (tensor<4xi64>) -> tensor<4xf32>
  %y = "zt.mul"(%x, %f) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %k = "zt.cast"(%y) {to = i32} : (tensor<4xf32>) -> tensor<4xi32>
  "func.return"(%y, %j, %k) : (tensor<4xf32>, tensor<4xi64>, tensor<4xi32>) -> ()
}""")
    x = np.array([0.5, -1.5, 2.25, 3.0], np.float32)
    i = np.array([1, -2, 3, 4], np.int64)
    low = lower_and_compare(m, [x, i], "f16")
    ops = {op.results[0].name_hint: op for op in low.main.body if op.results}
    assert ops["j"].results[0].type.dtype.name == "i64"
    assert ops["k"].operand(0).type.dtype.name == "f16"  # the cast reads the half value directly


def test_f16_constants_saturate():
    from zenith.ir import parse_module

    m = parse_module("""
func.func @main(%x: tensor<2xf32>) -> (tensor<2xf32>) {
  %c = "zt.constant"() {value = dense<[-3.4028234663852886e+38, 0.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %z = "zt.constant"() {value = dense<[0.0, 1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = "zt.mul"(%c, %z) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %y = "zt.add"(%x, %m) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  "func.return"(%y) : (tensor<2xf32>) -> ()
}""")
    run_pipeline(m, "lower-precision{dtype=f16}")
    y = interpret(m, [np.array([1.0, 2.0], np.float32)])[0]
    np.testing.assert_array_equal(y, [1.0, 2.0])  # 0 * -65504, not 0 * -inf = NaN


def test_bad_dtype_option():
    with pytest.raises(ValueError, match="f16 or bf16"):
        LowerPrecision(dtype="f8")


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fusion_programs(max_steps=8), st.sampled_from(["f16", "bf16"]), st.integers(0, 2**31))
def test_random_programs(m: Module, dt: str, seed: int):
    assume(all(t.dtype.name == "f32" for t in m.main.arg_types))
    inputs = random_inputs(m.main, np.random.default_rng(seed))
    with np.errstate(all="ignore"):
        want = interpret(m, inputs)
    assume(all(np.all(np.isfinite(w)) and np.max(np.abs(w), initial=0) < 1e3 for w in want))
    # The oracle sees the inputs rounded to ``dt``, as the lowered program does at
    # its boundary: an ill-conditioned chain (exp of a value near 5, say) turns
    # bf16's input rounding alone (2^-9 relative) into a 2.5% output change, which
    # is the input's precision, not an error of the pass.
    half = np.dtype(ml_dtypes.bfloat16 if dt == "bf16" else np.float16)
    rounded = [x.astype(half).astype(x.dtype) if x.dtype == np.float32 else x for x in inputs]
    # The intermediate roundings, the pass's own doing, are judged in machine
    # epsilons of ``dt`` (f16 2^-10, bf16 2^-7): rtol 16 eps against
    # |want| + mean|want|, absolute floor 1 eps (results that cancel to ~0). A
    # flat 2e-2 was 20 eps for f16 but 2.6 for bf16, and flaked in CI. Measured
    # 2026-11-23: over 2,800 random programs the worst was 2.6 eps (f16) and 3.4
    # (bf16); hypothesis's search found f16 cases past 8 eps, e.g. a layer norm
    # over three nearly equal exp() values, which amplifies their f16 rounding.
    # A wrong cast or a statistic left in half precision is off by far more.
    eps = float(ml_dtypes.finfo(half).eps)
    lower_and_compare(m, inputs, dt, oracle_inputs=rounded, rtol=16 * eps, atol_floor=eps)
