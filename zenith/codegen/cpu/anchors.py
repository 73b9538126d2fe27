"""Fast paths for anchor kernels: GEMMs (matmul, linear, gemm) and 2-D convolution.

The anchor writes into an output view (NumPy ``matmul(out=)``, BLAS underneath;
convolution by im2col into a scratch buffer kept by the kernel, then one GEMM per
image); its elementwise epilogue then runs over that buffer (``elementwise.chain``:
generated C or NumPy ufuncs). Anything else (integer or low-precision dtypes,
grouped or 1-D/3-D convolution, an anchor with a prologue) returns None and the
kernel runs its references.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zenith.codegen.cpu import cc, conv, softmax, winograd
from zenith.codegen.cpu.elementwise import chain
from zenith.codegen.cpu.kernel import CpuOptions, Run, body_ops, register
from zenith.codegen.cpu.parallel import MIN_FLOPS, matmul, run_parallel
from zenith.ir.builder import Builder
from zenith.ir.core import Operation, Value
from zenith.ir.types import TensorType

FLOATS = ("f32", "f64")


def _split(op: Operation) -> tuple[Operation, list[Operation]] | None:
    """(anchor, epilogue ops) when the anchor is the body's first op."""
    ops = body_ops(op)
    if not ops or not ops[0].has_trait("anchor") or any(o.regions for o in ops):
        return None
    return ops[0], ops[1:]


def _float(*vals: Value) -> bool:
    return all(v.type.dtype.name in FLOATS and v.type.is_static for v in vals)


def _with_epilogue(op: Operation, anchor: Operation, epilogue: list[Operation], compute,
                   options: CpuOptions, what: str) -> tuple[str, Run] | None:
    """Wrap ``compute(ins, dest)`` (the anchor into ``dest``) with the epilogue."""
    block = op.regions[0].blocks[0]
    args, yields = list(block.args), list(block.terminator.operands)
    h = anchor.results[0]
    if h in yields:
        dest_index = yields.index(h)
    elif len(yields) == 1 and yields[0].type == h.type:
        dest_index = 0  # the epilogue runs in place over the output
    else:
        return None
    arg_pos = {v: i for i, v in enumerate(args)}
    if not epilogue:
        def run(ins: list[np.ndarray], outs: list[np.ndarray]) -> None:
            compute(ins, outs[dest_index])
        return what, run
    ext = [v for v in dict.fromkeys(x for o in epilogue for x in o.operands)
           if v in arg_pos]
    how, tail = chain(epilogue, [h, *ext], yields, options, op.attr("name"))
    picks = [arg_pos[v] for v in ext]

    def run(ins: list[np.ndarray], outs: list[np.ndarray]) -> None:
        dest = outs[dest_index]
        compute(ins, dest)
        tail([dest, *[ins[i] for i in picks]], outs)

    return f"{what}+{how}", run


@register("matmul")
def build_gemm(op: Operation, options: CpuOptions) -> tuple[str, Run] | None:
    split = _split(op)
    if split is None:
        return None
    anchor, epilogue = split
    if not _float(*anchor.operands, anchor.results[0]):
        return None
    block = op.regions[0].blocks[0]
    pos = [list(block.args).index(v) if v in block.args else -1 for v in anchor.operands]
    if -1 in pos:
        return None
    threads = options.gemm_threads
    if anchor.name == "zt.linear" and anchor.num_operands == 3 and epilogue:
        return build_gemm(_bias_into_epilogue(op)[0], options)
    if anchor.name == "zt.linear":
        k, n = anchor.operand(1).type.shape[1], anchor.operand(1).type.shape[0]
        has_bias = anchor.num_operands == 3

        def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
            d2 = dest.reshape(-1, n)
            matmul(ins[pos[0]].reshape(-1, k), ins[pos[1]].T, d2, threads)
            if has_bias:
                np.add(d2, ins[pos[2]], out=d2)
    elif anchor.name == "zt.matmul":
        if anchor.operand(0).type.rank < 2 or anchor.operand(1).type.rank < 2:
            return None

        def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
            np.matmul(ins[pos[0]], ins[pos[1]], out=dest)
    elif anchor.name == "zt.gemm":
        ta, tb = anchor.attr("trans_a"), anchor.attr("trans_b")
        alpha, beta = anchor.attr("alpha"), anchor.attr("beta")
        has_c = anchor.num_operands == 3

        def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
            a, b = ins[pos[0]], ins[pos[1]]
            matmul(a.T if ta else a, b.T if tb else b, dest, threads)
            if alpha != 1.0:
                np.multiply(dest, dest.dtype.type(alpha), out=dest)
            if has_c:
                c = ins[pos[2]]
                np.add(dest, c if beta == 1.0 else c * dest.dtype.type(beta), out=dest)
    else:
        return None
    return _with_epilogue(op, anchor, epilogue, compute, options, "numpy-gemm")


