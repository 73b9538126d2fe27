"""Reference models for tests, demos and benchmarks, built locally (nothing is downloaded).

- the light models shipped inside the ``onnx`` package (``light_model_path``), with
  their constant weights replaced by random ones (``randomize_light_model``);
- BERT-base and a GPT-2 block from ``transformers`` configs with random weights,
  exported with ``torch.onnx.export(..., dynamo=False)`` (``export_bert``,
  ``export_gpt2_block``);
- ResNet-50 as a plain PyTorch module (``resnet50_module``) for the benchmarks'
  eager and torch.compile peers.

torch and transformers are imported only when used.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
BERT_INPUTS = ["input_ids", "attention_mask"]
BERT_OUTPUTS = ["last_hidden_state", "pooler_output"]


def light_model_path(name: str) -> Path:
    """A model of onnx/backend/test/data/light (``resnet50``, ``densenet121``...)."""
    path = LIGHT_DIR / f"light_{name}.onnx"
    if not path.exists():
        known = sorted(p.stem.removeprefix("light_") for p in LIGHT_DIR.glob("light_*.onnx"))
        raise FileNotFoundError(f"no light model '{name}'; the onnx package has {', '.join(known)}")
    return path


def randomize_light_model(path: str | Path, seed: int = 0, max_random: int | None = None
                          ) -> onnx.ModelProto:
    """A light model (constant weights from ConstantOfShape) with random weights instead, so
    its outputs depend on every layer: conv/gemm weights ~ N(0, 1/fan_in) (huge ones repeat
    one random block of a prime length), batch-norm scales in [0.2, 0.6] and variances in
    [0.5, 1.5], biases and means small. The input of the final Softmax (the logits) becomes
    an extra output: the probabilities alone are nearly one-hot. Weights of more than
    ``max_random`` elements keep their constant (cheap to export and load; the logits then
    still depend on every layer through the sum of the features)."""
    m = onnx.load(str(path))
    rng = np.random.default_rng(seed)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    role = {name: (node.op_type, i) for node in m.graph.node for i, name in enumerate(node.input)}
    pool = rng.standard_normal(1_000_003).astype(np.float32)  # prime length: no aligned repeats

    def normal(shape: tuple[int, ...], std: float) -> np.ndarray:
        if int(np.prod(shape)) <= pool.size:
            return (rng.standard_normal(shape) * std).astype(np.float32)
        return np.resize(pool * np.float32(std), shape)

    keep = []
    for node in m.graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in inits:
            keep.append(node)
            continue
        shape = tuple(int(d) for d in inits[node.input[0]])
        if max_random is not None and int(np.prod(shape)) > max_random:
            keep.append(node)
            continue
        op, i = role.get(node.output[0], ("", 0))
        if op in ("Conv", "Gemm") and i == 1:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
            arr = normal(shape, float(np.sqrt(1.0 / max(fan_in, 1))))
        elif op == "BatchNormalization" and i == 1:
            arr = rng.uniform(0.2, 0.6, shape)
        elif op == "BatchNormalization" and i == 4:
            arr = rng.uniform(0.5, 1.5, shape)
        else:
            arr = rng.uniform(-0.1, 0.1, shape)
        m.graph.initializer.append(numpy_helper.from_array(arr.astype(np.float32), node.output[0]))
    del m.graph.node[:]
    m.graph.node.extend(keep)
    softmax = [n for n in keep if n.op_type == "Softmax"]
    if softmax:
        m.graph.output.append(helper.make_tensor_value_info(softmax[-1].input[0],
                                                            TensorProto.FLOAT, None))
    return m


def export_onnx(module: Any, args: tuple, path: str | Path, **kw: Any) -> Path:
    """``torch.onnx.export`` (TorchScript exporter, opset 17) with its warnings silenced."""
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, **kw)
    return Path(path)


def bert_module(seed: int = 0, perturb: bool = True, **config: Any) -> Any:
    """A torch module ``(ids, mask) -> (last_hidden_state, pooler_output)``: BERT-base (or
    ``BertConfig(**config)``) with random weights; ``perturb`` makes biases and LayerNorm
    parameters non-trivial (transformers initialises them to 0 and 1)."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    bert = BertModel(BertConfig(**config)).eval()
    if perturb:
        with torch.no_grad():
            for name, p in bert.named_parameters():
                if name.endswith("bias") or "LayerNorm" in name:
                    p.add_(torch.randn_like(p) * 0.02)

    class Bert(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids, mask):
            out = self.bert(input_ids=ids, attention_mask=mask)
            return out.last_hidden_state, out.pooler_output

    return Bert().eval()  # eval on the wrapper: exporting restores the wrapper's mode recursively


def export_bert(path: str | Path, seq: int = 128, batch: int = 1, seed: int = 0,
                dynamic: bool = False, perturb: bool = True) -> Path:
    """BERT-base with random weights exported to ``path``; inputs ``input_ids`` and
    ``attention_mask`` of ``[batch, seq]`` (symbolic ``batch``/``seq`` with ``dynamic``)."""
    import torch

    ids = torch.zeros(batch, seq, dtype=torch.long)
    axes = {n: {0: "batch", 1: "seq"} for n in BERT_INPUTS} if dynamic else None
    return export_onnx(bert_module(seed, perturb), (ids, torch.ones_like(ids)), path,
                       input_names=BERT_INPUTS, output_names=BERT_OUTPUTS, dynamic_axes=axes)


def gpt2_block_module(seed: int = 0) -> Any:
    """A torch module ``hidden [b, n, 768] -> [b, n, 768]``: one GPT-2 block with a causal
    additive mask, random weights, eager attention."""
    import torch
    from transformers import GPT2Config
    from transformers.models.gpt2.modeling_gpt2 import GPT2Block

    torch.manual_seed(seed)
    cfg = GPT2Config()
    cfg._attn_implementation = "eager"
    block = GPT2Block(cfg, layer_idx=0).eval()

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = block

        def forward(self, h):
            n = h.shape[1]
            causal = torch.triu(torch.full((n, n), torch.finfo(h.dtype).min), diagonal=1)
            out = self.block(h, attention_mask=causal[None, None])
            return out[0] if isinstance(out, tuple) else out

    return Block().eval()


def export_gpt2_block(path: str | Path, seq: int = 128, batch: int = 1, seed: int = 0) -> Path:
    """A GPT-2 block exported to ``path``: input ``hidden`` [batch, seq, 768], output ``out``."""
    import torch

    return export_onnx(gpt2_block_module(seed), (torch.zeros(batch, seq, 768),), path,
                       input_names=["hidden"], output_names=["out"])


def resnet50_module(seed: int = 0, num_classes: int = 1000) -> Any:
    """ResNet-50 (bottleneck v1.5, torchvision's layout) in plain PyTorch with random weights and
    non-trivial batch-norm statistics (so folding them matters); eval mode, no torchvision."""
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width * 4
            relu = nn.ReLU(inplace=True)
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), relu,
                nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), relu,
                nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            skip = x if self.down is None else self.down(x)
            return torch.relu(self.body(x) + skip)

    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                               nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
            cin = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    net = nn.Sequential(*layers).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them matters
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.2, 0.6)
                m.bias.uniform_(-0.1, 0.1)
    return net
