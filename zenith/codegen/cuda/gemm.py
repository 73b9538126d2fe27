"""``matmul`` kernels: zt.matmul (batched, NumPy broadcasting), zt.linear, zt.gemm.

Each anchor becomes a :class:`GemmSpec` (index expressions of A and B, the
anchor's finish: bias, alpha, beta C) and one of two templates writes it
(gemm_templates.py): f16/bf16 on tensor cores when every GEMM dim is at least
16 (and the architecture has them), else the SIMT tiled kernel with tiles
chosen by shape. The fused epilogue (epilogue.py) runs in registers before the
store.
"""

from __future__ import annotations

import math

from zenith.codegen.cuda.epilogue import (
    Epilogue,
    KernelIO,
    broadcast_index,
    check_f8,
    find_anchor,
    kernel_io,
    load,
    op_attrs,
    static_shape,
    unflatten,
)
from zenith.codegen.cuda.gemm_templates import (
    SIMT_CONFIGS,
    WMMA_CONFIGS,
    GemmSpec,
    Operand,
    choose_simt,
    choose_wmma,
    grid_of,
    simt_source,
    use_async,
    wmma_source,
)
from zenith.codegen.cuda.kernel import CudaKernel, CudaOptions, register
from zenith.dialects.shape_rules import broadcast_shapes
from zenith.ir.core import Operation
from zenith.ir.diagnostics import ZenithError

ANCHORS = ("zt.matmul", "zt.linear", "zt.gemm")


def _arch_num(arch: str) -> int:
    try:
        return int(arch.split("_")[1])
    except (IndexError, ValueError):
        raise ZenithError(f"CUDA architecture '{arch}' is not of the form sm_XY") from None


def _fmt_lit(acc: str, x: float) -> str:
    return f"{float(x)!r}f" if acc == "float" else repr(float(x))


def _batch_offset(shape: tuple[int, ...], batch: tuple[int, ...], mat: int, b: str) -> str:
    """Flat offset of batch ``b`` (over ``batch``) into an operand with batch dims ``shape``."""
    if math.prod(shape) == 1:
        return "0"
    if tuple(shape) == tuple(batch):
        return f"{b} * {mat}"
    idx = broadcast_index(shape, batch, unflatten(b, batch))
    return f"({idx}) * {mat}"


def _matmul_spec(io: KernelIO, anchor: Operation, epi: Epilogue) -> GemmSpec:
    a_v, b_v = anchor.operands
    sa, sb = static_shape(a_v, io.where), static_shape(b_v, io.where)
    a2 = (1, sa[0]) if len(sa) == 1 else sa
    b2 = (sb[0], 1) if len(sb) == 1 else sb
    batch = tuple(int(d) for d in broadcast_shapes(a2[:-2], b2[:-2]))
    m, k, n = a2[-2], a2[-1], b2[-1]
    pa, pb = _ptr(io, anchor, 0), _ptr(io, anchor, 1)

    def coords(b: str, mm: str, nn: str) -> list[str]:
        return (unflatten(b, batch) + ([mm] if len(sa) > 1 else [])
                + ([nn] if len(sb) > 1 else []))

    return GemmSpec(
        io, math.prod(batch), m, n, k,
        Operand(pa, a_v.type.dtype,
                lambda b, i, kk: _sum(_batch_offset(a2[:-2], batch, m * k, b), f"{i} * {k}", kk), True,
                vec8=k % 8 == 0),
        Operand(pb, b_v.type.dtype,
                lambda b, kk, j: _sum(_batch_offset(b2[:-2], batch, k * n, b), f"{kk} * {n}", j), n == 1,
                vec8=(k if n == 1 else n) % 8 == 0),
        _acc(a_v), lambda acc, b, i, j: acc, coords,
        lambda b, i, j: _sum(f"(({b}) * {m} + {i}) * {n}" if math.prod(batch) > 1 else f"{i} * {n}", j),
        epi)


def _sum(*terms: str) -> str:
    return " + ".join(t for t in terms if t != "0") or "0"


def _ptr(io: KernelIO, anchor: Operation, i: int) -> str:
    v = anchor.operand(i)
    block = io.op.regions[0].blocks[0]
    if v not in block.args:
        raise ZenithError(f"{io.where}: operand #{i} of '{anchor.name}' is computed inside the kernel "
                          "(prologues are not supported by the GEMM templates)")
    return io.ins[block.args.index(v)]


def _acc(v) -> str:
    return "double" if v.type.dtype.name == "f64" else "float"


def _linear_spec(io: KernelIO, anchor: Operation, epi: Epilogue) -> GemmSpec:
    x_v, w_v = anchor.operands[:2]
    sx, sw = static_shape(x_v, io.where), static_shape(w_v, io.where)
    lead = sx[:-1]
    m, k, n = math.prod(lead), sx[-1], sw[0]
    acc = _acc(x_v)
    px, pw = _ptr(io, anchor, 0), _ptr(io, anchor, 1)
    finish = lambda a, b, i, j: a  # noqa: E731
    if len(anchor.operands) == 3:
        bias = anchor.operand(2)
        pbias = _ptr(io, anchor, 2)
        finish = lambda a, b, i, j: f"{a} + ({acc}){load(bias.type.dtype, f'{pbias}[{j}]')}"  # noqa: E731
    return GemmSpec(
        io, 1, m, n, k,
        Operand(px, x_v.type.dtype, lambda b, i, kk: f"{i} * {k} + {kk}", True, vec8=k % 8 == 0),
        Operand(pw, w_v.type.dtype, lambda b, kk, j: f"{j} * {k} + {kk}", True, vec8=k % 8 == 0),
        acc, finish, lambda b, i, j: unflatten(i, lead) + [j], lambda b, i, j: f"{i} * {n} + {j}", epi)


