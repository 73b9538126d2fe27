"""torch.compile(model, backend="zenith"): real Dynamo graphs compiled and run by Zenith."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from zenith.frontend.torch_dynamo import STATS
from zenith.ir.diagnostics import ZenithError

TOL = {"rtol": 1e-5, "atol": 1e-5}  # f32 against eager PyTorch


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


class Block(torch.nn.Module):
    """conv + batch norm + relu with a residual, pooling, a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.head = torch.nn.Linear(4, 3)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)) + x)
        return self.head(y.mean(dim=(2, 3))).softmax(-1)


def compiled_and_counts(model, *args, **kw):
    before = (STATS.compilations, STATS.calls)
    with torch.no_grad():
        out = torch.compile(model, backend="zenith", **kw)(*args)
    return out, STATS.compilations - before[0], STATS.calls - before[1]


def test_backend_is_registered_by_name():
    assert "zenith" in torch._dynamo.list_backends()


def test_cnn_block_matches_eager_and_really_runs_zenith():
    torch.manual_seed(0)
    m = Block().eval()
    x = torch.randn(2, 4, 9, 9)
    out, compiled, calls = compiled_and_counts(m, x)
    with torch.no_grad():
        torch.testing.assert_close(out, m(x), **TOL)
    assert compiled == 1 and calls == 1
    assert "zt.conv" in STATS.compiled[-1].ir


class Attention(torch.nn.Module):
    """A pre-norm causal self-attention block with a GELU MLP."""

    def __init__(self, d: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.up, self.down = torch.nn.Linear(d, 2 * d), torch.nn.Linear(2 * d, d)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(d, dim=-1)
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.down(torch.nn.functional.gelu(self.up(self.norm2(x))))


def test_attention_block_matches_eager():
    torch.manual_seed(1)
    m = Attention().eval()
    x = torch.randn(2, 7, 32)
    out, compiled, _ = compiled_and_counts(m, x)
    with torch.no_grad():
        torch.testing.assert_close(out, m(x), rtol=1e-4, atol=1e-5)
    assert compiled == 1


def test_unexportable_graph_names_the_operator():
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).eval()
    with torch.no_grad(), pytest.raises(ZenithError, match="_transformer_encoder_layer_fwd"):
        torch.compile(layer, backend="zenith")(torch.randn(2, 7, 32))


def test_graph_break_compiles_each_graph():
    def f(x):
        y = torch.tanh(x) * 2
        if y.sum() > 0:  # data-dependent: Dynamo breaks the graph here
            return y + 1
        return y - 1

    x = torch.randn(5, 3)
    out, compiled, calls = compiled_and_counts(f, x)
    torch.testing.assert_close(out, f(x), **TOL)
    assert compiled >= 2 and calls >= 2


def test_new_shape_compiles_again_and_parameters_follow_in_place_updates():
    torch.manual_seed(2)
    lin = torch.nn.Linear(3, 2).eval()
    fn = torch.compile(lin, backend="zenith", dynamic=False)
    with torch.no_grad():
        a, b = torch.randn(4, 3), torch.randn(6, 3)
        torch.testing.assert_close(fn(a), lin(a), **TOL)
        torch.testing.assert_close(fn(b), lin(b), **TOL)
        lin.weight.mul_(-2.0)  # frozen into the compiled graph: the version counter moves
        torch.testing.assert_close(fn(a), lin(a), **TOL)


def test_autograd_recording_is_a_clear_error():
    lin = torch.nn.Linear(3, 2)
    fn = torch.compile(lin, backend="zenith")
    with pytest.raises(Exception, match="inference graphs only"):
        fn(torch.randn(4, 3))
