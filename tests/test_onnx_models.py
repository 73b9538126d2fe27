"""End to end: real models compiled by Zenith on the CPU agree with ONNX Runtime.

They run on the CPU runtime (``fuse,plan-memory``, CPU kernels, the Executable);
each test checks that no interpreter fallback happened.

BERT-base and a GPT-2 block are built from transformers configs with random
weights and exported with ``torch.onnx.export(..., dynamo=False)`` once per test
session (into a temporary folder); ResNet-50 is the light model shipped in the
``onnx`` package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import zenith
from tests.onnx_util import ort_run
from zenith.tools.models import export_bert, export_gpt2_block
from zenith.tools.models import randomize_light_model as randomized_light_model

pytestmark = pytest.mark.slow

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
PASSES = "canonicalize,cse,dce"
SEQ = 32


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-models")


@pytest.fixture(scope="session")
def bert_path(model_dir: Path) -> Path:
    pytest.importorskip("transformers")
    return export_bert(model_dir / "bert.onnx", seq=SEQ, dynamic=True)


@pytest.fixture(scope="session")
def gpt2_block_path(model_dir: Path) -> Path:
    pytest.importorskip("transformers")
    return export_gpt2_block(model_dir / "gpt2_block.onnx", seq=SEQ)


def _native(cm) -> None:
    """The model ran on the CPU runtime (fused, planned kernels), not the interpreter."""
    report = cm.report_dict()
    assert report["executor"] == "cpu runtime", report.get("fallback_reason")
    assert report["kernels"] > 0 and report["arena_bytes"] > 0


def _close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> float:
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return err


def test_bert_base_matches_onnxruntime(bert_path: Path):
    """Static shapes (input_shapes), then the exported dynamic axes kept symbolic: one
    compiled model runs two sequence lengths. (One test: the export is shared.)"""
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 30522, (1, SEQ)).astype(np.int64)
    mask = np.ones((1, SEQ), np.int64)
    mask[0, SEQ - 5:] = 0
    shapes = {"input_ids": (1, SEQ), "attention_mask": (1, SEQ)}
    cm = zenith.compile(str(bert_path), passes=PASSES, input_shapes=shapes)
    hidden, pooled = cm(ids, mask)
    ref = ort_run(str(bert_path), {"input_ids": ids, "attention_mask": mask})
    _close(hidden, ref[0], 1e-3, 1e-4)
    _close(pooled, ref[1], 1e-3, 1e-4)
    _native(cm)

    dyn = zenith.compile(str(bert_path), passes=PASSES)
    assert dyn.input_types[0].shape == ("batch", "seq")
    for n in (4, 9):
        ids = np.arange(n, dtype=np.int64)[None] * 37 % 30522
        mask = np.ones((1, n), np.int64)
        hidden, _ = dyn(input_ids=ids, attention_mask=mask)
        ref = ort_run(str(bert_path), {"input_ids": ids, "attention_mask": mask})
        _close(hidden, ref[0], 1e-3, 1e-4)
        _native(dyn)
    assert dyn.report_dict()["signatures"] == 2


def test_gpt2_block_matches_onnxruntime_and_is_causal(gpt2_block_path: Path):
    rng = np.random.default_rng(2)
    h = rng.standard_normal((1, SEQ, 768)).astype(np.float32)
    cm = zenith.compile(str(gpt2_block_path), passes=PASSES)
    y = cm(h)
    _close(y, ort_run(str(gpt2_block_path), {"hidden": h})[0], 1e-3, 1e-4)
    h2 = h.copy()
    h2[0, SEQ // 2:] += 3.0  # later tokens must not change earlier outputs
    np.testing.assert_array_equal(cm(h2)[0, : SEQ // 2], y[0, : SEQ // 2])
    _native(cm)


def test_resnet50_matches_onnxruntime():
    """The light ResNet-50 with random weights (its shipped weights are constants, which make
    every output equal): probabilities and logits agree with ONNX Runtime."""
    m = randomized_light_model(str(LIGHT / "light_resnet50.onnx"), seed=5)
    x = np.random.default_rng(3).random((1, 3, 224, 224), np.float32)
    cm = zenith.compile(m, passes=PASSES)
    (name,) = cm.input_names
    probs, logits = cm(x)
    ref = ort_run(m, {name: x})
    assert float(np.std(ref[1])) > 0.01  # the logits really vary
    _close(probs, ref[0], 1e-3, 1e-4)
    _close(logits, ref[1], 1e-3, 1e-4)
    _native(cm)


def test_exported_model_round_trips_through_onnxruntime(gpt2_block_path: Path, tmp_path: Path):
    """Import, optimize, export: ONNX Runtime runs the result and agrees."""
    from zenith.frontend.onnx import export_onnx

    h = np.random.default_rng(4).standard_normal((1, SEQ, 768)).astype(np.float32)
    cm = zenith.compile(str(gpt2_block_path), passes=PASSES)
    out = tmp_path / "gpt2_opt.onnx"
    onnx.save(export_onnx(cm.module), out)
    _close(ort_run(str(out), {"hidden": h})[0], ort_run(str(gpt2_block_path), {"hidden": h})[0],
           1e-4, 1e-5)