def _gemm_spec(io: KernelIO, anchor: Operation, epi: Epilogue) -> GemmSpec:
    a_v, b_v = anchor.operands[:2]
    at = op_attrs(anchor)
    sa, sb = static_shape(a_v, io.where), static_shape(b_v, io.where)
    m, k = (sa[1], sa[0]) if at["trans_a"] else sa
    n = sb[0] if at["trans_b"] else sb[1]
    acc = _acc(a_v)
    pa, pb = _ptr(io, anchor, 0), _ptr(io, anchor, 1)
    if at["trans_a"]:
        a_idx = lambda b, i, kk: f"{kk} * {m} + {i}"  # noqa: E731
    else:
        a_idx = lambda b, i, kk: f"{i} * {k} + {kk}"  # noqa: E731
    if at["trans_b"]:
        b_idx = lambda b, kk, j: f"{j} * {k} + {kk}"  # noqa: E731
    else:
        b_idx = lambda b, kk, j: f"{kk} * {n} + {j}"  # noqa: E731
    alpha, beta = at["alpha"], at["beta"]

    def finish(a: str, b: str, i: str, j: str) -> str:
        out = a if alpha == 1.0 else f"{_fmt_lit(acc, alpha)} * {a}"
        if len(anchor.operands) == 3:
            c = anchor.operand(2)
            cs = static_shape(c, io.where)
            ref = f"{_ptr(io, anchor, 2)}[{broadcast_index(cs, (m, n), [i, j])}]"
            cv = f"({acc}){load(c.type.dtype, ref)}"
            out = f"{out} + {cv if beta == 1.0 else f'{_fmt_lit(acc, beta)} * {cv}'}"
        return out

    return GemmSpec(
        io, 1, m, n, k,
        Operand(pa, a_v.type.dtype, a_idx, not at["trans_a"], vec8=(m if at["trans_a"] else k) % 8 == 0),
        Operand(pb, b_v.type.dtype, b_idx, bool(at["trans_b"]), vec8=(k if at["trans_b"] else n) % 8 == 0),
        acc, finish, lambda b, i, j: [i, j], lambda b, i, j: f"{i} * {n} + {j}", epi)


SPECS = {"zt.matmul": _matmul_spec, "zt.linear": _linear_spec, "zt.gemm": _gemm_spec}


def use_tensor_cores(spec: GemmSpec, options: CudaOptions) -> bool:
    """f16/bf16 with every dim >= 16 on sm_70+ (bf16: sm_80+), unless options say no."""
    dt = spec.a.dtype.name
    if not options.tensor_cores or dt not in ("f16", "bf16") or spec.b.dtype.name != dt:
        return False
    need = 80 if dt == "bf16" else 70
    return _arch_num(options.arch) >= need and min(spec.m, spec.n, spec.k) >= 16


def gemm_kernel(io: KernelIO, spec: GemmSpec, options: CudaOptions, template: str,
                tile: str | None = None) -> CudaKernel:
    """The CudaKernel of ``spec``: tensor cores where :func:`use_tensor_cores`, else SIMT;
    ``tile`` forces a configuration of the chosen template (tests)."""
    if spec.m == 0 or spec.n == 0 or spec.batch == 0:
        raise ZenithError(f"{io.where}: empty GEMM ({spec.batch} x {spec.m} x {spec.n})")
    if use_tensor_cores(spec, options):
        name = tile or choose_wmma(spec)
        cfg = WMMA_CONFIGS[name]
        arch = _arch_num(options.arch)
        src, kind = wmma_source(spec, cfg, arch), "wmma"
        extra = {"stages": "2 (cp.async)" if use_async(spec, cfg, arch) else "1 (register staging)"}
    else:
        name = tile or choose_simt(spec)
        cfg = SIMT_CONFIGS[name]
        src, kind, extra = simt_source(spec, cfg), "simt", {}
    notes = {"template": f"{template}-{kind}", "tile": name,
             "gemm": f"batch={spec.batch} M={spec.m} N={spec.n} K={spec.k}", **extra}
    return CudaKernel(io.name, io.name, src, grid_of(spec, cfg.bm, cfg.bn), (cfg.threads, 1, 1),
                      0, len(io.ins), len(io.outs), notes)


@register("matmul")
def generate_matmul(op: Operation, options: CudaOptions, tile: str | None = None) -> CudaKernel:
    """A ``matmul``-kind zk.fused op (matmul / linear / gemm + elementwise epilogue)."""
    io = kernel_io(op)
    anchor = find_anchor(op, ANCHORS)
    dt = anchor.results[0].type.dtype
    check_f8(dt, f"{io.where}: '{anchor.name}'")
    epi = Epilogue(io, anchor)
    spec = SPECS[anchor.name](io, anchor, epi)
    return gemm_kernel(io, spec, options, anchor.name.split(".")[1], tile)