def _bias_into_epilogue(op: Operation, per_channel: int = 0) -> tuple[Operation, Callable[[Run], Run]]:
    """A detached copy of the kernel with ``anchor(x, w, b)`` split into ``anchor(x, w)``
    and ``add(., b)``, so the bias rides the epilogue's one pass over the output
    instead of a NumPy pass of its own (BERT-base's FFN: ~1 ms per layer).

    ``per_channel`` > 0 (a convolution's bias over NCHW) views the bias as
    ``(C, 1, ..., 1)`` with that many trailing ones; the returned wrapper reshapes
    the bias input likewise at run time (a free view)."""
    copy = op.clone()
    anchor = body_ops(copy)[0]
    bias = anchor.operand(2)
    if per_channel and (bias not in copy.regions[0].blocks[0].args or len(bias.uses) != 1):
        raise _NotSplittable
    at = Builder.before_op(anchor)
    bare = at.create(anchor.name, [anchor.operand(0), anchor.operand(1)], dict(anchor.attributes),
                     [anchor.results[0].type])
    shape = tuple(bias.type.shape) + (1,) * per_channel
    if per_channel:
        bias.type = TensorType(bias.type.dtype, shape)
    biased = at.create("zt.add", [bare.results[0], bias], result_types=[anchor.results[0].type])
    anchor.results[0].replace_all_uses_with(biased.results[0])
    anchor.erase()
    if not per_channel:
        return copy, lambda run: run
    index = list(copy.regions[0].blocks[0].args).index(bias)

    def wrap(run: Run) -> Run:
        def viewed(ins: list[np.ndarray], outs: list[np.ndarray]) -> None:
            ins = list(ins)
            ins[index] = ins[index].reshape(shape)
            run(ins, outs)
        return viewed
    return copy, wrap


class _NotSplittable(Exception):
    """The bias cannot move into the epilogue (it is not a kernel input used once)."""


@register("conv")
def build_conv(op: Operation, options: CpuOptions) -> tuple[str, Run] | None:
    split = _split(op)
    if split is None:
        return None
    anchor, epilogue = split
    x_t, w_t = anchor.operand(0).type, anchor.operand(1).type
    if anchor.name != "zt.conv" or x_t.rank != 4 or not _float(*anchor.operands, anchor.results[0]):
        return None
    if (anchor.attr("group") or 1) != 1:
        return None
    made = _build_direct_conv(op, anchor, epilogue, options)
    if made is not None:
        return made
    if anchor.num_operands == 3 and epilogue:
        try:
            copy, wrap = _bias_into_epilogue(op, per_channel=2)
        except _NotSplittable:
            pass
        else:
            made = build_conv(copy, options)
            return None if made is None else (made[0], wrap(made[1]))
    block = op.regions[0].blocks[0]
    if any(v not in block.args for v in anchor.operands):
        return None
    pos = [list(block.args).index(v) for v in anchor.operands]
    n, c, hgt, wid = x_t.shape
    m, _, kh, kw = w_t.shape
    sh, sw = anchor.attr("strides") or (1, 1)
    dh, dw = anchor.attr("dilations") or (1, 1)
    pt, pl, pb, pr = anchor.attr("pads") or (0, 0, 0, 0)
    if min(pb, pr) < 0:
        return None
    _, _, ho, wo = anchor.results[0].type.shape
    dt = x_t.dtype.np_dtype
    pointwise = kh == kw == 1 and sh == sw == 1 and not any((pt, pl, pb, pr))
    has_bias = anchor.num_operands == 3
    # kernel-owned scratch: the padded image (borders stay zero) and the im2col matrix
    xp = np.zeros((c, hgt + pt + pb, wid + pl + pr), dt) if not pointwise else None
    cols = np.empty((c, kh, kw, ho, wo), dt) if not pointwise else None
    if xp is not None:
        s0, s1, s2 = xp.strides
        win = np.lib.stride_tricks.as_strided(
            xp, (c, kh, kw, ho, wo), (s0, s1 * dh, s2 * dw, s1 * sh, s2 * sw), writeable=False)
        interior = xp[:, pt:pt + hgt, pl:pl + wid]
        cols2 = cols.reshape(c * kh * kw, ho * wo)

    threads = options.gemm_threads

    def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
        x, w = ins[pos[0]], ins[pos[1]]
        w2 = w.reshape(m, -1)
        for i in range(n):
            d2 = dest[i].reshape(m, ho * wo)
            if pointwise:
                matmul(w2, x[i].reshape(c, hgt * wid), d2, threads)
            else:
                np.copyto(interior, x[i])
                np.copyto(cols, win)
                matmul(w2, cols2, d2, threads)
            if has_bias:
                np.add(d2, ins[pos[2]][:, None], out=d2)

    return _with_epilogue(op, anchor, epilogue, compute, options, "numpy-im2col-gemm")


