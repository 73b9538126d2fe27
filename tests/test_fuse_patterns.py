"""Each recognition pattern of ``fuse``: exporter-style spellings match, near misses do not.

Every case runs the interpreter before and after ``fuse`` on random inputs and
compares; positive cases must also produce the fused op, near misses must not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from tests.fuse_util import run_and_compare
from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, dtype
from zenith.ir.core import Value

DT = "f32"


class G:
    """A tiny graph builder: ``g.c(0.5)`` is a scalar constant of the graph's dtype."""

    def __init__(self, shapes: list[tuple], dt: str = DT, arg_dtypes: list[str] | None = None) -> None:
        self.dt = dtype(dt)
        types = [TensorType(dtype(d), s) for d, s in zip(arg_dtypes or [dt] * len(shapes), shapes)]
        self.m = Module()
        self.fn = self.m.add_function(Function("main", types, []))
        self.b = Builder.at_end(self.fn.body)
        self.args = list(self.fn.args)

    def c(self, value, shape: tuple = ()) -> Value:
        arr = np.broadcast_to(np.asarray(value, self.dt.np_dtype), shape) if shape else \
            np.asarray(value, self.dt.np_dtype)
        return self.b.op("zt.constant", value=DenseAttr(np.array(arr)))

    def const(self, arr: np.ndarray) -> Value:
        return self.b.op("zt.constant", value=DenseAttr(np.asarray(arr)))

    def __getattr__(self, name: str) -> Callable[..., Value]:
        return lambda *xs, **attrs: self.b.op(f"zt.{name}", *xs, **attrs)

    def done(self, *outs: Value) -> Module:
        self.b.create("func.return", list(outs))
        self.fn.sync_signature()
        return self.m


def ops_after(m: Module) -> list[str]:
    """Every op name in the fused function, kernel bodies included."""
    return [op.name for op in m.main.walk()]


def fused(m: Module, pipeline: str = "fuse") -> list[str]:
    return ops_after(run_and_compare(m, pipeline))


# -- GELU, SiLU ---------------------------------------------------------------------------

def _gelu_bert(g: G, x: Value, sqrt2: float = math.sqrt(2)) -> Value:  # torch.onnx.export, erf form
    d = g.div(x, g.c(sqrt2))
    return g.mul(g.mul(x, g.add(g.erf(d), g.c(1.0))), g.c(0.5))


def _gelu_front(g: G, x: Value) -> Value:  # 0.5 * x * (1 + erf(x * 1/sqrt2))
    return g.mul(g.mul(g.c(0.5), x), g.add(g.c(1.0), g.erf(g.mul(x, g.c(1 / math.sqrt(2))))))


def _gelu_tanh_hf(g: G, x: Value, coeff: float = 0.044715) -> Value:  # NewGELU / gelu_new
    inner = g.mul(g.c(math.sqrt(2 / math.pi)), g.add(x, g.mul(g.c(coeff), g.pow(x, g.c(3.0)))))
    return g.mul(g.mul(g.c(0.5), x), g.add(g.c(1.0), g.tanh(inner)))


def _gelu_tanh_fast(g: G, x: Value) -> Value:  # x * 0.7978845608 * (1 + 0.044715 * x * x)
    inner = g.mul(g.mul(x, g.c(0.7978845608)), g.add(g.c(1.0), g.mul(g.mul(g.c(0.044715), x), x)))
    return g.mul(g.mul(x, g.c(0.5)), g.add(g.tanh(inner), g.c(1.0)))


@pytest.mark.parametrize("build, approx", [(_gelu_bert, "none"), (_gelu_front, "none"),
                                           (_gelu_tanh_hf, "tanh"), (_gelu_tanh_fast, "tanh")])
@pytest.mark.parametrize("dt", ["f32", "f64"])
def test_gelu_forms(build, approx, dt):
    g = G([(4, 16)], dt)
    x = g.relu(g.args[0])  # x itself computed: it must stay one value, not be flattened
    m = run_and_compare(g.done(build(g, x)))
    gelus = [op for op in m.main.walk() if op.name == "zt.gelu"]
    assert len(gelus) == 1 and gelus[0].attr("approximate") == approx
    assert not {"zt.erf", "zt.tanh", "zt.pow"} & set(ops_after(m))


def test_gelu_constant_must_be_as_exact_as_the_dtype():
    """sqrt(2) rounded to f32 (as exporters write it) matches in f32 graphs, not in f64 ones."""
    for dt, want in (("f32", True), ("f64", False)):
        g = G([(4, 16)], dt)
        y = _gelu_bert(g, g.args[0], sqrt2=float(np.float32(math.sqrt(2))))
        assert ("zt.gelu" in fused(g.done(y))) is want


