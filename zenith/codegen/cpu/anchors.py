"""Fast paths for anchor kernels: GEMMs (matmul, linear, gemm) and 2-D convolution.

The anchor writes into an output view (NumPy ``matmul(out=)``, BLAS underneath;
convolution by im2col into a scratch buffer kept by the kernel, then one GEMM per
image); its elementwise epilogue then runs over that buffer (``elementwise.chain``:
generated C or NumPy ufuncs). Anything else (integer or low-precision dtypes,
grouped or 1-D/3-D convolution, an anchor with a prologue) returns None and the
kernel runs its references.
"""

from __future__ import annotations

import numpy as np

from zenith.codegen.cpu.elementwise import chain
from zenith.codegen.cpu.kernel import CpuOptions, Run, body_ops, register
from zenith.ir.core import Operation, Value

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
        return f"numpy-{what}", run
    ext = [v for v in dict.fromkeys(x for o in epilogue for x in o.operands)
           if v in arg_pos]
    how, tail = chain(epilogue, [h, *ext], yields, options, op.attr("name"))
    picks = [arg_pos[v] for v in ext]

    def run(ins: list[np.ndarray], outs: list[np.ndarray]) -> None:
        dest = outs[dest_index]
        compute(ins, dest)
        tail([dest, *[ins[i] for i in picks]], outs)

    return f"numpy-{what}+{how}", run


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
    if anchor.name == "zt.linear":
        k, n = anchor.operand(1).type.shape[1], anchor.operand(1).type.shape[0]
        has_bias = anchor.num_operands == 3

        def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
            d2 = dest.reshape(-1, n)
            np.matmul(ins[pos[0]].reshape(-1, k), ins[pos[1]].T, out=d2)
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
            np.matmul(a.T if ta else a, b.T if tb else b, out=dest)
            if alpha != 1.0:
                np.multiply(dest, dest.dtype.type(alpha), out=dest)
            if has_c:
                c = ins[pos[2]]
                np.add(dest, c if beta == 1.0 else c * dest.dtype.type(beta), out=dest)
    else:
        return None
    return _with_epilogue(op, anchor, epilogue, compute, options, "gemm")


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

    def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
        x, w = ins[pos[0]], ins[pos[1]]
        w2 = w.reshape(m, -1)
        for i in range(n):
            d2 = dest[i].reshape(m, ho * wo)
            if pointwise:
                np.matmul(w2, x[i].reshape(c, hgt * wid), out=d2)
            else:
                np.copyto(interior, x[i])
                np.copyto(cols, win)
                np.matmul(w2, cols2, out=d2)
            if has_bias:
                np.add(d2, ins[pos[2]][:, None], out=d2)

    return _with_epilogue(op, anchor, epilogue, compute, options, "im2col-gemm")