def _build_direct_conv(op: Operation, anchor: Operation, epilogue: list[Operation],
                       options: CpuOptions) -> tuple[str, Run] | None:
    """The C direct convolution (``conv.py``) for f32 layers; the residual add and ReLU of
    the epilogue fused into its store when they are all of it, else run after it."""
    if not options.direct_conv or not options.use_c or not cc.available() or \
            any(v.type.dtype.name != "f32" for v in (*anchor.operands, anchor.results[0])):
        return None
    block = op.regions[0].blocks[0]
    args = list(block.args)
    if any(v not in args for v in anchor.operands):
        return None
    g = conv.geometry_of(anchor)
    if not conv.supported(g) or g.out_hw != tuple(anchor.results[0].type.shape[2:]):
        return None
    pos = [args.index(v) for v in anchor.operands]
    fused = conv.match_epilogue(anchor.results[0], epilogue, args)
    yields = list(block.terminator.operands)
    if fused is not None and len(yields) != 1:
        fused = None
    res_i, relu = fused if fused is not None else (None, False)
    engine = conv.DirectConv(g, options.threads, relu)
    wino = winograd.WinogradConv(g, options.threads, relu) \
        if options.winograd and winograd.profitable(g) else None
    weights = _ConvWeights(engine, wino, conv.is_constant(op.operand(pos[1])))
    has_bias = anchor.num_operands == 3

    def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
        x, w = ins[pos[0]], weights(ins[pos[1]])
        bias = ins[pos[2]] if has_bias else None
        res = ins[res_i] if res_i is not None else None
        for i in range(x.shape[0]):
            r = None if res is None else res[i]
            # Winograd declines (writing nothing) an image with NaN, infinity or huge values
            if w.u is None or not wino(x[i], w.u, bias, r, dest[i]):
                engine(x[i], w.direct(), bias, r, dest[i])

    name = "c-winograd-conv" if wino is not None else "c-direct-conv"
    if fused is not None:
        def run(ins: list[np.ndarray], outs: list[np.ndarray]) -> None:
            compute(ins, outs[0])
        tail = "+relu" * relu
        return f"{name}{'+add' if res_i is not None else ''}{tail}", run
    return _with_epilogue(op, anchor, epilogue, compute, options, name)


class _ConvWeights:
    """A convolution's weights in the engines' layouts: Winograd's transform when it runs
    (None when the weights are out of its range), the direct engine's packing on first
    need. Constant weights are prepared once (cached by the identity of their read-only
    array); weights that are kernel inputs again every call."""

    def __init__(self, engine: conv.DirectConv, wino: winograd.WinogradConv | None,
                 constant: bool) -> None:
        self.engine, self.wino, self.constant = engine, wino, constant
        self.cached: _Prepared | None = None

    def __call__(self, w: np.ndarray) -> _Prepared:
        if self.cached is not None and self.cached.src is w:
            return self.cached
        prepared = _Prepared(w, self.engine, None if self.wino is None else self.wino.pack(w))
        if self.constant and not w.flags.writeable:
            self.cached = prepared
        return prepared


class _Prepared:
    def __init__(self, src: np.ndarray, engine: conv.DirectConv, u: np.ndarray | None) -> None:
        self.src, self.engine, self.u, self.packed = src, engine, u, None

    def direct(self) -> np.ndarray:
        if self.packed is None:
            self.packed = self.engine.pack(self.src)
        return self.packed


