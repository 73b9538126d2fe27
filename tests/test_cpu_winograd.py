"""Winograd F(4x4, 3x3) (zenith/codegen/cpu/winograd.py): the engine against a float64
reference over geometries, block shapes and thread splits; the input screen that hands
NaN, infinity and huge values to the direct convolution; weights out of range; and the
runtime choosing it (or not) with the same results as the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_cpu_conv import _conv_module, reference
from tests.test_cpu_runtime import _impls, through_runtime
from zenith.codegen.cpu import CpuOptions, cc
from zenith.codegen.cpu.conv import Geometry
from zenith.codegen.cpu.winograd import (
    WinogradConv,
    applies,
    profitable,
    tiles,
    transform_weights,
)
from zenith.interpreter import interpret
from zenith.tolerance import assert_close

pytestmark = pytest.mark.skipif(not cc.available(), reason="no C compiler")
# f32 against a float64 reference, relative to the output's largest magnitude. The
# transforms scale partial sums by up to ~100, so this is ~5x the direct convolution's
# bound (measured: 0.3-0.6e-5 on these geometries).
RTOL = 1e-4


def _pad(p: int) -> tuple[int, int, int, int]:
    return (p, p, p, p)


GEOMETRIES = [
    Geometry(3, 9, 11, 8, 3, 3, pads=_pad(1)),         # one block of 3 quads, partial quads
    Geometry(16, 17, 13, 12, 3, 3, pads=(0, 2, 1, 0)),  # asymmetric pads, ragged last tiles
    Geometry(20, 8, 8, 4, 3, 3, pads=_pad(1)),           # 2x2 tiles: one quad (the 4x8 tile)
    Geometry(24, 16, 16, 8, 3, 3, pads=_pad(1)),         # 4x4 tiles: four quads (the 4x16 tile)
    Geometry(32, 30, 5, 8, 3, 3, pads=_pad(1)),          # tall: quads of two tiles, many rows
    Geometry(64, 56, 56, 64, 3, 3, pads=_pad(1)),        # ResNet-50's first stage: tile blocks
    Geometry(40, 14, 14, 64, 3, 3, pads=_pad(1)),        # one block: the threads split channels
    Geometry(9, 6, 6, 4, 3, 3),                          # unpadded
]


def _name(g: Geometry) -> str:
    return f"C{g.C}-{g.H}x{g.W}-M{g.M}-p{''.join(map(str, g.pads))}"


def _data(g: Geometry, seed: int):
    rng = np.random.default_rng(seed)
    ho, wo = g.out_hw
    x = rng.standard_normal((g.C, g.H, g.W)).astype(np.float32)
    w = (rng.standard_normal((g.M, g.C, 3, 3)) / np.sqrt(9 * g.C)).astype(np.float32)
    bias = rng.standard_normal(g.M).astype(np.float32)
    res = rng.standard_normal((g.M, ho, wo)).astype(np.float32)
    return x, w, bias, res


@pytest.mark.parametrize("g", GEOMETRIES, ids=_name)
@pytest.mark.parametrize("threads", [1, 2])
def test_engine_matches_a_float64_reference(g, threads):
    x, w, bias, res = _data(g, g.C * 7 + g.M)
    ho, wo = g.out_hw
    for relu, b, r in [(True, bias, res), (False, None, None), (True, bias, None)]:
        engine = WinogradConv(g, threads, relu)
        got = np.full((g.M, ho, wo), np.nan, np.float32)  # every element must be written
        assert engine(x, engine.pack(w), b, r, got)
        want = reference(x, w, b, r, g, relu)
        err = np.abs(got - want).max() / np.abs(want).max()
        assert err < RTOL, (g, threads, relu, err)


def test_the_geometries_cover_every_tile_width_and_both_splits():
    # lanes of the first block: 4 a quad, up to 24 (the 4x8, 4x16 and 4x24 tiles)
    blocks = {min(4 * tiles(g)[0] * -(-tiles(g)[1] // 4), 24) for g in GEOMETRIES}
    assert {8, 16, 24} <= blocks
    splits = {WinogradConv(g, 2, False).args.split_k for g in GEOMETRIES}
    assert splits == {0, 1}


def test_weight_transform_is_g_w_gt_per_pair():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 3, 3, 3))
    u = transform_weights(w)
    from zenith.codegen.cpu.winograd import G

    want = G @ w[5, 2] @ G.T  # output channel 5 = tile row 1, lane 1; input channel 2
    assert u.shape == (36, 2, 3, 4)
    np.testing.assert_allclose(u[:, 1, 2, 1], want.ravel(), rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 3e19])
@pytest.mark.parametrize("where", [(0, 0, 0), (5, 13, 14)])  # a vector lane, a scalar tail
def test_screen_declines_inputs_it_cannot_compute_exactly(bad, where):
    """NaN and infinity must spread as in the reference, and huge values could overflow the
    transforms: the engine returns False and leaves dest alone."""
    g = Geometry(6, 14, 15, 8, 3, 3, pads=_pad(1))
    x, w, bias, res = _data(g, 1)
    x[where] = bad
    engine = WinogradConv(g, 2, True)
    dest = np.full((g.M, *g.out_hw), 7.0, np.float32)
    assert not engine(x, engine.pack(w), bias, res, dest)
    assert (dest == 7.0).all()
    x[where] = 1e18  # large but within the screen
    assert engine(x, engine.pack(w), bias, None, dest)


def test_weights_out_of_range_are_not_transformed():
    w = np.ones((4, 2, 3, 3), np.float32)
    assert transform_weights(w) is not None
    for bad in (np.nan, np.inf, 2.0 ** 33):
        w[1, 1, 2, 0] = bad
        assert transform_weights(w) is None


def test_profitable_layers():
    assert profitable(Geometry(64, 56, 56, 64, 3, 3, pads=_pad(1)))
    assert profitable(Geometry(256, 14, 14, 256, 3, 3, pads=_pad(1)))
    assert not profitable(Geometry(512, 7, 7, 512, 3, 3, pads=_pad(1)))  # 4 tiles
    assert not profitable(Geometry(3, 224, 224, 64, 3, 3, pads=_pad(1)))  # 3 channels
    assert not applies(Geometry(64, 56, 56, 64, 3, 3, (2, 2), pads=_pad(1)))
    assert not applies(Geometry(64, 56, 56, 64, 3, 3, dilations=(2, 2), pads=_pad(2)))
    assert not applies(Geometry(64, 56, 56, 64, 5, 5, pads=_pad(2)))
    assert not applies(Geometry(64, 56, 56, 66, 3, 3, pads=_pad(1)))


def _wino_module(const_w=True, c=16, hw=(18, 17)):
    rng = np.random.default_rng(5)
    w = (rng.standard_normal((8, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    bias = rng.standard_normal(8).astype(np.float32)
    m, shapes = _conv_module(w, bias, lambda b, y, r: b.op("zt.relu", b.op("zt.add", y, r)),
                             hw=hw, const_w=const_w)
    return m, shapes, rng


def test_runtime_picks_winograd_and_matches_the_interpreter():
    m, shapes, rng = _wino_module()
    ins = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    exe = through_runtime(m, ins, CpuOptions(), scale=8.0)
    assert "c-winograd-conv+add+relu" in _impls(exe)
    off = through_runtime(m, ins, CpuOptions(winograd=False))
    assert "c-direct-conv+add+relu" in _impls(off)


def test_runtime_falls_back_to_the_direct_conv_per_image():
    """An image with NaN or infinity runs the direct convolution, so the NaN pattern is
    the interpreter's; the batch's other image still runs Winograd."""
    m, shapes, rng = _wino_module()
    x, r = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    x[1, 3, 4, 5] = np.nan
    x[1, 0, 10, 10] = np.inf
    exe = through_runtime(m, [x, r], CpuOptions(), scale=8.0)
    got, want = exe([x, r])[0], interpret(m, [x, r])[0]
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(want[1]).any()
    assert not np.isnan(want[0]).any()


def test_weights_that_are_inputs_are_transformed_every_call():
    m, shapes, rng = _wino_module(const_w=False)
    ins = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    exe = through_runtime(m, ins, CpuOptions(), scale=8.0)
    assert "c-winograd-conv+add+relu" in _impls(exe)
    x, r, w = ins
    w_buf = w.copy()
    exe([x, r, w_buf])
    w_buf *= -3  # the same array, changed in place
    assert_close(interpret(m, [x, r, w_buf])[0], exe([x, r, w_buf])[0], scale=8.0)
    w_buf[0, 0, 0, 0] = np.nan  # out of Winograd's range: the direct convolution runs
    got, want = exe([x, r, w_buf])[0], interpret(m, [x, r, w_buf])[0]
    assert np.array_equal(np.isnan(got), np.isnan(want))