@pytest.mark.parametrize("build", [
    lambda g, x, y: g.mul(g.mul(x, g.add(g.erf(g.div(x, g.c(1.4142135))), g.c(1.0))), g.c(0.6)),
    lambda g, x, y: g.mul(g.mul(x, g.add(g.erf(g.div(y, g.c(1.4142135))), g.c(1.0))), g.c(0.5)),
    lambda g, x, y: g.mul(g.mul(x, g.add(g.erf(x), g.c(1.0))), g.c(0.5)),
    lambda g, x, y: g.mul(g.mul(x, g.add(g.erf(g.div(x, g.c(1.4142135))), g.c(2.0))), g.c(0.5)),
    lambda g, x, y: _gelu_tanh_hf(g, x, coeff=0.05),
    lambda g, x, y: g.mul(g.mul(g.c(0.5), y), g.add(g.c(1.0), g.tanh(g.mul(g.c(0.79788456), x)))),
], ids=["half-is-0.6", "other-input-in-erf", "no-1/sqrt2", "1+1", "cubic-0.05", "no-cubic-term"])
def test_gelu_near_misses(build):
    g = G([(4, 16), (4, 16)])
    assert "zt.gelu" not in fused(g.done(build(g, *g.args)))


def test_silu_both_orders_and_a_near_miss():
    g = G([(8, 8), (8, 8)])
    x, y = g.args
    m = run_and_compare(g.done(g.mul(x, g.sigmoid(x)), g.mul(g.sigmoid(y), y), g.mul(x, g.sigmoid(y))))
    assert ops_after(m).count("zt.silu") == 2 and ops_after(m).count("zt.sigmoid") == 1


# -- layer norm, RMS norm ------------------------------------------------------------------

def _layer_norm(g: G, x: Value, axes=(-1,), eps=1e-5, square="pow", divide="div", var_axes=None) -> Value:
    mean = g.reduce_mean(x, axes=axes)
    d = g.sub(x, mean)
    sq = g.pow(d, g.c(2.0)) if square == "pow" else g.mul(d, d)
    var = g.reduce_mean(sq, axes=var_axes or axes)
    a = g.add(var, g.c(eps))
    if divide == "div":
        return g.div(d, g.sqrt(a))
    if divide == "rsqrt":
        return g.mul(g.rsqrt(a), d)
    return g.mul(d, g.reciprocal(g.sqrt(a)))


@pytest.mark.parametrize("square, divide", [("pow", "div"), ("mul", "rsqrt"), ("pow", "reciprocal")])
def test_layer_norm_with_scale_and_bias(square, divide):
    g = G([(2, 5, 16)])
    y = _layer_norm(g, g.args[0], eps=1e-12, square=square, divide=divide)
    y = g.add(g.mul(y, g.const(np.linspace(0.5, 2, 16, dtype=np.float32))), g.const(np.ones(16, np.float32)))
    m = run_and_compare(g.done(y))
    [ln] = [op for op in m.main.walk() if op.name == "zt.layer_norm"]
    assert ln.num_operands == 3 and ln.attr("epsilon") == pytest.approx(1e-12) and ln.attr("axis") == -1
    assert "zt.reduce_mean" not in ops_after(m)


def test_layer_norm_over_two_trailing_axes_and_bias_without_scale():
    g = G([(3, 4, 8)])
    y = g.add(_layer_norm(g, g.args[0], axes=(1, 2)), g.const(np.full((4, 8), 0.25, np.float32)))
    m = run_and_compare(g.done(y))
    [ln] = [op for op in m.main.walk() if op.name == "zt.layer_norm"]
    assert ln.attr("axis") == -2 and ln.num_operands == 3  # a scale of ones was added


@pytest.mark.parametrize("case", ["eps-after-sqrt", "leading-axis", "var-axes-differ", "var-of-other"])
def test_layer_norm_near_misses(case):
    g = G([(4, 6, 8), (4, 6, 8)])
    x, z = g.args
    if case == "eps-after-sqrt":
        d = g.sub(x, g.reduce_mean(x, axes=(-1,)))
        y = g.div(d, g.add(g.sqrt(g.reduce_mean(g.mul(d, d), axes=(-1,))), g.c(1e-5)))
    elif case == "leading-axis":
        y = _layer_norm(g, x, axes=(0,))
    elif case == "var-axes-differ":
        y = _layer_norm(g, x, axes=(-1,), var_axes=(-2, -1))
    else:
        d = g.sub(x, g.reduce_mean(x, axes=(-1,)))
        e = g.sub(z, g.reduce_mean(z, axes=(-1,)))
        y = g.div(d, g.sqrt(g.add(g.reduce_mean(g.mul(e, e), axes=(-1,)), g.c(1e-5))))
    # (var-axes-differ is an RMS norm of the centered x over two axes: that may match)
    assert "zt.layer_norm" not in fused(g.done(y))


