"""Kind ``pool``: max/avg/lp pooling (NCHW, any spatial rank) and the global pools.

Windowed pools run one thread per output element (a grid-stride loop, as the
elementwise template): the window's taps are a nest of unrolled loops; a tap
outside the input is skipped. ``max_pool`` starts from -inf (a window entirely
in padding gives -inf, as the reference); ``avg_pool`` divides by the taps
inside the input, or, with ``count_include_pad``, inside the padded input (the
part of a ``ceil_mode`` window past the end padding never counts); ``lp_pool``
sums ``|x|^p``. Global pools are row reductions over the spatial axes (the
reduction template, ``reduction.py``). The elementwise epilogue runs on each
pooled value before it is stored.
"""

from __future__ import annotations

from zenith.codegen.cuda.common import (
    PRELUDE,
    acc_type,
    ctype,
    grid_1d,
    index_type,
    kernel_error,
    numel,
    signature,
    store,
)
from zenith.codegen.cuda.emit import Emitter, shape_of
from zenith.codegen.cuda.kernel import CudaKernel, CudaOptions, register
from zenith.codegen.cuda.reduction import Spec, find_anchor, reduction_kernel
from zenith.dialects.zt.nn import window_attrs
from zenith.ir.core import Operation

WINDOWED = {"zt.max_pool", "zt.avg_pool", "zt.lp_pool"}
GLOBAL = {"zt.global_avg_pool": "mean", "zt.global_max_pool": "max", "zt.global_lp_pool": "lp"}


@register("pool")
def generate_pool(kop: Operation, options: CudaOptions) -> CudaKernel:
    anchor = find_anchor(kop, WINDOWED | set(GLOBAL) | {"zt.max_pool_with_indices"})
    if anchor.name == "zt.max_pool_with_indices":
        raise kernel_error(kop, anchor, "max_pool_with_indices has no CUDA template")
    x = anchor.operands[0]
    if anchor.name in GLOBAL:
        op = GLOBAL[anchor.name]
        if op == "lp":
            p = int(anchor.attr("p"))
            if p not in (1, 2):
                raise kernel_error(kop, anchor, f"global_lp_pool with p={p} has no CUDA template")
            op = "l1" if p == 1 else "l2"
        return reduction_kernel(kop, anchor, Spec(x, tuple(range(2, len(shape_of(x)))), op))
    return _windowed(kop, anchor)


def _windowed(kop: Operation, anchor: Operation) -> CudaKernel:
    name = kop.attr("name")
    head, ins, outs = signature(kop, name)
    x, res = anchor.operands[0], anchor.results[0]
    xs, os_ = shape_of(x), shape_of(res)
    nsp = len(xs) - 2
    win = window_attrs(anchor, tuple(anchor.attr("kernel_shape")), nsp)
    kind = anchor.name[3:]
    acc = acc_type(x.type.dtype)
    f = "f" if acc == "float" else ""
    em = Emitter(kop, ins, "idx_t", indent=2)
    idx = em.unravel("i", os_)
    a, cnt = em.fresh("acc"), em.fresh("cnt")
    em.emit(f"{acc} {a} = {'zk_max<' + acc + ' >::id()' if kind == 'max_pool' else '0'};")
    if kind == "avg_pool":
        em.emit(f"int {cnt} = 0;")
    include = bool(anchor.attr("count_include_pad")) if kind == "avg_pool" else False
    pos, depth, conds, counted = [], 0, [], []
    for d in range(nsp):
        k, s, dil = win.kernel[d], win.strides[d], win.dilations[d]
        pb, pe = win.pads_begin[d], win.pads_end[d]
        em.emit("#pragma unroll")
        em.emit(f"for (int k{d} = 0; k{d} < {k}; ++k{d}) {{")
        em.indent += 1
        depth += 1
        p = em.ix(f"{idx[2 + d]} * {s} - {pb} + k{d} * {dil}" if s != 1 or pb or dil != 1 else
                  f"{idx[2 + d]} + k{d}")
        pos.append(p)
        conds.append(f"{p} >= 0 && {p} < {xs[2 + d]}")
        counted.append(f"{p} >= {-pb} && {p} < {xs[2 + d] + pe}")
    if include:
        em.emit(f"if ({' && '.join(counted)}) {cnt} += 1;")
    with em.block(f"if ({' && '.join(conds)})"):
        v = f"({acc})({em.value(x, (idx[0], idx[1], *pos))})"
        if kind == "max_pool":
            em.emit(f"{a} = zk_max<{acc} >::op({a}, {v});")
        elif kind == "avg_pool":
            em.emit(f"{a} += {v};")
            if not include:
                em.emit(f"{cnt} += 1;")
        else:
            em.emit(f"{a} += pow{f}(fabs{f}({v}), ({acc}){int(anchor.attr('p'))});")
    for _ in range(depth):
        em.indent -= 1
        em.emit("}")
    if kind == "avg_pool":
        val = f"{a} / ({acc}){cnt}"
    elif kind == "lp_pool":
        val = f"pow{f}({a}, ({acc})1 / ({acc}){int(anchor.attr('p'))})"
    else:
        val = a
    y = em.let(ctype(res.type.dtype), f"({ctype(res.type.dtype)})({val})", "y")
    return _finish(kop, anchor, em, idx, y, head, outs, {"template": f"pool/{kind}",
                                                         "window": "x".join(map(str, win.kernel))})


