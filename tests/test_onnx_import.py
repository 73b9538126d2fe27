"""The ONNX importer: opsets, initializers, symbolic dims, locations, external data,
unsupported ops, sequences, local functions, and clear errors for bad models."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import zenith
from tests.onnx_util import F32, mlp, mlp_oracle, model, ort_run, tensor
from zenith.frontend.onnx import import_model, newest_opset
from zenith.frontend.onnx.context import NeedsStaticInput
from zenith.ir import NameLoc, ZenithError
from zenith.tolerance import assert_close


def test_initializers_become_constants_and_names_locations():
    m = zenith.load_onnx(mlp())
    fn = m.main
    ops = [op for op in fn.body if op.name != "func.return"]
    consts = [op for op in ops if op.name == "zt.constant"]
    assert {c.result.name_hint for c in consts} == {"W", "b"}
    np.testing.assert_array_equal(next(c for c in consts if c.result.name_hint == "b")
                                  .attr("value").array, [0.5, -1.0, 0.25])
    locs = {op.name: op.loc for op in ops if op.name != "zt.constant"}
    assert locs["zt.matmul"] == NameLoc("fc")
    assert locs["zt.add"] == NameLoc("bias")
    assert locs["zt.relu"] == NameLoc("Relu:y")  # unnamed node: op type and first output


def test_symbolic_dims_stay_symbolic_and_bind_at_call_time():
    m = zenith.load_onnx(mlp())
    assert m.main.arg_types[0].shape == ("batch", 4)
    assert m.main.result_types[0].shape == ("batch", 3)
    cm = zenith.compile(mlp())
    for n in (1, 5):
        x = np.random.default_rng(n).standard_normal((n, 4)).astype(np.float32)
        assert_close(mlp_oracle(x), cm(x))


def test_input_shapes_fix_dynamic_dims():
    m = zenith.load_onnx(mlp(), input_shapes={"x": (2, 4)})
    assert m.main.arg_types[0].shape == (2, 4)
    assert m.main.result_types[0].shape == (2, 3)
    with pytest.raises(ZenithError, match="unknown input"):
        zenith.load_onnx(mlp(), input_shapes={"nope": (2, 4)})


@pytest.mark.parametrize("opset", [7, 11, 13, 17, newest_opset()])
def test_opsets_from_7_to_newest(opset):
    nodes = [helper.make_node("Mul", ["a", "b"], ["c"]), helper.make_node("Sigmoid", ["c"], ["y"])]
    m = model(nodes, [tensor("a", [2, 3]), tensor("b", [3])], [tensor("y", [2, 3])], opset=opset)
    a = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
    b = np.array([1.0, -0.5, 2.0], np.float32)
    assert_close(1 / (1 + np.exp(-(a * b))), zenith.compile(m)(a, b))


def test_opset_newer_than_onnx_knows_is_an_error():
    m = model([helper.make_node("Relu", ["x"], ["y"])], [tensor("x", [2])], [tensor("y", [2])],
              opset=newest_opset() + 1)
    with pytest.raises(ZenithError, match=f"opset {newest_opset() + 1}"):
        zenith.load_onnx(m)


def test_unsupported_ops_fail_once_listing_every_op_with_nodes_and_opset():
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("FancyOp", ["a"], ["b"], name="f1"),
             helper.make_node("FancyOp", ["b"], ["c"], name="f2"),
             helper.make_node("Exotic", ["c"], ["y"], name="e1", domain="com.example")]
    m = model(nodes, [tensor("x", [2])], [tensor("y", [2])], opset=18)
    m.opset_import.append(helper.make_opsetid("com.example", 3))
    with pytest.raises(ZenithError) as info:
        zenith.load_onnx(m)
    text = str(info.value)
    assert "2 unsupported op type(s)" in text
    assert "FancyOp (opset 18): 2 node(s) 'f1', 'f2'" in text
    assert "com.example.Exotic (opset 3): 1 node(s) 'e1'" in text


def test_truncated_protobuf_is_a_clear_error(tmp_path):
    data = mlp().SerializeToString()
    for cut in (len(data) // 2, 7, 1):
        with pytest.raises(ZenithError, match="not a valid ONNX model"):
            zenith.load_onnx(data[:cut])
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(ZenithError, match="not a valid ONNX model"):
        zenith.compile(str(p))
    with pytest.raises(ZenithError, match="no ONNX model at"):
        zenith.load_onnx(tmp_path / "missing.onnx")
    with pytest.raises(ZenithError, match="cannot load an ONNX model from a int"):
        zenith.load_onnx(42)


def test_model_from_path_bytes_and_proto_agree(tmp_path):
    p = tmp_path / "mlp.onnx"
    onnx.save(mlp(), p)
    x = np.ones((3, 4), np.float32)
    outs = [zenith.compile(src)(x) for src in (mlp(), str(p), p, p.read_bytes())]
    for y in outs:
        assert_close(mlp_oracle(x), y)


def test_external_data_loads(tmp_path):
    m = mlp()
    path = tmp_path / "ext.onnx"
    onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").exists()
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    assert_close(mlp_oracle(x), zenith.compile(str(path))(x))
    proto = onnx.load(path, load_external_data=False)
    with pytest.raises(ZenithError, match="external"):
        zenith.load_onnx(proto)
    assert_close(mlp_oracle(x), zenith.compile(proto, base_dir=tmp_path)(x))


def test_reshape_shape_from_shape_ops_folds_to_a_static_reshape():
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    inits = [onnx.numpy_helper.from_array(np.array(0, np.int64), "zero"),
             onnx.numpy_helper.from_array(np.array([0], np.int64), "zero1"),
             onnx.numpy_helper.from_array(np.array([-1], np.int64), "minus1")]
    m = model(nodes, [tensor("x", [2, 3, 4])], [tensor("y", [2, 12])], inits, opset=13)
    mod = zenith.load_onnx(m)
    names = [op.name for op in mod.main.body]
    assert "zt.reshape" in names and "zt.shape_of" not in names and "zt.reshape_dyn" not in names
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(zenith.compile(m)(x), x.reshape(2, 12))


def test_parameters_from_model_inputs_ask_for_static_inputs():
    nodes = [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)]
    m = model(nodes, [tensor("x", [2, 3]), tensor("axes", [1], TensorProto.INT64)],
              [tensor("y", [2])], opset=13)
    with pytest.raises(NeedsStaticInput, match="static_inputs") as info:
        zenith.load_onnx(m)
    assert info.value.inputs == ["axes"]
    cm = zenith.compile(m, static_inputs={"axes": np.array([1], np.int64)})
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(cm(x), x.sum(1))
    assert cm.input_names == ["x"]


def test_dynamic_reshape_runs_with_reshape_dyn():
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"])]
    m = model(nodes, [tensor("x", [2, 6]), tensor("shape", [2], TensorProto.INT64)],
              [tensor("y", [None, None])], opset=14)
    assert any(op.name == "zt.reshape_dyn" for op in zenith.load_onnx(m).main.body)
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    cm = zenith.compile(m)
    for shape in ([3, 4], [12, -1]):
        np.testing.assert_array_equal(cm(x, np.array(shape, np.int64)), x.reshape(shape))


def test_sequence_output_and_local_function():
    fn = helper.make_function("local", "DoubleRelu", ["a"], ["b"],
                              [helper.make_node("Add", ["a", "a"], ["t"]),
                               helper.make_node("Relu", ["t"], ["b"])],
                              [helper.make_opsetid("", 17)])
    nodes = [helper.make_node("DoubleRelu", ["x"], ["d"], domain="local"),
             helper.make_node("SplitToSequence", ["d"], ["seq"], axis=0, keepdims=0)]
    seq_out = helper.make_tensor_sequence_value_info("seq", F32, None)
    m = model(nodes, [tensor("x", [2, 3])], [seq_out], opset=17)
    m.opset_import.append(helper.make_opsetid("local", 1))
    m.functions.append(fn)
    x = np.array([[1, -2, 3], [-4, 5, -6]], np.float32)
    out = zenith.compile(m).run([x])
    assert isinstance(out[0], list) and len(out[0]) == 2
    for row, got in zip(np.maximum(2 * x, 0), out[0]):
        np.testing.assert_array_equal(got, row)


def test_if_and_loop_become_regions():
    then_g = helper.make_graph([helper.make_node("Neg", ["x"], ["o"])], "then", [],
                               [tensor("o", [3])])
    else_g = helper.make_graph([helper.make_node("Abs", ["x"], ["o2"])], "else", [],
                               [tensor("o2", [3])])
    body = helper.make_graph(
        [helper.make_node("Add", ["acc", "x"], ["acc2"]),
         helper.make_node("Identity", ["c"], ["c2"])], "body",
        [tensor("i", [], TensorProto.INT64), tensor("c", [], TensorProto.BOOL), tensor("acc", [3])],
        [tensor("c2", [], TensorProto.BOOL), tensor("acc2", [3])])
    nodes = [helper.make_node("If", ["cond"], ["r"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["n", "", "r"], ["s"], body=body)]
    m = model(nodes, [tensor("x", [3]), tensor("cond", [], TensorProto.BOOL),
                      tensor("n", [], TensorProto.INT64)], [tensor("s", [3])], opset=16)
    mod = zenith.load_onnx(m)
    assert {"zt.if", "zt.loop"} <= {op.name for op in mod.main.body}
    x = np.array([1.0, -2.0, 3.0], np.float32)
    cm = zenith.compile(m)
    for cond in (True, False):
        for n in (0, 3):
            feeds = {"x": x, "cond": np.array(cond), "n": np.array(n, np.int64)}
            np.testing.assert_allclose(cm(**feeds), ort_run(m, feeds)[0])


def test_declared_output_type_mismatch_is_reported():
    m = model([helper.make_node("Relu", ["x"], ["y"])], [tensor("x", [2, 3])],
              [tensor("y", [3, 2])])
    with pytest.raises(ZenithError, match="declared with shape"):
        import_model(m)