def _rms_llama(g: G, x: Value, w: Value, axes=(-1,)) -> Value:
    var = g.reduce_mean(g.pow(x, g.c(2.0)), axes=axes)
    return g.mul(w, g.mul(x, g.reciprocal(g.sqrt(g.add(var, g.c(1e-6))))))


def test_rms_norm_llama_form_with_weight():
    g = G([(2, 7, 32)])
    m = run_and_compare(g.done(_rms_llama(g, g.args[0], g.const(np.linspace(-1, 1, 32, dtype=np.float32)))))
    [rms] = [op for op in m.main.walk() if op.name == "zt.rms_norm"]
    assert rms.num_operands == 2 and rms.attr("epsilon") == pytest.approx(1e-6)
    assert not {"zt.pow", "zt.sqrt", "zt.reduce_mean"} & set(ops_after(m))


def test_rms_norm_near_misses():
    g = G([(2, 7, 32), (2, 7, 32)])
    x, z = g.args
    other = g.mul(z, g.rsqrt(g.add(g.reduce_mean(g.mul(x, x), axes=(-1,)), g.c(1e-6))))
    lead = g.mul(x, g.rsqrt(g.add(g.reduce_mean(g.mul(x, x), axes=(0,)), g.c(1e-6))))
    assert "zt.rms_norm" not in fused(g.done(other, lead))


# -- softmax --------------------------------------------------------------------------------

@pytest.mark.parametrize("stable", [True, False])
@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax_and_log_softmax(stable, axis):
    g = G([(3, 5, 6)])
    x = g.args[0]
    t = g.sub(x, g.reduce_max(x, axes=(axis,))) if stable else x
    e = g.exp(t)
    sm = g.div(e, g.reduce_sum(e, axes=(axis,)))
    t2 = g.sub(x, g.reduce_max(x, axes=(axis,))) if stable else x
    lsm = g.sub(t2, g.log(g.reduce_sum(g.exp(t2), axes=(axis,))))
    m = run_and_compare(g.done(sm, lsm))
    names = ops_after(m)
    assert names.count("zt.softmax") == 1 and names.count("zt.log_softmax") == 1
    assert "zt.exp" not in names and "zt.reduce_sum" not in names
    [s] = [op for op in m.main.walk() if op.name == "zt.softmax"]
    assert s.attr("axis") % 3 == axis % 3


def test_softmax_near_misses():
    g = G([(3, 6), (3, 6)])
    x, y = g.args
    two_exps = g.div(g.exp(x), g.reduce_sum(g.exp(y), axes=(-1,)))
    two_axes = g.div(g.exp(x), g.reduce_sum(g.exp(x), axes=(0, 1)))
    assert "zt.softmax" not in fused(g.done(two_exps, two_axes))


# -- attention --------------------------------------------------------------------------------

B, H, S, D = 1, 2, 6, 4


def _sdpa(g: G, q, k, v, mask=None, cleanup=False, split_scale=True) -> Value:
    """torch.onnx's spelling: q*s and k^T*s (s = d^-1/4), + mask, softmax, isnan clean-up."""
    s = D ** -0.25
    kt = g.transpose(k, perm=(0, 2, 3, 1))  # k arrives as [B, S, H, D]
    if split_scale:
        scores = g.matmul(g.mul(q, g.c(s)), g.mul(kt, g.c(s)))
    else:
        scores = g.div(g.matmul(q, kt), g.c(math.sqrt(D)))
    if mask is not None:
        scores = g.add(scores, mask)
    p = g.softmax(scores, axis=-1)
    if cleanup:
        p = g.where(g.isnan(p), g.c(0.0), p)
    return g.matmul(p, v)


def _attention_op(m: Module):
    [att] = [op for op in m.main.walk() if op.name == "zt.attention"]
    return att


