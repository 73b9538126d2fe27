"""GEMM source templates shared by matmul and conv (implicit GEMM).

A :class:`GemmSpec` describes ``C[b, m, n] = sum_k A(b, m, k) B(b, k, n)`` by
C index expressions into the kernel's inputs (so a transposed, broadcast or
im2col-gathered operand is only another expression), plus the anchor's finish
(alpha, bias, beta C) and the fused epilogue. Two templates write it:

- :func:`simt_source`: shared-memory tiles of A and B (the next tile's loads
  issued to registers before the current tile's FMAs), each thread an
  ``TM x TN`` register block of outputs (interleaved so that stores coalesce),
  any M/N/K by bounds checks; f32/f64 and the small-size fallback of f16/bf16
  (loads widened to float, fp32 accumulation).
- :func:`wmma_source`: f16/bf16 on tensor cores (``nvcuda::wmma`` 16x16x16,
  fp32 accumulation), tiles staged through registers so that the global loads
  of tile ``t+1`` overlap the mma of tile ``t``; each warp's accumulators go
  through a 16x16 shared scratch for the bounds-checked epilogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zenith.codegen.cuda.epilogue import PRELUDE, Epilogue, KernelIO, load, storage, store
from zenith.ir.diagnostics import ZenithError
from zenith.ir.dtypes import DType

Index = Callable[[str, str, str], str]


@dataclass
class Operand:
    """One GEMM operand: ``ptr[index(b, i, k)]`` where ``valid(b, i, k)`` (else 0)."""

    ptr: str
    dtype: DType
    index: Index                       # A: (b, m, k); B: (b, k, n)
    k_contig: bool                     # consecutive k are adjacent in memory
    valid: Index | None = None         # extra condition (conv padding), or None
    vec8: bool = False                 # aligned runs of 8 along the contiguous dim are contiguous


@dataclass
class GemmSpec:
    io: KernelIO
    batch: int
    m: int
    n: int
    k: int
    a: Operand
    b: Operand
    acc_t: str                         # "float" or "double"
    finish: Callable[[str, str, str, str], str]   # (acc, b, m, n) -> the anchor's value
    coords: Callable[[str, str, str], list[str]]  # (b, m, n) -> output coordinates
    linear: Callable[[str, str, str], str]        # (b, m, n) -> flat output index
    epilogue: Epilogue


@dataclass(frozen=True)
class SimtConfig:
    bm: int
    bn: int
    bk: int
    tm: int
    tn: int

    @property
    def threads(self) -> int:
        return (self.bm // self.tm) * (self.bn // self.tn)


@dataclass(frozen=True)
class WmmaConfig:
    bm: int
    bn: int
    bk: int
    warps_m: int
    warps_n: int

    @property
    def threads(self) -> int:
        return 32 * self.warps_m * self.warps_n


SIMT_CONFIGS = {"128x128x8": SimtConfig(128, 128, 8, 8, 8),
                "64x64x16": SimtConfig(64, 64, 16, 4, 4),
                "32x32x16": SimtConfig(32, 32, 16, 2, 2)}
WMMA_CONFIGS = {"128x128x32": WmmaConfig(128, 128, 32, 2, 4),
                "64x64x32": WmmaConfig(64, 64, 32, 2, 2),
                "32x32x32": WmmaConfig(32, 32, 32, 2, 2)}


def _dims(spec: GemmSpec) -> str:
    return f"batch {spec.batch}, M {spec.m}, N {spec.n}, K {spec.k}"


def _blocks(spec: GemmSpec, bm: int, bn: int) -> int:
    return -(-spec.m // bm) * -(-spec.n // bn) * spec.batch


def grid_of(spec: GemmSpec, bm: int, bn: int) -> tuple[int, int, int]:
    gy, gz = -(-spec.m // bm), spec.batch
    if gy > 65535 or gz > 65535:
        raise ZenithError(f"{spec.io.where}: grid ({gy} row tiles, {gz} batches) exceeds 65535")
    return (-(-spec.n // bn), gy, gz)


SMS = 108  # streaming multiprocessors of the smallest target (A100); H100 has 132


def choose_simt(spec: GemmSpec, sms: int = SMS) -> str:
    """The largest tile that still fills the GPU with one wave of blocks; below that, 64x64
    unless it leaves most SMs idle (then 32x32: 4x the blocks)."""
    for name in ("128x128x8", "64x64x16"):
        c = SIMT_CONFIGS[name]
        if spec.m >= c.bm // 2 and spec.n >= c.bn // 2 and _blocks(spec, c.bm, c.bn) >= sms:
            return name
    if spec.m >= 48 and spec.n >= 48 and spec.k >= 16 and _blocks(spec, 64, 64) >= sms // 2:
        return "64x64x16"
    return "32x32x16"


def choose_wmma(spec: GemmSpec, sms: int = SMS) -> str:
    """As :func:`choose_simt`, over the tensor-core tiles."""
    if spec.m >= 128 and spec.n >= 128 and _blocks(spec, 128, 128) >= sms:
        return "128x128x32"
    if _blocks(spec, 64, 64) >= sms // 2 or spec.m * spec.n >= 4 * 64 * 64 * sms:
        return "64x64x32"
    return "32x32x32"


def _mapping(op: Operand, rows: int, bk: int) -> tuple[str, str]:
    """(row, k) of flat tile element ``e``: consecutive threads walk the contiguous dim."""
    if op.k_contig:
        return f"(e / {bk})", f"(e % {bk})"
    return f"(e % {rows})", f"(e / {rows})"


def _tile_load(spec: GemmSpec, op: Operand, is_a: bool, rows: int, bk: int, nt: int, i0: str,
               dst: Callable[[str, str], str], zero: str, conv: Callable[[str], str],
               target: str | None = None) -> str:
    """Code loading a ``rows x bk`` tile of ``op`` (rows: m for A, n for B) into ``dst(r, kk)``."""
    per = rows * bk // nt
    rr, kk = _mapping(op, rows, bk)
    args = ("b", "gi", "gk") if is_a else ("b", "gk", "gi")
    idx = op.index(*args)
    parts = [f"gi < {spec.m if is_a else spec.n}", f"gk < {spec.k}"]
    if op.valid is not None:
        parts.append(op.valid(*args))
    cond = " && ".join(parts)
    lhs = dst(rr, kk) if target is None else f"{target}[i]"
    return (f"    #pragma unroll\n    for (int i = 0; i < {per}; ++i) {{\n"
            f"      const int e = tid + i * {nt};\n"
            f"      const int gi = {i0} + {rr}, gk = k0 + {kk};\n"
            f"      {lhs} = ({cond}) ? {conv(f'{op.ptr}[{idx}]')} : {zero};\n    }}\n")


def _store_staged(rows: int, bk: int, nt: int, op: Operand, dst: Callable[[str, str], str],
                  src: str) -> str:
    per = rows * bk // nt
    rr, kk = _mapping(op, rows, bk)
    return (f"    #pragma unroll\n    for (int i = 0; i < {per}; ++i) {{\n"
            f"      const int e = tid + i * {nt};\n      {dst(rr, kk)} = {src}[i];\n    }}\n")


def simt_source(spec: GemmSpec, cfg: SimtConfig) -> str:
    """The SIMT tiled GEMM kernel for ``spec``."""
    nt, acc = cfg.threads, spec.acc_t
    fma = "fmaf" if acc == "float" else "fma"
    cols = cfg.bn // cfg.tn
    rows_stride, cols_stride = cfg.bm // cfg.tm, cfg.bn // cfg.tn
    a_dst, b_dst = (lambda r, k: f"As[{k}][{r}]"), (lambda r, k: f"Bs[{k}][{r}]")
    la = _tile_load(spec, spec.a, True, cfg.bm, cfg.bk, nt, "m0", a_dst, f"({acc})0",
                    lambda x: f"({acc}){load(spec.a.dtype, x)}", target="pa")
    lb = _tile_load(spec, spec.b, False, cfg.bn, cfg.bk, nt, "n0", b_dst, f"({acc})0",
                    lambda x: f"({acc}){load(spec.b.dtype, x)}", target="pb")
    sa = _store_staged(cfg.bm, cfg.bk, nt, spec.a, a_dst, "pa")
    sb = _store_staged(cfg.bn, cfg.bk, nt, spec.b, b_dst, "pb")
    m, n = "gm", "gn"
    value = spec.finish("acc[i][j]", "b", m, n)
    epi = spec.epilogue.emit("v", spec.coords("b", m, n), spec.linear("b", m, n), indent="        ")
    return f"""{PRELUDE}
