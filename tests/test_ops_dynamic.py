"""The run-time-parameter ops agree with their static ops; data-dependent ops match ONNX Runtime.

A ``_dyn`` op with constant parameters must have exactly the static op's result
type and values (constant folding relies on it); with run-time parameters its
type rule gives what it can (the rank, untouched dims) and ``?`` elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import T, i64, infer, ort, run
from zenith.ir import ZenithError, dtype

RNG = np.random.default_rng(4)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _same(want, got):
    assert want.shape == got.shape and want.dtype == got.dtype and np.array_equal(want, got)


def _agree(static: str, dyn: str, x: np.ndarray, params: list[np.ndarray | None], dyn_attrs=None,
           **attrs):
    """``dyn`` with constant params == ``static`` (types and values), and with run-time ones too."""
    ops = [x] + [p for p in params if p is not None]
    consts = range(1, len(ops))
    dyn_attrs = dyn_attrs or {}
    want = run(static, [x], **attrs)
    assert infer(dyn, ops, consts=consts, **dyn_attrs) == infer(static, [x], **attrs)
    for got in (run(dyn, ops, consts=consts, **dyn_attrs), run(dyn, ops, **dyn_attrs)):
        for w, g in zip(want, got, strict=True):
            _same(w, g)


# -- agreement with the static ops ----------------------------------------------------


@pytest.mark.parametrize("spec", [(4, -1), (0, 3, 2), (-1,), (2, 0, -1)])
def test_reshape_dyn_agrees(spec):
    x = _x(4, 3, 2)
    _agree("zt.reshape", "zt.reshape_dyn", x, [i64(*spec)], shape=spec)


@pytest.mark.parametrize("shape", [(2, 1, 3), (3,), (1, 1, 1, 1)])
def test_expand_dyn_agrees(shape):
    _agree("zt.expand", "zt.expand_dyn", _x(2, 1, 1), [i64(*shape)], shape=shape)


@pytest.mark.parametrize("starts, ends, axes, steps", [
    ((1,), (-1,), None, None), ((-1, 0), (-2**63, 2**63 - 1), (1, 0), (-1, 2)),
    ((0,), (100,), (-1,), None), ((3, 0), (0, 2), (0, 2), (-2, 1)),
])
def test_slice_dyn_agrees(starts, ends, axes, steps):
    x = _x(5, 4, 3)
    params = [i64(*starts), i64(*ends), None if axes is None else i64(*axes),
              None if steps is None else i64(*steps)]
    if axes is None and steps is not None:
        params[2] = i64(*range(len(starts)))
    attrs = {"starts": starts, "ends": ends} | ({"axes": axes} if axes else {}) | \
        ({"steps": steps} if steps else {})
    _agree("zt.slice", "zt.slice_dyn", x, params, **attrs)


@pytest.mark.parametrize("repeats", [(1, 2), (0, 3)])
def test_tile_dyn_agrees(repeats):
    _agree("zt.tile", "zt.tile_dyn", _x(2, 3), [i64(*repeats)], repeats=repeats)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad_dyn_agrees(mode):
    x = _x(3, 4)
    pads = (1, -1, 2, 1)
    value = np.array(2.5, np.float32) if mode == "constant" else None
    attrs = {"pads": pads, "mode": mode} | ({"value": 2.5} if value is not None else {})
    _agree("zt.pad", "zt.pad_dyn", x, [i64(*pads), value], dyn_attrs={"mode": mode}, **attrs)


def test_pad_dyn_axes_and_default_value():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    _agree("zt.pad", "zt.pad_dyn", x, [i64(2, 1)], dyn_attrs={"axes": (-1,)}, pads=(2, 1), axes=(-1,))


def test_fill_dyn_and_range_dyn_agree():
    from tests.test_ops_generate import _make

    shape = (2, 0, 3)
    t, want = _make("zt.fill", shape=shape, value=7, dtype=dtype("i32"))
    assert infer("zt.fill_dyn", [i64(*shape)], consts=[0], value=7, dtype=dtype("i32")) == [t]
    for consts in ([0], []):
        _same(want, run("zt.fill_dyn", [i64(*shape)], consts=consts, value=7, dtype=dtype("i32"))[0])
    for dt, vals in [("f32", (0.1, 1.0, 0.3)), ("i64", (10, -3, -4)), ("f64", (2.0, 2.0, 1.0))]:
        start, limit, delta = vals
        t, want = _make("zt.range", start=start, limit=limit, delta=delta, dtype=dtype(dt))
        ops = [np.array(v, dtype(dt).np_dtype) for v in vals]
        assert infer("zt.range_dyn", ops, consts=[0, 1, 2]) == [t]
        assert infer("zt.range_dyn", ops) == [T(dt, None)]
        _same(want, run("zt.range_dyn", ops)[0])
        np.testing.assert_allclose(ort("Range", ops)[0], want, rtol=1e-6)  # ORT accumulates


# -- type rules with run-time parameters ----------------------------------------------


def test_dyn_types_without_constants():
    assert infer("zt.reshape_dyn", [T("f32", "n", 4), T("i64", 3)]) == [T("f32", None, None, None)]
    assert infer("zt.reshape_dyn", [T("f32", 2, 3, 4), T("i64", 1)]) == [T("f32", 24)]
    assert infer("zt.reshape_dyn", [T("f32", "n", 1), T("i32", 1)]) == [T("f32", "n")]
    assert infer("zt.expand_dyn", [T("f32", "n", 1, 5), T("i64", 2)]) == [T("f32", "n", None, 5)]
    assert infer("zt.expand_dyn", [T("f32", 3), T("i64", 3)]) == [T("f32", None, None, 3)]
    assert infer("zt.slice_dyn", [T("f32", "n", 4, 5), T("i64", 2), T("i64", 2)]) == \
        [T("f32", None, None, 5)]
    assert infer("zt.slice_dyn", [T("f32", "n", 4, 5), T("i64", 1), T("i64", 1), i64(-1)],
                 consts=[3]) == [T("f32", "n", 4, None)]
    assert infer("zt.slice_dyn", [T("f32", "n", 4), T("i64", None), T("i64", None)]) == \
        [T("f32", None, None)]
    assert infer("zt.tile_dyn", [T("f32", "n", 0), T("i64", 2)]) == [T("f32", None, 0)]
    assert infer("zt.pad_dyn", [T("f32", "n", 4), T("i64", 2)], axes=(1,)) == [T("f32", "n", None)]
    assert infer("zt.fill_dyn", [T("i64", 3)]) == [T("f32", None, None, None)]


def test_dyn_type_errors():
    cases = [
        ("zt.reshape_dyn", [T("f32", 4), T("i64", "k")], {}, "must have a static length"),
        ("zt.reshape_dyn", [T("f32", 4), T("f32", 1)], {}, "shape must have an integer dtype"),
        ("zt.reshape_dyn", [T("f32", 4), T("i64", 1, 1)], {}, "shape must have rank 1"),
        ("zt.expand_dyn", [T("f32", 4), T("i64", None)], {}, "must have a static length"),
        ("zt.slice_dyn", [T("f32", 4), T("i64", 1), T("i64", 2)], {}, "must have equal lengths"),
        ("zt.slice_dyn", [T("f32", 4), T("i64", 2), T("i64", 2)], {}, "slice of 2 axes of a rank-1"),
        ("zt.tile_dyn", [T("f32", 4), T("i64", 2)], {}, "one entry per dim"),
        ("zt.pad_dyn", [T("f32", 4), T("i64", 3)], {}, "must have 2 entries"),
        ("zt.pad_dyn", [T("f32", 4), T("i64", 2)], {"mode": "mirror"}, "pad mode 'mirror'"),
        ("zt.pad_dyn", [T("f32", 4), T("i64", 2), T("f16")], {}, "operand #2 has dtype f16"),
        ("zt.pad_dyn", [T("f32", 4), T("i64", 2), T("f32", 2)], {}, "must be a scalar"),
        ("zt.fill_dyn", [T("i64", "r")], {}, "must have a static length"),
        ("zt.range_dyn", [T("i64"), T("i32"), T("i64")], {}, "operand #1 has dtype i32"),
        ("zt.range_dyn", [T("bool"), T("bool"), T("bool")], {}, "needs a numeric dtype"),
        ("zt.range_dyn", [T("i64", 2), T("i64"), T("i64")], {}, "start must be a scalar"),
    ]
    for name, ops, attrs, match in cases:
        with pytest.raises(ZenithError, match=match):
            infer(name, ops, **attrs)


def test_dyn_run_time_errors_name_the_problem():
    with pytest.raises(ZenithError, match="cannot reshape \\[2, 3\\]"):
        run("zt.reshape_dyn", [_x(2, 3), i64(4, -1)])
    with pytest.raises(ZenithError, match="cannot expand"):
        run("zt.expand_dyn", [_x(2, 3), i64(4, 3)])
    with pytest.raises(ZenithError, match="steps \\[0\\] contain 0"):
        run("zt.slice_dyn", [_x(3), i64(0), i64(1), i64(0), i64(0)])
    with pytest.raises(ZenithError, match="range delta must not be 0"):
        run("zt.range_dyn", [np.array(0), np.array(3), np.array(0)])
    with pytest.raises(ZenithError, match="fill shape \\[2, -1\\] has negative entries"):
        run("zt.fill_dyn", [i64(2, -1)])


# -- nonzero / compress / unique ------------------------------------------------------


@pytest.mark.parametrize("x", [
    np.array([[1, 0, 2], [0, 0, 3]], np.float32), np.zeros((2, 0), np.int32),
    np.array([True, False, True]), np.array(5.0, np.float32), np.array(0, np.int64),
])
def test_nonzero_matches_onnx(x):
    got = run("zt.nonzero", [x])[0]
    _same(ort("NonZero", [x])[0], got)
    (t,) = infer("zt.nonzero", [x])
    assert t.rank == 2 and t.shape[0] == max(x.ndim, 1)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("cond", [[True, False, True], [False], [True, True, False, True, True, True],
                                  []])
def test_compress_matches_onnx(axis, cond):
    x = _x(4, 3)
    c = np.array(cond, dtype=bool)
    kw = {} if axis is None else {"axis": axis}
    want = ort("Compress", [x, c], **kw)[0]
    _same(want, run("zt.compress", [x, c], **kw)[0])
    (t,) = infer("zt.compress", [x, c], consts=[1], **kw)
    assert t.shape == want.shape  # a constant condition gives the exact length
    (t,) = infer("zt.compress", [T("f32", "n", 3), T("bool", "k")], **kw)
    assert t == (T("f32", None) if axis is None else
                 T("f32", *[None if i == axis % 2 else d for i, d in enumerate(("n", 3))]))


def test_compress_errors():
    with pytest.raises(ZenithError, match="condition must be bool"):
        infer("zt.compress", [T("f32", 3), T("i64", 3)])
    with pytest.raises(ZenithError, match="condition must have rank 1"):
        infer("zt.compress", [T("f32", 3), T("bool", 1, 3)])


@pytest.mark.parametrize("sorted_", [True, False])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_unique_matches_onnx(sorted_, axis):
    x = np.array([[2, 1, 2], [0, 1, 0], [2, 1, 2], [-1, 5, -1]], np.float32)
    kw = {"sorted": int(sorted_)} | ({} if axis is None else {"axis": axis})
    want = ort("Unique", [x], n_out=4, **kw)
    got = run("zt.unique", [x], sorted=sorted_, **({} if axis is None else {"axis": axis}))
    for w, g in zip(want, got, strict=True):
        _same(w, g)


@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), 0), ((2, 0), 0), ((2, 0), 1)])
def test_unique_of_empty(shape, axis):
    """Judged by the sample's dictionary oracle: ONNX Runtime aborts the process here."""
    from tests.opsamples.dynamic import _unique_oracle

    x = np.zeros(shape, np.float32)
    kw = {} if axis is None else {"axis": axis}
    for w, g in zip(_unique_oracle([x], kw), run("zt.unique", [x], **kw), strict=True):
        _same(w, g)
    if shape == (2, 0) and axis == 0:  # two equal empty rows
        assert run("zt.unique", [x], **kw)[3].tolist() == [2]


def test_unique_types_and_nan():
    y, idx, inv, counts = infer("zt.unique", [T("i32", "n", 3)])
    assert (y, idx, inv, counts) == (T("i32", None), T("i64", None), T("i64", None), T("i64", None))
    y, _, inv, _ = infer("zt.unique", [T("i32", "n", 3)], axis=-1)
    assert (y, inv) == (T("i32", "n", None), T("i64", 3))
    assert infer("zt.unique", [T("u8", 2, 3)])[2] == T("i64", 6)
    with pytest.raises(ZenithError, match="unique needs an ordered dtype"):
        infer("zt.unique", [T("c64", 3)])
    # NaNs equal each other and sort last, as numpy.unique (ORT's answer here is not usable)
    x = np.array([np.nan, 1.0, np.nan, -0.0, 0.0, 1.0], np.float32)
    got = run("zt.unique", [x])
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(np.asarray(w).reshape(g.shape), g)