def test_attention_bert_export_with_bool_mask_and_cleanup():
    g = G([(B, H, S, D), (B, S, H, D), (B, H, S, D), (B, 1, 1, S)], arg_dtypes=["f32"] * 3 + ["bool"])
    q, k, v, keep = g.args
    mask = g.where(keep, g.c(0.0), g.c(-np.inf))
    m = run_and_compare(g.done(_sdpa(g, q, k, v, mask, cleanup=True)))
    att = _attention_op(m)
    assert att.attr("scale") == pytest.approx(D ** -0.5)
    assert att.operand(3).type.dtype.is_bool  # the where was seen through
    assert not {"zt.softmax", "zt.isnan", "zt.matmul"} & set(ops_after(m))
    # the k transpose composed to (0, 2, 1, 3): one transpose kernel, no matmul transposes
    assert [tuple(op.attr("perm")) for op in m.main.walk() if op.name == "zt.transpose"] == [(0, 2, 1, 3)]


def test_attention_fully_masked_rows_agree_with_the_cleanup():
    g = G([(B, H, S, D), (B, S, H, D), (B, H, S, D), (B, 1, 1, S)], arg_dtypes=["f32"] * 3 + ["bool"])
    q, k, v, keep = g.args
    mask = g.where(keep, g.c(0.0), g.c(-np.inf))
    rng = np.random.default_rng(1)
    ins = [rng.standard_normal(a.type.shape).astype(np.float32) for a in g.args[:3]]
    ins.append(np.zeros((B, 1, 1, S), bool))  # every key masked: the original gives 0 via the clean-up
    m = run_and_compare(g.done(_sdpa(g, q, k, v, mask, cleanup=True)), inputs=ins)
    _attention_op(m)


def test_attention_without_mask_and_causal_constant():
    g = G([(B, H, S, D), (B, S, H, D), (B, H, S, D)])
    q, k, v = g.args
    causal = np.triu(np.full((S, S), -np.inf, np.float32), 1)
    plain = _sdpa(g, q, k, v, split_scale=False)
    masked = _sdpa(g, q, k, v, g.const(causal))
    m = run_and_compare(g.done(plain, masked))
    atts = [op for op in m.main.walk() if op.name == "zt.attention"]
    assert len(atts) == 2 and [a.num_operands for a in atts] == [3, 3]
    assert [a.attr("causal") for a in atts] == [False, True]


def test_attention_three_dimensional():
    g = G([(2, S, D), (2, S, D), (2, S, D)])
    q, k, v = g.args
    p = g.softmax(g.mul(g.matmul(q, g.transpose(k, perm=(0, 2, 1))), g.c(0.5)), axis=-1)
    m = run_and_compare(g.done(g.matmul(p, v)))
    assert _attention_op(m).attr("scale") == 0.5


def test_attention_near_misses():
    g = G([(B, H, S, D), (B, S, H, D), (B, H, S, D), (B, H, S, S)])
    q, k, v, mask = g.args
    runtime_mask_no_cleanup = _sdpa(g, q, k, v, mask)  # a -inf row would be NaN, not 0
    kt = g.transpose(k, perm=(0, 2, 3, 1))
    wrong_axis = g.matmul(g.softmax(g.matmul(q, kt), axis=-2), v)
    assert "zt.attention" not in fused(g.done(runtime_mask_no_cleanup, wrong_axis))


# -- conv + batch norm ---------------------------------------------------------------------------

def _bn_params(g: G, c: int, seed: int = 0) -> list[Value]:
    rng = np.random.default_rng(seed)
    scale, bias, mean = (rng.uniform(-1, 1, c).astype(np.float32) for _ in range(3))
    var = rng.uniform(0.5, 2, c).astype(np.float32)
    return [g.const(a) for a in (scale, bias, mean, var)]


@pytest.mark.parametrize("with_bias", [True, False])
def test_conv_batch_norm_folds_into_the_weights(with_bias):
    g = G([(1, 4, 6, 6)])
    rng = np.random.default_rng(0)
    w = g.const(rng.standard_normal((8, 2, 3, 3)).astype(np.float32))
    bias = [g.const(rng.standard_normal(8).astype(np.float32))] if with_bias else []
    y = g.conv(g.args[0], w, *bias, group=2, pads=(1, 1, 1, 1))
    y = g.relu(g.batch_norm(y, *_bn_params(g, 8), epsilon=1e-3))
    m = run_and_compare(g.done(y))
    assert "zt.batch_norm" not in ops_after(m)
    [k] = [op for op in m.main.body if op.name == "zk.fused"]
    assert k.attr("kind") == "conv" and k.attr("name") == "k0_conv_relu"


def test_conv_transpose_batch_norm_with_groups():
    g = G([(1, 4, 5, 5)])
    w = g.const(np.random.default_rng(2).standard_normal((4, 3, 3, 3)).astype(np.float32))
    y = g.batch_norm(g.conv_transpose(g.args[0], w, group=2, strides=(2, 2)), *_bn_params(g, 6))
    m = run_and_compare(g.done(y))
    assert "zt.batch_norm" not in ops_after(m)


