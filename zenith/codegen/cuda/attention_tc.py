"""Flash attention on tensor cores for f16/bf16 (head dims multiples of 16, at most 128).

Two warps a block, 16 query rows each (32 rows a block). Per tile of 32 keys:
``S = Q K^T`` by ``nvcuda::wmma`` (f16/bf16 in, fp32 out) into a per-warp shared
scratch; two lanes per query row scale, cap and mask their 16 scores, update the
running max and sum in fp32 (online softmax) and write ``P`` (rounded to the
input type) back to shared memory; ``P V`` by wmma, 16 output columns at a
time, is added to the row's fp32 output registers after rescaling them by
``exp(old max - new max)``. Masks, causal alignment, windows, softcap, GQA and
fully masked rows (output 0) follow the opdef exactly as the CUDA-core template
(attention.py, whose score pieces this reuses).
"""

from __future__ import annotations

import math

from zenith.codegen.cuda.attention import score_parts
from zenith.codegen.cuda.epilogue import PRELUDE, Epilogue, KernelIO, op_attrs, static_shape, storage
from zenith.codegen.cuda.gemm import _ptr
from zenith.ir.core import Operation

ROWS = 32      # query rows a block (2 warps x 16)
KEYS = 32      # keys a tile
THREADS = 64


def eligible(anchor: Operation, arch: int, tensor_cores: bool) -> bool:
    """f16 (sm_70+) or bf16 (sm_80+) with head dims multiples of 16 up to 128."""
    dt = anchor.operand(0).type.dtype.name
    if not tensor_cores or dt not in ("f16", "bf16") or arch < (80 if dt == "bf16" else 70):
        return False
    d, dv = anchor.operand(0).type.shape[3], anchor.operand(2).type.shape[3]
    return all(isinstance(x, int) and x % 16 == 0 and 16 <= x <= 128 for x in (d, dv))


