"""Session fixtures of the GPU tests: the reference models, exported once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def gpu_model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gpu-models")


@pytest.fixture(scope="session")
def bert_base_path(gpu_model_dir: Path) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from zenith.tools.models import export_bert

    return export_bert(gpu_model_dir / "bert_base_s128.onnx", seq=128)


@pytest.fixture(scope="session")
def gpt2_block_path(gpu_model_dir: Path) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from zenith.tools.models import export_gpt2_block

    return export_gpt2_block(gpu_model_dir / "gpt2_block_s128.onnx", seq=128)