def test_batch_norm_without_conv_becomes_an_affine_epilogue():
    g = G([(2, 3, 4, 4)])
    x = g.args[0]
    shared = g.conv(x, g.const(np.ones((3, 3, 1, 1), np.float32)))
    y = g.batch_norm(shared, *_bn_params(g, 3))  # the conv is read twice: no folding
    m = run_and_compare(g.done(y, shared))
    names = ops_after(m)
    assert "zt.batch_norm" not in names and {"zt.mul", "zt.add"} <= set(names)
    [k] = [op for op in m.main.body if op.name == "zk.fused"]
    assert k.attr("kind") == "conv"  # the affine map is the conv's epilogue


# -- matmul + add -----------------------------------------------------------------------------

def outer(v: Value) -> Value:
    """The kernel operand a body's block argument stands for (``v`` itself otherwise)."""
    owner = getattr(v, "block", None)
    if owner is None or owner.parent is None or owner.parent.parent.name != "zk.fused":
        return v
    return owner.parent.parent.operand(v.index)


def _kernel_ops(m: Module) -> list[list[str]]:
    return [[o.name for o in op.regions[0].blocks[0] if o.name != "zk.yield"]
            for op in m.main.body if op.name == "zk.fused"]


def test_matmul_constant_weight_and_bias_become_linear():
    g = G([(1, 6, 8)])
    w = np.random.default_rng(0).standard_normal((8, 12)).astype(np.float32)
    y = g.add(g.const(np.ones(12, np.float32)), g.matmul(g.args[0], g.const(w)))
    m = run_and_compare(g.done(y))
    [lin] = [op for op in m.main.walk() if op.name == "zt.linear"]
    np.testing.assert_array_equal(outer(lin.operand(1)).op.attr("value").array, w.T)
    assert _kernel_ops(m) == [["zt.linear"]]


def test_shared_weight_is_transposed_once():
    g = G([(4, 8), (4, 8)])
    w = g.const(np.random.default_rng(0).standard_normal((8, 12)).astype(np.float32))
    b = g.const(np.ones(12, np.float32))
    m = run_and_compare(g.done(g.add(g.matmul(g.args[0], w), b), g.add(g.matmul(g.args[1], w), b)))
    lins = [op for op in m.main.walk() if op.name == "zt.linear"]
    assert len(lins) == 2 and outer(lins[0].operand(1)) is outer(lins[1].operand(1))


def test_transposed_weight_is_folded_and_bias_reshaped():
    g = G([(2, 3, 8), (12, 8), (1, 1, 12)])
    x, w, b = g.args
    m = run_and_compare(g.done(g.add(g.matmul(x, g.transpose(w, perm=(1, 0))), b)))
    [lin] = [op for op in m.main.walk() if op.name == "zt.linear"]
    assert outer(lin.operand(1)) is m.main.args[1] and lin.num_operands == 3
    assert "zt.transpose" not in ops_after(m)


def test_runtime_weight_gives_gemm_in_2d_and_stays_matmul_in_3d():
    g = G([(4, 8), (8, 12), (12,), (2, 4, 8)])
    x, w, b, x3 = g.args
    m = run_and_compare(g.done(g.add(g.matmul(x, w), b), g.add(g.matmul(x3, w), b)))
    assert _kernel_ops(m) == [["zt.gemm"], ["zt.matmul", "zt.add"]]


def test_matmul_add_near_miss_full_addend_is_not_a_bias():
    g = G([(4, 8), (4, 12)])
    w = g.const(np.ones((8, 12), np.float32))
    m = run_and_compare(g.done(g.add(g.matmul(g.args[0], w), g.args[1])))
    assert "zt.linear" not in ops_after(m)
    assert _kernel_ops(m) == [["zt.matmul", "zt.add"]]


def test_patterns_are_counted_per_name():
    from zenith.passes import run_pipeline

    g = G([(4, 16)])
    x = g.args[0]
    m = g.done(_gelu_bert(g, x), g.mul(x, g.sigmoid(x)))
    stats = run_pipeline(m, "fuse").records[0].stats
    assert stats["pattern-gelu-erf"] == 1 and stats["pattern-silu"] == 1 and stats["patterns-applied"] == 2
    m2 = G([(4, 16)])
    y = m2.args[0]
    mod = m2.done(m2.mul(y, m2.sigmoid(y)))
    run_pipeline(mod, "fuse{no-patterns=true}")
    assert "zt.silu" not in ops_after(mod)
