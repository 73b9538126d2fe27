"""The C direct convolution (zenith/codegen/cpu/conv.py): the engine against a float64
reference over geometries and blockings, its fused epilogue through the runtime against
the interpreter, NaN semantics, weights that change between calls, and the fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_cpu_runtime import _const, _impls, _module, through_runtime
from zenith.codegen.cpu import CpuOptions, cc, generate, hostmem
from zenith.codegen.cpu.conv import DirectConv, Geometry, blocking, pack_weights
from zenith.interpreter import interpret
from zenith.passes import run_pipeline
from zenith.runtime.executable import Executable
from zenith.runtime.threads import blas_threads, set_blas_threads
from zenith.tolerance import assert_close

pytestmark = pytest.mark.skipif(not cc.available(), reason="no C compiler")
RTOL = 2e-5  # f32, against a float64 reference, relative to the output's largest magnitude


def reference(x, w, bias, res, g: Geometry, relu: bool) -> np.ndarray:
    """Float64 convolution of one image, tap by tap."""
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = g.strides, g.dilations, g.pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr)))
    ho, wo = g.out_hw
    out = np.zeros((g.M, ho, wo))
    for i in range(g.kh):
        for j in range(g.kw):
            patch = xp[:, i * dh:i * dh + (ho - 1) * sh + 1:sh, j * dw:j * dw + (wo - 1) * sw + 1:sw]
            out += np.einsum("mc,chw->mhw", w[:, :, i, j].astype(np.float64), patch)
    if bias is not None:
        out += bias[:, None, None]
    if res is not None:
        out += res
    return np.maximum(out, 0) if relu else out


GEOMETRIES = [
    Geometry(3, 9, 11, 8, 3, 3, pads=(1, 1, 1, 1)),                     # tail tiles, rows cross tiles
    Geometry(5, 7, 7, 4, 1, 1),                                        # 1x1, unpadded: x read in place
    Geometry(3, 23, 23, 8, 7, 7, (2, 2), pads=(3, 3, 3, 3)),           # the ResNet stem's shape
    Geometry(16, 10, 12, 12, 3, 3, (2, 2), pads=(1, 0, 1, 2)),         # asymmetric pads, stride 2
    Geometry(6, 12, 12, 4, 3, 3, dilations=(2, 2), pads=(2, 2, 2, 2)),
    Geometry(300, 5, 5, 16, 3, 3, pads=(1, 1, 1, 1)),                  # channel blocks (partial sums)
    Geometry(2100, 3, 3, 8, 1, 1),                                     # 1x1 channel blocks
    Geometry(7, 1, 30, 4, 1, 3, (1, 2), pads=(0, 1, 0, 1)),            # 1x3, stride along one axis
    Geometry(64, 7, 7, 64, 3, 3, pads=(1, 1, 1, 1)),                   # few pixels: split channels
]


def _name(g: Geometry) -> str:
    return f"C{g.C}-{g.H}x{g.W}-M{g.M}-k{g.kh}x{g.kw}-s{g.strides[0]}{g.strides[1]}"


@pytest.mark.parametrize("g", GEOMETRIES, ids=_name)
@pytest.mark.parametrize("threads", [1, 2])
def test_engine_matches_a_float64_reference(g, threads):
    rng = np.random.default_rng(g.C * 31 + g.M)
    ho, wo = g.out_hw
    for relu, with_bias, with_res in [(True, True, True), (False, False, False), (True, True, False)]:
        x = rng.standard_normal((g.C, g.H, g.W)).astype(np.float32)
        w = rng.standard_normal((g.M, g.C, g.kh, g.kw)).astype(np.float32)
        bias = rng.standard_normal(g.M).astype(np.float32) if with_bias else None
        res = rng.standard_normal((g.M, ho, wo)).astype(np.float32) if with_res else None
        engine = DirectConv(g, threads, relu)
        got = np.full((g.M, ho, wo), np.nan, np.float32)  # every element must be written
        engine(x, engine.pack(w), bias, res, got)
        want = reference(x, w, bias, res, g, relu)
        err = np.abs(got - want).max() / np.abs(want).max()
        assert err < RTOL, (g, threads, relu, with_bias, with_res, err)


def test_blockings_cover_both_splits_and_channel_blocks():
    """The geometries above exercise every branch of blocking() at 2 threads."""
    plans = [blocking(g, 2) for g in GEOMETRIES]
    assert any(split for _, _, split in plans) and any(not split for _, _, split in plans)
    assert any(kc < g.C for (kc, _, _), g in zip(plans, GEOMETRIES))


def test_weights_are_packed_per_channel_block_in_tile_order():
    w = np.arange(8 * 5 * 2 * 2, dtype=np.float32).reshape(8, 5, 2, 2)
    packed = pack_weights(w, kc=3)
    # block 0 (channels 0..2): [tile][tap][channel][4 rows]; its first run is rows 0..3 of tap 0, channel 0
    assert packed[:4].tolist() == [w[m, 0, 0, 0] for m in range(4)]
    assert packed[4:8].tolist() == [w[m, 1, 0, 0] for m in range(4)]
    block0 = 2 * 4 * 3 * 4  # 2 tiles x 4 taps x 3 channels x 4 rows
    assert packed[block0:block0 + 4].tolist() == [w[m, 3, 0, 0] for m in range(4)]
    assert packed.size == w.size


@pytest.mark.parametrize("threads", [1, 2])
def test_relu_keeps_nan_in_whole_and_partial_tiles(threads):
    """max(x, 0) of NaN is NaN in the reference (np.maximum); the fused ReLU must agree."""
    g = Geometry(4, 5, 7, 8, 3, 3, pads=(1, 1, 1, 1))  # 35 pixels: one whole tile, one partial
    rng = np.random.default_rng(0)
    x = rng.standard_normal((g.C, g.H, g.W)).astype(np.float32)
    x[1, 0, 0] = np.nan   # reaches pixels of the first (whole) tile
    x[2, 4, 6] = np.nan   # and of the last (partial) one
    w = rng.standard_normal((g.M, g.C, g.kh, g.kw)).astype(np.float32)
    engine = DirectConv(g, threads, relu=True)
    got = np.zeros((g.M, 5, 7), np.float32)
    engine(x, engine.pack(w), None, None, got)
    want = reference(x, w, None, None, g, relu=True)
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(want[:, 0, 0]).all()
    assert np.isnan(want[:, 4, 6]).all()
    ok = ~np.isnan(want)
    assert np.abs(got[ok] - want[ok]).max() < 1e-4


def test_generated_c_relu_keeps_nan():
    """The same rule in the elementwise C path (it used to map NaN to 0)."""
    m = _module([(64, 64)], lambda b, x: [b.op("zt.relu", b.op("zt.mul", x, x))])
    x = np.full((64, 64), -1.0, np.float32)
    x[3, 5] = np.nan
    exe = through_runtime(m, [x], CpuOptions(c_min_elements=1))
    assert any(i.startswith("c") for i in _impls(exe))
    assert np.isnan(exe([x])[0][3, 5])


def _conv_module(w, bias, epilogue, pads=(1, 1, 1, 1), n=2, hw=(9, 10), const_w=True):
    c, m_out = w.shape[1], w.shape[0]
    ho = hw[0] + pads[0] + pads[2] - w.shape[2] + 1
    wo = hw[1] + pads[1] + pads[3] - w.shape[3] + 1
    shapes = [(n, c, *hw), (n, m_out, ho, wo)] + ([] if const_w else [w.shape])

    def build(b, x, r, *wv):
        wt = _const(b, w) if const_w else wv[0]
        y = b.op("zt.conv", x, wt, _const(b, bias), pads=list(pads))
        return [epilogue(b, y, r)]

    return _module(shapes, build), shapes


EPILOGUES = {
    "c-direct-conv+add+relu": lambda b, y, r: b.op("zt.relu", b.op("zt.add", y, r)),
    "c-direct-conv+add": lambda b, y, r: b.op("zt.add", r, y),  # the residual on the left
    "c-direct-conv+relu": lambda b, y, r: b.op("zt.relu", y),
    "c-direct-conv+c": lambda b, y, r: b.op("zt.sigmoid", b.op("zt.mul", y, r)),
}


@pytest.mark.parametrize("impl", list(EPILOGUES))
def test_runtime_fuses_residual_and_relu_into_the_store(impl):
    """[add(residual)]? [relu]? ride the engine's store; anything else runs after it (chain)."""
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((8, 5, 3, 3)) / 6).astype(np.float32)
    bias = rng.standard_normal(8).astype(np.float32)
    m, shapes = _conv_module(w, bias, EPILOGUES[impl])
    ins = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    exe = through_runtime(m, ins, CpuOptions(c_min_elements=1))
    assert impl in _impls(exe)


