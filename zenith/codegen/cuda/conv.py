"""``conv`` kernels: zt.conv (N-d, NCHW, groups, strides, dilations, pads) and zt.conv_transpose.

zt.conv is an implicit GEMM (gemm_templates.py): per batch image and group,
``C[m, p] = sum_k W[m, k] X(k, p)`` with ``k = (c, kernel offset)`` and ``p`` an
output position; ``X(k, p)`` gathers the input element the window reads (zero
in the padding) straight from the input, so no im2col buffer exists. f16/bf16
go to tensor cores when the GEMM dims allow, like matmul.

Convolutions whose per-group GEMM has few rows (depthwise: one output channel
per group) and every zt.conv_transpose use the *direct* template: one thread
per output element, summing over the group's input channels and the kernel
offsets (for the transpose, the offsets whose input position is whole and
inside the input).
"""

from __future__ import annotations

import math

from zenith.codegen.cuda.epilogue import (
    PRELUDE,
    Epilogue,
    KernelIO,
    check_f8,
    find_anchor,
    kernel_io,
    load,
    op_attrs,
    static_shape,
    unflatten,
)
from zenith.codegen.cuda.gemm import _ptr, gemm_kernel
from zenith.codegen.cuda.gemm_templates import GemmSpec, Operand
from zenith.codegen.cuda.kernel import CudaKernel, CudaOptions, register
from zenith.ir.core import Operation
from zenith.ir.diagnostics import ZenithError

DIRECT_BLOCK = 256
MIN_GEMM_ROWS = 8   # fewer output channels per group: the direct template


class ConvGeom:
    """Shapes and window attributes of one conv / conv_transpose anchor."""

    def __init__(self, io: KernelIO, anchor: Operation) -> None:
        x_v, w_v = anchor.operands[:2]
        self.x = static_shape(x_v, io.where)
        self.w = static_shape(w_v, io.where)
        self.y = static_shape(anchor.results[0], io.where)
        at = op_attrs(anchor)
        nd = len(self.x) - 2
        self.kernel = self.w[2:]
        self.strides = tuple(at["strides"] or (1,) * nd)
        self.dil = tuple(at["dilations"] or (1,) * nd)
        pads = tuple(at["pads"] or (0,) * (2 * nd))
        self.pb = pads[:nd]
        self.group = at["group"]
        self.n, self.c = self.x[:2]
        self.m = self.y[1]
        self.cg, self.mg = self.c // self.group, self.m // self.group
        self.ks = math.prod(self.kernel)
        self.out = self.y[2:]
        self.p = math.prod(self.out)
        self.spatial = self.x[2:]


def _x_index(g: ConvGeom, n: str, ch: str, pos: list[str]) -> str:
    idx = f"(({n}) * {g.c} + {ch})"
    for i, d in zip(pos, g.spatial):
        idx = f"({idx} * {d} + {i})"
    return idx


def _window(g: ConvGeom, p: str, t: str) -> tuple[list[str], str]:
    """Input positions read for output position ``p`` and kernel offset ``t``, and their check."""
    pos, checks = [], []
    for o, tt, s, d, pb, size in zip(unflatten(p, g.out), unflatten(t, g.kernel), g.strides, g.dil,
                                     g.pb, g.spatial):
        e = f"({o}) * {s} + ({tt}) * {d} - {pb}" if pb else f"({o}) * {s} + ({tt}) * {d}"
        pos.append(f"({e})")
        checks.append(f"(unsigned)({e}) < {size}u")
    return pos, " && ".join(checks) or "true"


def _conv_spec(io: KernelIO, anchor: Operation, epi: Epilogue) -> GemmSpec:
    g = ConvGeom(io, anchor)
    px, pw = _ptr(io, anchor, 0), _ptr(io, anchor, 1)
    grp = (lambda b: "0") if g.group == 1 else (lambda b: f"(({b}) % {g.group})")
    img = (lambda b: b) if g.group == 1 else (lambda b: f"(({b}) / {g.group})")
    kk_len = g.cg * g.ks

    def a_index(b: str, m: str, k: str) -> str:
        row = m if g.group == 1 else f"({grp(b)} * {g.mg} + {m})"
        return f"{row} * {kk_len} + {k}"

    def chan(b: str, k: str) -> str:
        c = f"(({k}) / {g.ks})" if g.ks > 1 else k
        return c if g.group == 1 else f"({grp(b)} * {g.cg} + {c})"

    def b_index(b: str, k: str, p: str) -> str:
        pos, _ = _window(g, p, f"(({k}) % {g.ks})" if g.ks > 1 else "0")
        return _x_index(g, img(b), chan(b, k), pos)

    def b_valid(b: str, k: str, p: str) -> str:
        return _window(g, p, f"(({k}) % {g.ks})" if g.ks > 1 else "0")[1]

    pointwise = g.ks == 1 and not any(g.pb) and all(s == 1 for s in g.strides)
    acc = "double" if anchor.results[0].type.dtype.name == "f64" else "float"

    def out_ch(b: str, m: str) -> str:
        return m if g.group == 1 else f"({grp(b)} * {g.mg} + {m})"

    finish = lambda a, b, m, p: a  # noqa: E731
    if len(anchor.operands) == 3:
        bias, pbias = anchor.operand(2), _ptr(io, anchor, 2)
        finish = lambda a, b, m, p: f"{a} + ({acc}){load(bias.type.dtype, f'{pbias}[{out_ch(b, m)}]')}"  # noqa: E731
    return GemmSpec(
        io, g.n * g.group, g.mg, g.p, kk_len,
        Operand(pw, anchor.operand(1).type.dtype, a_index, True),
        Operand(px, anchor.operand(0).type.dtype, b_index, False, None if pointwise else b_valid),
        acc, finish,
        lambda b, m, p: [img(b), out_ch(b, m)] + unflatten(p, g.out),
        lambda b, m, p: f"({img(b)} * {g.m} + {out_ch(b, m)}) * {g.p} + {p}",
        epi)