def _finish(kop: Operation, anchor: Operation, em: Emitter, idx: tuple[str, ...], y: str, head: str,
            outs: list[str], notes: dict) -> CudaKernel:
    """Bind the anchor's value ``y`` at ``idx``, store every yield, wrap in a grid-stride loop."""
    res = anchor.results[0]
    os_ = shape_of(res)
    em.bound[res] = lambda want: y if want == idx else _mismatch(kop, anchor)
    yields = list(kop.regions[0].blocks[0].ops[-1].operands)
    for k, v in enumerate(yields):
        if shape_of(v) != os_:
            raise kernel_error(kop, anchor, f"yield #{k} has shape {shape_of(v)}, not the anchor's {os_}")
        em.emit(f"{outs[k]}[i] = {store(kop.results[k].type.dtype, em.value(v, idx))};")
    n = numel(os_)
    idx_t = index_type(list(kop.operands) + list(kop.results))
    lines = [PRELUDE, f"{head} {{", f"  typedef {idx_t} idx_t;",
             "  const idx_t stride = (idx_t)blockDim.x * gridDim.x;",
             f"  for (idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; i < {n}; i += stride) {{"]
    lines += em.lines + ["  }", "}"]
    grid, block = grid_1d(n)
    return CudaKernel(name=kop.attr("name"), entry=kop.attr("name"), source="\n".join(lines) + "\n",
                      grid=grid, block=block, n_inputs=len(kop.operands), n_outputs=len(kop.results),
                      notes=notes)


def lrn_kernel(kop: Operation, anchor: Operation) -> CudaKernel:
    """zt.lrn (a ``reduction`` kernel): a window over the channels of each element, one thread each."""
    head, ins, outs = signature(kop, kop.attr("name"))
    x = anchor.operands[0]
    xs = shape_of(x)
    size = int(anchor.attr("size"))
    acc = acc_type(x.type.dtype)
    f = "f" if acc == "float" else ""
    em = Emitter(kop, ins, "idx_t", indent=2)
    idx = em.unravel("i", xs)
    s = em.fresh("sq")
    em.emit(f"{acc} {s} = 0;")
    em.emit("#pragma unroll")
    with em.block(f"for (int k = 0; k < {size}; ++k)"):
        c = em.ix(f"{idx[1]} - {(size - 1) // 2} + k")
        with em.block(f"if ({c} >= 0 && {c} < {xs[1]})"):
            v = em.value(x, (idx[0], c, *idx[2:]))
            em.emit(f"{s} += ({acc})({v}) * ({acc})({v});")
    bias, alpha, beta = (repr(float(anchor.attr(a))) + f for a in ("bias", "alpha", "beta"))
    den = f"pow{f}({bias} + {alpha} / {size} * {s}, {beta})"
    res = anchor.results[0]
    y = em.let(ctype(res.type.dtype), f"({ctype(res.type.dtype)})(({acc})({em.value(x, idx)}) / {den})", "y")
    return _finish(kop, anchor, em, idx, y, head, outs, {"template": "reduction/lrn", "window": str(size)})


def _mismatch(kop: Operation, anchor: Operation) -> str:
    raise kernel_error(kop, anchor, "the epilogue reads the pooled value at another index")