def test_weights_that_are_inputs_are_repacked_every_call():
    """Packed weights are cached only for constants: a weight input may change between calls."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bias = np.zeros(4, np.float32)
    m, shapes = _conv_module(w, bias, EPILOGUES["c-direct-conv+add+relu"], const_w=False)
    fused = m.clone()
    run_pipeline(fused, "fuse,plan-memory")
    exe = Executable(generate(fused.main, CpuOptions()))
    assert any(i.startswith("c-direct-conv") for i in _impls(exe))
    x, r = (rng.standard_normal(s).astype(np.float32) for s in shapes[:2])
    for scale in (1.0, -2.0, 0.5):
        w_now = np.ascontiguousarray(w * scale)
        assert_close(interpret(m, [x, r, w_now])[0], exe([x, r, w_now])[0], scale=4.0)
    w_buf = w.copy()  # the same array, changed in place
    exe([x, r, w_buf])
    w_buf *= -1
    assert_close(interpret(m, [x, r, w_buf])[0], exe([x, r, w_buf])[0], scale=4.0)


def test_fallbacks_and_the_escape_hatch():
    rng = np.random.default_rng(3)
    w6 = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)  # 6 output channels: not a multiple of 4
    m, shapes = _conv_module(w6, np.zeros(6, np.float32), EPILOGUES["c-direct-conv+add+relu"])
    ins = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    assert all(i.startswith("numpy-im2col") for i in _impls(through_runtime(m, ins, CpuOptions())))
    w8 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    m, shapes = _conv_module(w8, np.zeros(8, np.float32), EPILOGUES["c-direct-conv+add+relu"])
    ins = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    assert all(i.startswith("numpy-im2col") for i in
               _impls(through_runtime(m, ins, CpuOptions(direct_conv=False))))
    assert all(i.startswith("numpy-im2col") for i in _impls(through_runtime(m, ins, CpuOptions(use_c=False))))


def test_program_runs_with_single_threaded_blas_and_restores_it():
    """A program with OpenMP convolutions keeps OpenBLAS's pool asleep while it runs."""
    if blas_threads() is None:
        pytest.skip("NumPy's BLAS is not a known OpenBLAS")
    rng = np.random.default_rng(4)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    m, shapes = _conv_module(w, np.zeros(8, np.float32), EPILOGUES["c-direct-conv+add+relu"])
    fused = m.clone()
    run_pipeline(fused, "fuse,plan-memory")
    exe = Executable(generate(fused.main, CpuOptions()))
    assert exe.program.info["blas_threads"] == 1
    seen = []
    kernel = next(iter(exe.program.kernels.values()))
    inner = kernel.run

    def spy(ins, outs):
        seen.append(blas_threads())
        inner(ins, outs)

    for i, launch in enumerate(exe._launches):
        exe._launches[i] = (spy, *launch[1:])
    before = blas_threads()
    try:
        set_blas_threads(2)
        exe([rng.standard_normal(s).astype(np.float32) for s in shapes])
        assert seen == [1] and blas_threads() == 2
    finally:
        set_blas_threads(before)


def test_hostmem_zeros_big_buffers_on_huge_page_boundaries(monkeypatch):
    big = hostmem.zeros((3, 1 << 19), np.float32)  # 6 MiB
    assert big.shape == (3, 1 << 19) and big.flags.c_contiguous and big.flags.writeable
    assert not big.any()
    if hostmem.enabled():
        assert big.ctypes.data % hostmem.HUGE_PAGE == 0
    big[2, -1] = 1.5  # the whole extent is usable
    small = hostmem.zeros(1000, np.float64)
    assert small.ctypes.data % hostmem.ALIGNMENT == 0 and not small.any()
    monkeypatch.setenv("ZENITH_HUGEPAGES", "0")
    plain = hostmem.zeros(1 << 21, np.uint8)
    assert not hostmem.enabled() and plain.ctypes.data % hostmem.ALIGNMENT == 0 and not plain.any()
