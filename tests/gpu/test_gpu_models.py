"""Every end-to-end model on target="cuda" against the CPU reference (zenith target="cpu").

fp32 at rtol 1e-4; fp16 and bf16 (``precision=``) at rtol 2e-2, against the f32
CPU result. Models: BERT-base (batch 1, seq 128), a GPT-2 block (seq 128),
ResNet-50 and the other light models of the onnx package (random weights; the
logits are an extra output).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import zenith
from tests.gpu.gpu_util import GPU, assert_matches

pytestmark = GPU

LIGHT = ["resnet50", "densenet121", "inception_v1", "inception_v2", "shufflenet", "squeezenet", "vgg19",
         "bvlc_alexnet", "zfnet512"]


def _compare(src, inputs: list[np.ndarray], precision: str, **kw) -> zenith.CompiledModel:
    ref = zenith.compile(src, target="cpu", **kw)
    want = ref.run(inputs)
    cm = zenith.compile(src, target="cuda", precision=precision, **kw)
    assert cm.target == "cuda"
    for rep in range(3):  # direct launches, graph capture, graph replay
        got = cm.run(inputs)
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            assert_matches(w, g, precision, f"output #{i}, call {rep}")
    return cm


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_bert_base(bert_base_path: Path, precision: str):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30522, (1, 128)).astype(np.int64)
    mask = (np.arange(128) < 100).astype(np.int64)[None]
    _compare(str(bert_base_path), [ids, mask], precision)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_gpt2_block(gpt2_block_path: Path, precision: str):
    h = np.random.default_rng(1).standard_normal((1, 128, 768)).astype(np.float32)
    _compare(str(gpt2_block_path), [h], precision)


def _light(name: str) -> tuple[onnx.ModelProto, np.ndarray]:
    from zenith.tools.models import light_model_path, randomize_light_model

    m = randomize_light_model(light_model_path(name), max_random=4_000_000)
    dims = [d.dim_value or 1 for d in m.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(2).standard_normal(dims).astype(np.float32)
    return m, x


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_resnet50(precision: str):
    m, x = _light("resnet50")
    _compare(m, [x], precision)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", [n for n in LIGHT if n != "resnet50"])
def test_light_models(name: str, precision: str):
    m, x = _light(name)
    _compare(m, [x], precision)
