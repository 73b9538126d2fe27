"""The ONNX exporter: import -> (optimize) -> export, and ONNX Runtime agrees with the
original model; the ONNX-to-ONNX command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

import zenith
from tests.onnx_suite import LIGHT_MODELS
from tests.onnx_util import model, ort_run, tensor
from zenith.frontend.onnx import export_onnx
from zenith.frontend.onnx.cli import main as cli_main
from zenith.ir import Builder, ZenithError
from zenith.tools.models import randomize_light_model as randomized_light_model

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def _inputs(m: onnx.ModelProto, seed: int) -> dict[str, np.ndarray]:
    inits = {t.name for t in m.graph.initializer}
    rng = np.random.default_rng(seed)
    feeds = {}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = rng.random(shape, np.float32)
    return feeds


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_model_round_trip(name: str):
    """Every light model (with random weights; the huge fully-connected ones of AlexNet,
    VGG-19 and ZFNet keep their constants): import, canonicalize/cse/dce, export; ONNX
    Runtime agrees with the original, probabilities and logits."""
    original = randomized_light_model(str(LIGHT / f"light_{name}.onnx"), seed=1,
                                      max_random=1 << 22)
    cm = zenith.compile(original, passes="canonicalize,cse,dce")
    exported = export_onnx(cm.module)
    feeds = _inputs(original, seed=len(name))
    want = ort_run(original, feeds)
    got = ort_run(exported, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)


def test_export_names_symbolic_dims_and_constants():
    nodes = [helper.make_node("Mul", ["x", "k"], ["y"])]
    k = onnx.numpy_helper.from_array(np.array([2.0, 3.0], np.float32), "k")
    m = model(nodes, [tensor("x", ["n", 2])], [tensor("y", ["n", 2])], [k])
    out = export_onnx(zenith.load_onnx(m))
    dims = out.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "n" and dims[1].dim_value == 2
    assert [o.name for o in out.graph.output] == ["y"]
    assert [t.name for t in out.graph.initializer] == ["k"]
    x = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(ort_run(out, {"x": x})[0], x * [2.0, 3.0])


def test_ops_without_export_rule_are_listed():
    mod = zenith.load_onnx(model([helper.make_node("Relu", ["x"], ["y"])], [tensor("x", [2])],
                                 [tensor("y", [2])]))
    fn = mod.main
    relu = next(op for op in fn.body if op.name == "zt.relu")
    b = Builder.before_op(fn.return_op)
    odd = b.create("test.mystery", [relu.result], result_types=[relu.result.type])
    fn.return_op.set_operand(0, odd.result)
    with pytest.raises(ZenithError, match="test.mystery: 1 op"):
        export_onnx(mod)


def test_control_flow_round_trips():
    """zt.if and zt.loop export as If and Loop with subgraphs that read outer values."""
    then_g = helper.make_graph([helper.make_node("Mul", ["x", "x"], ["o"])], "then", [],
                               [tensor("o", [3])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["o2"])], "else", [],
                               [tensor("o2", [3])])
    body = helper.make_graph(
        [helper.make_node("Add", ["acc", "r"], ["acc2"]),
         helper.make_node("Identity", ["c"], ["c2"])], "body",
        [tensor("i", [], onnx.TensorProto.INT64), tensor("c", [], onnx.TensorProto.BOOL),
         tensor("acc", [3])],
        [tensor("c2", [], onnx.TensorProto.BOOL), tensor("acc2", [3]), tensor("acc2", [3])])
    nodes = [helper.make_node("If", ["cond"], ["r"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["n", "", "x"], ["s", "scan"], body=body)]
    m = model(nodes, [tensor("x", [3]), tensor("cond", [], onnx.TensorProto.BOOL),
                      tensor("n", [], onnx.TensorProto.INT64)],
              [tensor("s", [3]), tensor("scan", [None, 3])], opset=16)
    exported = export_onnx(zenith.load_onnx(m))
    assert [n.op_type for n in exported.graph.node].count("Loop") == 1
    x = np.array([1.0, -2.0, 3.0], np.float32)
    for cond, n in ((True, 2), (False, 3), (True, 0)):
        feeds = {"x": x, "cond": np.array(cond), "n": np.array(n, np.int64)}
        for got, want in zip(ort_run(exported, feeds), ort_run(m, feeds)):
            np.testing.assert_allclose(got, want, rtol=1e-6)


def test_cli_optimizes_onnx_to_onnx(tmp_path: Path, capsys):
    src = LIGHT / "light_squeezenet.onnx"
    out = tmp_path / "opt.onnx"
    assert cli_main([str(src), "--passes", "canonicalize,cse,dce", "-o", str(out)]) == 0
    feeds = _inputs(onnx.load(src), seed=0)
    np.testing.assert_allclose(ort_run(str(out), feeds)[0], ort_run(str(src), feeds)[0],
                               rtol=1e-4, atol=1e-5)
    assert cli_main([str(src), "-o", "-"]) == 0
    assert '"zt.conv"' in capsys.readouterr().out
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(src.read_bytes()[:100])
    assert cli_main([str(bad)]) == 1
    assert "not a valid ONNX model" in capsys.readouterr().err


def test_zenith_opt_optimizes_onnx_to_onnx(tmp_path: Path, capsys):
    """``zenith-opt model.onnx --passes ... -o out.onnx``: ORT agrees with the original."""
    from zenith.tools.zenith_opt import main as opt_main

    src = LIGHT / "light_squeezenet.onnx"
    out = tmp_path / "opt.onnx"
    assert opt_main([str(src), "--passes", "canonicalize,cse,dce", "-o", str(out)]) == 0
    feeds = _inputs(onnx.load(src), seed=0)
    np.testing.assert_allclose(ort_run(str(out), feeds)[0], ort_run(str(src), feeds)[0],
                               rtol=1e-4, atol=1e-5)
    assert opt_main([str(src), "--passes", "canonicalize"]) == 0
    assert '"zt.conv"' in capsys.readouterr().out
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(src.read_bytes()[:100])
    assert opt_main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert "not a valid ONNX model" in err and "Traceback" not in err
    assert opt_main(["examples/mlp.zir", "--split-input-file", "-o", str(out)]) == 1
    assert "binary output holds one module" in capsys.readouterr().err
    assert opt_main(["examples/mlp.zir", "--passes", "cse", "-o", str(out)]) == 0
    assert "Add" in [n.op_type for n in onnx.load(out).graph.node]