def source(io: KernelIO, anchor: Operation, epi: Epilogue) -> tuple[str, tuple[int, int, int]]:
    where = f"{io.where}: 'zt.attention'"
    b, hq, sq, d = static_shape(anchor.operand(0), where)
    hkv, skv = static_shape(anchor.operand(1), where)[1:3]
    dv = static_shape(anchor.operand(2), where)[3]
    at = op_attrs(anchor)
    dt = anchor.operand(0).type.dtype
    t = storage(dt)
    scale = at["scale"] if at["scale"] is not None else 1.0 / math.sqrt(d)
    offset, bias, limits, softcap = score_parts(io, anchor, "float")
    pq, pk, pv = (_ptr(io, anchor, i) for i in range(3))
    to_t = "__float2half_rn" if dt.name == "f16" else "__float2bfloat16_rn"
    zero = f"{to_t}(0.0f)"
    kv_end = f"min({skv}, r0 + {ROWS + offset})" if at["causal"] else str(skv)
    store = epi.emit("v", ["bb", "h", "row", "dd"], f"((bb * {hq} + h) * {sq} + row) * {dv} + dd",
                     indent="        ")
    src = f"""{PRELUDE}#include <math.h>
#include <mma.h>

extern "C" __global__ void {io.name}({io.params()}) {{
  // flash attention on tensor cores (wmma, fp32 softmax): {ROWS} query rows, {KEYS}-key tiles
  // B {b}, Hq {hq}, Hkv {hkv}, Sq {sq}, Skv {skv}, D {d}, Dv {dv}
  using namespace nvcuda;
  __shared__ __align__(32) {t} Qs[{ROWS}][{d + 8}];
  __shared__ __align__(32) {t} Ks[{KEYS}][{d + 8}];
  __shared__ __align__(32) {t} Vs[{KEYS}][{dv + 8}];
  __shared__ __align__(32) float Ss[2][16][{KEYS + 4}];
  __shared__ __align__(32) {t} Ps[2][16][{KEYS + 8}];
  __shared__ __align__(32) float Os[2][16][20];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int bh = blockIdx.y, bb = bh / {hq}, h = bh % {hq}, kvh = bb * {hkv} + h / {hq // hkv};
  const int r0 = blockIdx.x * {ROWS};
  for (int e = tid; e < {ROWS * d}; e += {THREADS}) {{
    const int r = r0 + e / {d};
    Qs[e / {d}][e % {d}] = r < {sq} ? {pq}[(bh * {sq} + r) * {d} + e % {d}] : {zero};
  }}
  // Lane pair (2 r, 2 r + 1) owns row r of the warp: keys half * 16 .. + 15 of each tile,
  // output columns half * 8 .. + 7 of each 16-column chunk.
  const int rr = lane / 2, half = lane % 2;
  const int row_raw = r0 + warp * 16 + rr;
  const int row = row_raw < {sq} ? row_raw : {sq - 1};
  float o[{dv // 2}];
  #pragma unroll
  for (int i = 0; i < {dv // 2}; ++i) o[i] = 0.0f;
  float run_max = -INFINITY, run_sum = 0.0f;
  const int kv_end = {kv_end};
  for (int j0 = 0; j0 < kv_end; j0 += {KEYS}) {{
    __syncthreads();
    for (int e = tid; e < {KEYS * d}; e += {THREADS}) {{
      const int j = j0 + e / {d};
      Ks[e / {d}][e % {d}] = j < {skv} ? {pk}[(kvh * {skv} + j) * {d} + e % {d}] : {zero};
    }}
    for (int e = tid; e < {KEYS * dv}; e += {THREADS}) {{
      const int j = j0 + e / {dv};
      Vs[e / {dv}][e % {dv}] = j < {skv} ? {pv}[(kvh * {skv} + j) * {dv} + e % {dv}] : {zero};
    }}
    __syncthreads();
    #pragma unroll
    for (int nb = 0; nb < {KEYS // 16}; ++nb) {{
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf;
      wmma::fill_fragment(sf, 0.0f);
      #pragma unroll
      for (int kd = 0; kd < {d // 16}; ++kd) {{
        wmma::fragment<wmma::matrix_a, 16, 16, 16, {t}, wmma::row_major> qa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, {t}, wmma::col_major> kb;
        wmma::load_matrix_sync(qa, &Qs[warp * 16][kd * 16], {d + 8});
        wmma::load_matrix_sync(kb, &Ks[nb * 16][kd * 16], {d + 8});
        wmma::mma_sync(sf, qa, kb, sf);
      }}
      wmma::store_matrix_sync(&Ss[warp][0][nb * 16], sf, {KEYS + 4}, wmma::mem_row_major);
    }}
    __syncwarp();
    float sc[16];
    float tile_max = -INFINITY;
    #pragma unroll
    for (int q = 0; q < 16; ++q) {{
      const int j = j0 + half * 16 + q;
      float s = Ss[warp][rr][half * 16 + q] * {float(scale)!r}f;
      {softcap}
      if ({limits}) {{
        s = -INFINITY;
      }} else {{
        {bias}
      }}
      sc[q] = s;
      tile_max = fmaxf(tile_max, s);
    }}
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    const float new_max = fmaxf(run_max, tile_max);
    const bool live = new_max != -INFINITY;
    const float corr = live ? expf(run_max - new_max) : 1.0f;
    float psum = 0.0f;
    #pragma unroll
    for (int q = 0; q < 16; ++q) {{
      const float p = live ? expf(sc[q] - new_max) : 0.0f;
      psum += p;
      Ps[warp][rr][half * 16 + q] = {to_t}(p);
    }}
    psum += __shfl_xor_sync(0xffffffffu, psum, 1);
    run_sum = run_sum * corr + psum;
    if (live) run_max = new_max;
    __syncwarp();
    #pragma unroll
    for (int c = 0; c < {dv // 16}; ++c) {{
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> of;
      wmma::fill_fragment(of, 0.0f);
      #pragma unroll
      for (int kk = 0; kk < {KEYS // 16}; ++kk) {{
        wmma::fragment<wmma::matrix_a, 16, 16, 16, {t}, wmma::row_major> pa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, {t}, wmma::row_major> vb;
        wmma::load_matrix_sync(pa, &Ps[warp][0][kk * 16], {KEYS + 8});
        wmma::load_matrix_sync(vb, &Vs[kk * 16][c * 16], {dv + 8});
        wmma::mma_sync(of, pa, vb, of);
      }}
      wmma::store_matrix_sync(&Os[warp][0][0], of, 20, wmma::mem_row_major);
      __syncwarp();
      #pragma unroll
      for (int i = 0; i < 8; ++i) o[c * 8 + i] = o[c * 8 + i] * corr + Os[warp][rr][half * 8 + i];
      __syncwarp();
    }}
  }}
  if (row_raw < {sq}) {{
    const float inv = run_sum > 0.0f ? 1.0f / run_sum : 0.0f;
    #pragma unroll
    for (int c = 0; c < {dv // 16}; ++c) {{
      #pragma unroll
      for (int i = 0; i < 8; ++i) {{
        const int dd = c * 16 + half * 8 + i;
        const float v = o[c * 8 + i] * inv;
{store}
      }}
    }}
  }}
}}
"""
    return src, (-(-sq // ROWS), b * hq, 1)
