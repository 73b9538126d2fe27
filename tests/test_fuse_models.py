"""Whole models through ``fuse`` and ``plan-memory``: BERT-base, ResNet-50, DenseNet-121.

- results: the interpreter before and after agree (the light models' constant
  weights are redrawn at random first, and ResNet-50's logits are returned too,
  since its softmax saturates);
- fusion: BERT-base (batch 1, seq 128) and ResNet-50 make at most as many kernels
  as ONNX Runtime's optimized graph has nodes, measured here, now;
- memory: the arena is at most 1.05x its lower bound and the plan checks out.

The models and numbers are those of ``benchmarks/fusion_report.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.fusion_report import PREPARE, ort_node_count
from zenith.interpreter import interpret
from zenith.ir import DenseAttr, Module
from zenith.ir.rewrite import constant_value
from zenith.passes import run_pipeline
from zenith.passes.fuse import partition_errors
from zenith.passes.plan_memory import plan_errors
from zenith.tolerance import assert_close
from zenith.tools.models import export_bert
from zenith.tools.models import light_model_path as light_model

pytest.importorskip("onnxruntime")
ARENA_SLACK = 1.05


@pytest.fixture(scope="module")
def bert_path(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return export_bert(tmp_path_factory.mktemp("bert") / "bert.onnx", seq=128)


def _load(path: Path) -> Module:
    import zenith

    m = zenith.load_onnx(path)
    run_pipeline(m, PREPARE)
    return m


def _randomize(m: Module, seed: int = 0) -> None:
    """He-initialised conv/gemm weights and spread batch-norm statistics (shared constants too)."""
    rng = np.random.default_rng(seed)

    def put(v, arr) -> None:
        v.op.attributes["value"] = DenseAttr(arr.astype(v.type.dtype.np_dtype))

    for op in m.main.body:
        w = op.operand(1) if op.num_operands > 1 else None
        if op.name in ("zt.conv", "zt.gemm") and constant_value(w) is not None:
            fan_in = int(np.prod(w.type.shape[1:])) if op.name == "zt.conv" else w.type.shape[1]
            put(w, rng.standard_normal(w.type.shape) * np.sqrt(2 / fan_in))
        if op.name == "zt.batch_norm":
            for v, (lo, hi) in zip(op.operands[1:], [(0.5, 1.5), (-0.1, 0.1), (-0.1, 0.1), (0.5, 1.5)]):
                put(v, rng.uniform(lo, hi, v.type.shape))


def _return_logits(m: Module) -> None:
    ret = m.main.return_op
    for op in m.main.body:
        if op.name == "zt.softmax":
            ret.set_operands([*ret.operands, op.operand(0)])
    m.main.sync_signature()


def _fuse_and_compare(m: Module, inputs: list[np.ndarray]) -> dict:
    want = interpret(m, inputs)
    report = run_pipeline(m, "fuse,plan-memory")
    got = interpret(m, inputs)
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert_close(w, g, scale=4, what=f"result #{i}")
    fn = m.main
    assert partition_errors(fn) == []
    assert plan_errors(fn) == []
    a = fn.attributes
    assert a["arena_lower_bound"] <= a["arena_bytes"] <= ARENA_SLACK * a["arena_lower_bound"]
    assert a["arena_bytes"] < a["arena_naive"]
    return report.records[0].stats


def _kernels(m: Module) -> list:
    return [op for op in m.main.body if op.name == "zk.fused"]


def test_resnet50_conv_kernels_fold_batch_norm_and_take_residual_add_relu():
    path = light_model("resnet50")
    m = _load(path)
    _randomize(m)
    _return_logits(m)
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    stats = _fuse_and_compare(m, [x])
    kernels = _kernels(m)
    assert len(kernels) <= ort_node_count(path)
    assert stats["pattern-conv-batch-norm"] == 53
    names = [k.attr("name").split("_", 1)[1] for k in kernels]
    assert names.count("conv_add_relu") == 16 and sum(k.attr("kind") == "conv" for k in kernels) == 53


def test_densenet121_arena_and_results():
    m = _load(light_model("densenet121"))
    _randomize(m)
    x = np.random.default_rng(2).standard_normal((1, 3, 224, 224)).astype(np.float32)
    _fuse_and_compare(m, [x])
    assert not any(op.name == "zt.batch_norm" for op in m.main.walk())


def test_bert_base_kernels_and_arena(bert_path):
    m = _load(bert_path)
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 30522, (1, 128)).astype(np.int64)
    mask = (np.arange(128) < 100).astype(np.int64)[None]  # padding at the end
    stats = _fuse_and_compare(m, [ids, mask])
    kernels = _kernels(m)
    assert len(kernels) <= ort_node_count(bert_path)
    assert stats["pattern-attention"] == 12 and stats["pattern-gelu-erf"] == 12
    assert stats["pattern-matmul-bias"] == 72
    kinds = [k.attr("kind") for k in kernels]
    assert kinds.count("attention") == 12 and kinds.count("reduction") == 25  # the layer norms