extern "C" __global__ void {spec.io.name}({spec.io.params()}) {{
  // SIMT GEMM {cfg.bm}x{cfg.bn}x{cfg.bk}, {cfg.tm}x{cfg.tn} per thread: {_dims(spec)}
  __shared__ {acc} As[{cfg.bk}][{cfg.bm}];
  __shared__ {acc} Bs[{cfg.bk}][{cfg.bn}];
  const int tid = threadIdx.x;
  const int tx = tid % {cols}, ty = tid / {cols};
  const int b = blockIdx.z, m0 = blockIdx.y * {cfg.bm}, n0 = blockIdx.x * {cfg.bn};
  (void)b;
  {acc} acc[{cfg.tm}][{cfg.tn}];
  #pragma unroll
  for (int i = 0; i < {cfg.tm}; ++i)
    #pragma unroll
    for (int j = 0; j < {cfg.tn}; ++j) acc[i][j] = ({acc})0;
  // The next tile's global loads go to registers (pa, pb) before the current tile's FMAs.
  {acc} pa[{cfg.bm * cfg.bk // nt}], pb[{cfg.bn * cfg.bk // nt}];
  int k0 = 0;
{la}{lb}  for (; k0 < {spec.k}; ) {{
    __syncthreads();
{sa}{sb}    __syncthreads();
    k0 += {cfg.bk};
    if (k0 < {spec.k}) {{
{la}{lb}    }}
    #pragma unroll
    for (int kk = 0; kk < {cfg.bk}; ++kk) {{
      {acc} ra[{cfg.tm}], rb[{cfg.tn}];
      #pragma unroll
      for (int i = 0; i < {cfg.tm}; ++i) ra[i] = As[kk][ty + i * {rows_stride}];
      #pragma unroll
      for (int j = 0; j < {cfg.tn}; ++j) rb[j] = Bs[kk][tx + j * {cols_stride}];
      #pragma unroll
      for (int i = 0; i < {cfg.tm}; ++i)
        #pragma unroll
        for (int j = 0; j < {cfg.tn}; ++j) acc[i][j] = {fma}(ra[i], rb[j], acc[i][j]);
    }}
  }}
  #pragma unroll
  for (int i = 0; i < {cfg.tm}; ++i) {{
    #pragma unroll
    for (int j = 0; j < {cfg.tn}; ++j) {{
      const int gm = m0 + ty + i * {rows_stride}, gn = n0 + tx + j * {cols_stride};
      if (gm < {spec.m} && gn < {spec.n}) {{
        const {acc} v = {value};
{epi}
      }}
    }}
  }}
}}
"""


def _async_tile(spec: GemmSpec, op: Operand, is_a: bool, rows: int, bk: int, nt: int, i0: str,
                dst: Callable[[str, str], str], zero: str) -> str:
    """cp.async of a tile in 16-byte chunks (8 elements along the contiguous dim), zero-filled
    outside the matrix; needs :attr:`Operand.vec8`, and 16-byte aligned inputs at run time
    (``vec_ok``; else the same chunks by plain loads)."""
    per = rows * bk // 8 // nt
    if op.k_contig:
        rr, kk = f"(e / {bk // 8})", f"(e % {bk // 8}) * 8"
    else:
        rr, kk = f"(e % {rows // 8}) * 8", f"(e / {rows // 8})"
    args = ("b", "gi", "gk") if is_a else ("b", "gk", "gi")
    return (f"    #pragma unroll\n    for (int i = 0; i < {per}; ++i) {{\n"
            f"      const int e = tid + i * {nt};\n"
            f"      const int gi = {i0} + {rr}, gk = k0 + {kk};\n"
            f"      const bool ok = gi < {spec.m if is_a else spec.n} && gk < {spec.k};\n"
            f"      if (vec_ok) {{\n"
            f"        __pipeline_memcpy_async(&{dst(rr, kk)}, ok ? &{op.ptr}[{op.index(*args)}] : {op.ptr},"
            f" 16, ok ? 0 : 16);\n"
            f"      }} else {{  // an input not 16-byte aligned: plain loads of the same 8 elements\n"
            f"        #pragma unroll\n        for (int q = 0; q < 8; ++q)\n"
            f"          (&{dst(rr, kk)})[q] = ok ? (&{op.ptr}[{op.index(*args)}])[q] : {zero};\n"
            f"      }}\n    }}\n")


def use_async(spec: GemmSpec, cfg: WmmaConfig, arch: int) -> bool:
    """cp.async double buffering: sm_80+, both operands in aligned 8-element chunks."""
    return (arch >= 80 and spec.a.vec8 and spec.b.vec8
            and (cfg.bm * cfg.bk // 8) % cfg.threads == 0 and (cfg.bn * cfg.bk // 8) % cfg.threads == 0)


def wmma_source(spec: GemmSpec, cfg: WmmaConfig, arch: int = 80) -> str:
    """The tensor-core (wmma, f16/bf16 in, fp32 accumulation) GEMM kernel for ``spec``: two
    shared stages filled by cp.async where :func:`use_async`, else tiles staged in registers."""
    t = storage(spec.a.dtype)
    nt, bm, bn, bk = cfg.threads, cfg.bm, cfg.bn, cfg.bk
    wm_rows, wn_cols = bm // cfg.warps_m, bn // cfg.warps_n
    fm, fn = wm_rows // 16, wn_cols // 16
    zero = store(spec.a.dtype, "0.0f")
    stages = 2 if use_async(spec, cfg, arch) else 1
    # Shared layouts: A [m][k] (row_major) when k is contiguous in memory, else [k][m] (col_major);
    # B [k][n] (row_major) when n is contiguous, else [n][k] (col_major).
    if spec.a.k_contig:
        a_decl, a_lay, a_ld = f"As[{stages}][{bm}][{bk + 8}]", "row_major", bk + 8
        a_dst = lambda r, k: f"As[st][{r}][{k}]"  # noqa: E731
        a_ptr = f"&As[st][wm * {wm_rows} + i * 16][kk]"
    else:
        a_decl, a_lay, a_ld = f"As[{stages}][{bk}][{bm + 8}]", "col_major", bm + 8
        a_dst = lambda r, k: f"As[st][{k}][{r}]"  # noqa: E731
        a_ptr = f"&As[st][kk][wm * {wm_rows} + i * 16]"
    if spec.b.k_contig:
        b_decl, b_lay, b_ld = f"Bs[{stages}][{bn}][{bk + 8}]", "col_major", bk + 8
        b_dst = lambda r, k: f"Bs[st][{r}][{k}]"  # noqa: E731
        b_ptr = f"&Bs[st][wn * {wn_cols} + j * 16][kk]"
    else:
        b_decl, b_lay, b_ld = f"Bs[{stages}][{bk}][{bn + 8}]", "row_major", bn + 8
        b_dst = lambda r, k: f"Bs[st][{k}][{r}]"  # noqa: E731
        b_ptr = f"&Bs[st][kk][wn * {wn_cols} + j * 16]"
    value = spec.finish("Cs[warp][r][c]", "b", "gm", "gn")
    epi = spec.epilogue.emit("v", spec.coords("b", "gm", "gn"), spec.linear("b", "gm", "gn"),
                             indent="          ")
    n_tiles = -(-spec.k // bk)
    if stages == 2:
        la = _async_tile(spec, spec.a, True, bm, bk, nt, "m0", a_dst, zero)
        lb = _async_tile(spec, spec.b, False, bn, bk, nt, "n0", b_dst, zero)
        # Stage st holds tile kt; tile kt+1 streams into the other stage during the mma of kt.
        main = f"""  int st = 0, k0 = 0;
  const bool vec_ok = ((reinterpret_cast<uintptr_t>({spec.a.ptr}) | reinterpret_cast<uintptr_t>({spec.b.ptr}))
                       & 15) == 0;
{la}{lb}  __pipeline_commit();
  for (int kt = 0; kt < {n_tiles}; ++kt) {{
    if (kt + 1 < {n_tiles}) {{
      st ^= 1;
      k0 += {bk};
{la}{lb}      __pipeline_commit();
      st ^= 1;
      __pipeline_wait_prior(1);
    }} else {{
      __pipeline_wait_prior(0);
    }}
    __syncthreads();
@MMA@    __syncthreads();
    st ^= 1;
  }}
"""
        cs_decl = ("  // the A stages are free after the main loop: the epilogue scratch\n"
                   "  float (*Cs)[16][20] = reinterpret_cast<float (*)[16][20]>(&As[0][0][0]);\n")
        includes = "#include <mma.h>\n#include <cuda_pipeline.h>\n"
        cs_static = ""
    else:
        ident = lambda x: x  # noqa: E731
        la = _tile_load(spec, spec.a, True, bm, bk, nt, "m0", a_dst, zero, ident, target="ra")
        lb = _tile_load(spec, spec.b, False, bn, bk, nt, "n0", b_dst, zero, ident, target="rb")
        sa = _store_staged(bm, bk, nt, spec.a, a_dst, "ra")
        sb = _store_staged(bn, bk, nt, spec.b, b_dst, "rb")
        main = f"""  const int st = 0;
  {t} ra[{bm * bk // nt}], rb[{bn * bk // nt}];
  int k0 = 0;
{la}{lb}  for (; k0 < {spec.k}; ) {{
    __syncthreads();
{sa}{sb}    __syncthreads();
    k0 += {bk};
    if (k0 < {spec.k}) {{
{la}{lb}    }}
@MMA@  }}
"""
        cs_decl, includes = "", "#include <mma.h>\n"
        cs_static = f"  __shared__ __align__(32) float Cs[{nt // 32}][16][20];\n"
    mma = f"""    #pragma unroll
    for (int kk = 0; kk < {bk}; kk += 16) {{
      wmma::fragment<wmma::matrix_a, 16, 16, 16, {t}, wmma::{a_lay}> fa[{fm}];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, {t}, wmma::{b_lay}> fb[{fn}];
      #pragma unroll
      for (int i = 0; i < {fm}; ++i) wmma::load_matrix_sync(fa[i], {a_ptr}, {a_ld});
      #pragma unroll
      for (int j = 0; j < {fn}; ++j) wmma::load_matrix_sync(fb[j], {b_ptr}, {b_ld});
      #pragma unroll
      for (int i = 0; i < {fm}; ++i)
        #pragma unroll
        for (int j = 0; j < {fn}; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }}
"""
    main = main.replace("@MMA@", mma)
    staging = f"{stages} shared stages (cp.async)" if stages == 2 else "register-staged tiles"
    return f"""{PRELUDE}{includes}
extern "C" __global__ void {spec.io.name}({spec.io.params()}) {{
  // tensor-core GEMM (wmma 16x16x16, fp32 accumulation) {bm}x{bn}x{bk}, {cfg.warps_m}x{cfg.warps_n} warps
  // {staging}; {_dims(spec)}
  using namespace nvcuda;
  __shared__ __align__(128) {t} {a_decl};
  __shared__ __align__(128) {t} {b_decl};
{cs_static}  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / {cfg.warps_n}, wn = warp % {cfg.warps_n};
  const int b = blockIdx.z, m0 = blockIdx.y * {bm}, n0 = blockIdx.x * {bn};
  (void)b;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[{fm}][{fn}];
  #pragma unroll
  for (int i = 0; i < {fm}; ++i)
    #pragma unroll
    for (int j = 0; j < {fn}; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
{main}{cs_decl}  #pragma unroll
  for (int i = 0; i < {fm}; ++i) {{
    #pragma unroll
    for (int j = 0; j < {fn}; ++j) {{
      wmma::store_matrix_sync(&Cs[warp][0][0], acc[i][j], 20, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {{
        const int r = e / 16, c = e % 16;
        const int gm = m0 + wm * {wm_rows} + i * 16 + r, gn = n0 + wn * {wn_cols} + j * 16 + c;
        if (gm < {spec.m} && gn < {spec.n}) {{
          const float v = {value};
{epi}
        }}
      }}
      __syncwarp();
    }}
  }}
}}
"""
