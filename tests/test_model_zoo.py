"""zenith.tools.models: the light models and their randomized weights."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from zenith.tools.models import light_model_path, randomize_light_model


def test_unknown_light_model_lists_the_known_ones():
    with pytest.raises(FileNotFoundError, match="resnet50"):
        light_model_path("no_such_net")


def test_randomized_weights_replace_constant_of_shape_and_expose_logits():
    path = light_model_path("squeezenet")
    before = onnx.load(str(path))
    m = randomize_light_model(path, seed=3)
    assert not any(n.op_type == "ConstantOfShape" for n in m.graph.node)
    assert len(m.graph.output) == len(before.graph.output) + 1
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    conv_w = [inits[n.input[1]] for n in m.graph.node if n.op_type == "Conv" and n.input[1] in inits]
    assert conv_w and all(np.std(w) > 0 for w in conv_w)
    again = randomize_light_model(path, seed=3)
    assert again.SerializeToString() == m.SerializeToString()


def test_torch_resnet50_has_torchvisions_size():
    torch = pytest.importorskip("torch")
    from zenith.tools.models import resnet50_module

    net = resnet50_module()
    assert sum(p.numel() for p in net.parameters()) == 25_557_032  # torchvision's ResNet-50
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_bert_module_stays_in_eval_mode_after_export(tmp_path):
    """torch.onnx.export restores the exported module's training flag recursively: the zoo's
    wrappers are in eval mode, so dropout stays off in the eager peer after exporting."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from zenith.tools.models import bert_module, export_onnx

    m = bert_module(num_hidden_layers=1, hidden_size=32, num_attention_heads=2, intermediate_size=64)
    ids = torch.zeros(1, 8, dtype=torch.long)
    export_onnx(m, (ids, torch.ones_like(ids)), tmp_path / "b.onnx")
    assert not any(mod.training for mod in m.modules())
