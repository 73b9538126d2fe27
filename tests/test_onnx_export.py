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
from tests.onnx_util import model, ort_run, randomized_light_model, tensor
from zenith.frontend.onnx import export_onnx
from zenith.frontend.onnx.cli import main as cli_main
from zenith.ir import ZenithError

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
    """Every light model (with random weights): import, canonicalize/cse/dce, export; ONNX
    Runtime agrees with the original, probabilities and logits."""
    original = randomized_light_model(str(LIGHT / f"light_{name}.onnx"), seed=1)
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
    nodes = [helper.make_node("CumProd", ["x", "axis"], ["y"])]
    axis = onnx.numpy_helper.from_array(np.array(0, np.int64), "axis")
    m = model(nodes, [tensor("x", [3])], [tensor("y", [3])], [axis], opset=26)
    with pytest.raises(ZenithError, match="zt.cumprod: 1 op"):
        export_onnx(zenith.load_onnx(m))


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