@register("attention")
def build_attention(op: Operation, options: CpuOptions) -> tuple[str, Run] | None:
    """Attention without grouped heads, soft cap or windows: two batched GEMMs around an
    in-place softmax in a kernel-owned scores buffer (the reference's dead-row rule kept)."""
    split = _split(op)
    if split is None:
        return None
    anchor, epilogue = split
    a = anchor.attr
    q_t, k_t = anchor.operand(0).type, anchor.operand(1).type
    if anchor.name != "zt.attention" or q_t.dtype.name != "f32" or \
            not _float(*anchor.operands[:3], anchor.results[0]) or q_t.rank != 4 or \
            q_t.shape[1] != k_t.shape[1] or (a("softcap") or 0) > 0 or \
            (a("left_window_size") or -1) >= 0 or (a("right_window_size") or -1) >= 0:
        return None
    block = op.regions[0].blocks[0]
    if any(v not in block.args for v in anchor.operands):
        return None
    pos = [list(block.args).index(v) for v in anchor.operands]
    b, h, sq, d = q_t.shape
    skv = k_t.shape[2]
    if sq == 0 or skv == 0:
        return None
    dt = np.float32
    scale = dt(a("scale") if a("scale") is not None else 1.0 / np.sqrt(d))
    causal = None
    if a("causal"):
        off = 0 if (a("causal_align") or "upper_left") == "upper_left" else skv - sq
        i, j = np.arange(sq)[:, None], np.arange(skv)[None, :]
        causal = np.where(j > i + off, dt(-np.inf), dt(0))
    scores = np.empty((b, h, sq, skv), dt)
    peak = np.empty((b, h, sq, 1), dt)
    has_mask = len(pos) == 4

    c_softmax = options.use_c and cc.available()

    def attend(q, k, v, bias, scores, peak, dest) -> None:
        np.matmul(q, np.swapaxes(k, -1, -2), out=scores)
        if c_softmax and scores.flags.c_contiguous and (bias is None or bias.dtype == dt):
            # rows with every score -inf: 0 under a bias (as the reference), else 0/0
            softmax.softmax_rows(scores, scale, dead=0.0 if bias is not None else float("nan"),
                                 bias=bias)
            any_dead = False
        else:
            np.multiply(scores, scale, out=scores)
            if bias is not None:
                np.add(scores, bias, out=scores)
            with np.errstate(invalid="ignore", over="ignore"):
                np.max(scores, axis=-1, keepdims=True, out=peak)
                dead = ~np.isfinite(peak) & (peak < 0)
                any_dead = bool(dead.any())
                if any_dead:
                    peak[dead] = 0
                np.subtract(scores, peak, out=scores)
                np.exp(scores, out=scores)
                np.sum(scores, axis=-1, keepdims=True, out=peak)
                np.divide(scores, peak, out=scores)
        if bias is not None:
            bias_dead = np.all(np.isneginf(bias), axis=-1, keepdims=True)
            if any_dead or bias_dead.any():
                mask = bias_dead | dead if any_dead else bias_dead
                np.copyto(scores, dt(0), where=np.broadcast_to(mask, scores.shape))
        np.matmul(scores, v, out=dest)

    parts = min(options.gemm_threads, h) if b * h * sq * skv * d >= MIN_FLOPS // 2 else 1
    step = -(-h // parts)
    groups = [slice(i, min(i + step, h)) for i in range(0, h, step)]

    def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
        q, k, v = ins[pos[0]], ins[pos[1]], ins[pos[2]]
        bias = causal
        if has_mask:
            m = ins[pos[3]]
            if m.dtype == np.bool_:
                m = np.where(m, dt(0), dt(-np.inf))
            bias = m if bias is None else bias + m
        if bias is not None and bias.ndim < 4:
            bias = bias.reshape((1,) * (4 - bias.ndim) + bias.shape)
        if len(groups) == 1:
            attend(q, k, v, bias, scores, peak, dest)
            return

        def part(g: slice) -> None:
            bg = bias if bias is None or bias.shape[1] == 1 else bias[:, g]
            attend(q[:, g], k[:, g], v[:, g], bg, scores[:, g], peak[:, g], dest[:, g])

        run_parallel(part, groups)

    return _with_epilogue(op, anchor, epilogue, compute, options, "numpy-attention")