def _direct_source(io: KernelIO, anchor: Operation, g: ConvGeom, epi: Epilogue) -> str:
    """One thread per output element; conv or conv_transpose by gathering."""
    acc = "double" if anchor.results[0].type.dtype.name == "f64" else "float"
    xdt, wdt = anchor.operand(0).type.dtype, anchor.operand(1).type.dtype
    px, pw = _ptr(io, anchor, 0), _ptr(io, anchor, 1)
    total = g.n * g.m * g.p
    n, m, p = "n", "m", "p"
    cin = f"grp * {g.cg} + c" if g.group > 1 else "c"
    if anchor.name == "zt.conv":
        pos, check = _window(g, p, "t")
        w_ref = f"{pw}[(m * {g.cg} + c) * {g.ks} + t]"
    else:
        # y[o] gathers x[i] where o + pb = i * s + t * d: i whole and inside the input.
        pos, checks = [], []
        for k, (o, tt, s, d, pb, size) in enumerate(zip(unflatten(p, g.out), unflatten("t", g.kernel),
                                                        g.strides, g.dil, g.pb, g.spatial)):
            num = f"({o} + {pb} - ({tt}) * {d})"
            pos.append(f"(q{k} / {s})" if s > 1 else f"q{k}")
            checks.append((f"q{k}", num, s, size))
        check = " && ".join(f"{q} >= 0" + (f" && {q} % {s} == 0" if s > 1 else "")
                            + f" && {q} / {s} < {size}" for q, _, s, size in checks) or "true"
        w_ref = f"{pw}[((grp * {g.cg} + c) * {g.mg} + (m % {g.mg})) * {g.ks} + t]" if g.group > 1 \
            else f"{pw}[(c * {g.mg} + m) * {g.ks} + t]"
    qdecl = "".join(f"        const int {q} = {num};\n" for q, num, _, _ in
                    (checks if anchor.name != "zt.conv" else []))
    x_ref = f"{px}[{_x_index(g, n, cin, pos)}]"
    value = "s"
    if len(anchor.operands) == 3:
        bias = anchor.operand(2)
        value = f"s + ({acc}){load(bias.type.dtype, f'{_ptr(io, anchor, 2)}[m]')}"
    coords = [n, m] + unflatten(p, g.out)
    epi_code = epi.emit("v", coords, "idx", indent="    ")
    grp_decl = f"  const int grp = m / {g.mg};\n  (void)grp;\n"
    return f"""{PRELUDE}
extern "C" __global__ void {io.name}({io.params()}) {{
  // direct {anchor.name.split('.')[1]}: one thread per output element
  // group {g.group}, kernel {list(g.kernel)}
  const int idx = blockIdx.x * {DIRECT_BLOCK} + threadIdx.x;
  if (idx < {total}) {{
  const int p = idx % {g.p}, m = (idx / {g.p}) % {g.m}, n = idx / {g.p * g.m};
{grp_decl}  {acc} s = ({acc})0;
  for (int c = 0; c < {g.cg}; ++c) {{
    #pragma unroll
    for (int t = 0; t < {g.ks}; ++t) {{
{qdecl}      if ({check}) s += ({acc}){load(wdt, w_ref)} * ({acc}){load(xdt, x_ref)};
    }}
  }}
    const {acc} v = {value};
{epi_code}
  }}
}}
"""


@register("conv")
def generate_conv(op: Operation, options: CudaOptions, tile: str | None = None) -> CudaKernel:
    """A ``conv``-kind zk.fused op (conv / conv_transpose + elementwise epilogue)."""
    io = kernel_io(op)
    anchor = find_anchor(op, ("zt.conv", "zt.conv_transpose"))
    check_f8(anchor.results[0].type.dtype, f"{io.where}: '{anchor.name}'")
    epi = Epilogue(io, anchor)
    g = ConvGeom(io, anchor)
    if anchor.name == "zt.conv" and g.mg >= MIN_GEMM_ROWS:
        return gemm_kernel(io, _conv_spec(io, anchor, epi), options, "conv", tile)
    total = g.n * g.m * g.p
    if total == 0:
        raise ZenithError(f"{io.where}: '{anchor.name}' has an empty output")
    grid = -(-total // DIRECT_BLOCK)
    if grid > 2**31 - 1:
        raise ZenithError(f"{io.where}: '{anchor.name}' output too large for one grid")
    return CudaKernel(io.name, io.name, _direct_source(io, anchor, g, epi), (grid, 1, 1),
                      (DIRECT_BLOCK, 1, 1), 0, len(io.ins), len(io.outs),
                      {"template": f"{anchor.name.split('.')[1]}-direct",
                       "conv": f"group={g.group} Cg={g.cg} Mg={g.mg} kernel={list(g.kernel)}"})
