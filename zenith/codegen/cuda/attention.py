"""``attention`` kernels: zt.attention, flash-attention style (online softmax, no score matrix).

One block per (batch * q head, tile of query rows). Each query row belongs to
``T`` adjacent threads that split its head dims (interleaved: thread ``r`` of
the row owns dims ``r, r + T, ...``), so a row's score is ``T`` partial dot
products reduced by warp shuffles. K and V go through shared memory in tiles
of ``KEY_TILE`` keys (widened to fp32); each row keeps a running max, a running
sum and its output accumulators in fp32 registers, rescaled when the max grows
(online softmax). Everything the opdef defines is here: scale (default
1/sqrt(D)), softcap, additive float masks and bool masks broadcast to
[B, Hq, Sq, Skv], causal (``upper_left``: key j <= i; ``lower_right``:
j <= i + Skv - Sq), sliding windows, grouped-query heads; a row that attends
no key outputs 0. Tiles wholly past the causal limit of a block are skipped.
Head dims up to 128; f32, f16, bf16 (fp32 arithmetic), f64 (fp64 arithmetic).
"""

from __future__ import annotations

import math

from zenith.codegen.cuda.epilogue import (
    PRELUDE,
    Epilogue,
    KernelIO,
    broadcast_index,
    check_f8,
    find_anchor,
    kernel_io,
    load,
    op_attrs,
    static_shape,
)
from zenith.codegen.cuda.gemm import _ptr
from zenith.codegen.cuda.kernel import CudaKernel, CudaOptions, register
from zenith.ir.core import Operation
from zenith.ir.diagnostics import ZenithError

KEY_TILE = 16
MAX_HEAD_DIM = 128


def _lanes(d: int) -> int:
    """Threads per query row: about 16 head dims each, a power of two, at most 8."""
    t = 1
    while t < 8 and t * 16 < d:
        t *= 2
    return t


def _lit(ft: str, x: float) -> str:
    return f"{float(x)!r}f" if ft == "float" else repr(float(x))


def score_parts(io: KernelIO, anchor: Operation, ft: str) -> tuple[int, str, str, str]:
    """C pieces turning score ``s`` of key ``j`` for query ``row`` (head ``h``, batch ``bb``)
    into its biased value: (causal offset, mask statement, masked-out condition, softcap
    statement)."""
    where = f"{io.where}: 'zt.attention'"
    b, hq, sq, _ = static_shape(anchor.operand(0), where)
    skv = static_shape(anchor.operand(1), where)[2]
    at = op_attrs(anchor)
    f = "f" if ft == "float" else ""
    offset = skv - sq if at["causal_align"] == "lower_right" else 0
    bias = ""
    if len(anchor.operands) == 4:
        mask = anchor.operand(3)
        ms = static_shape(mask, where)
        ref = f"{_ptr(io, anchor, 3)}[{broadcast_index(ms, (b, hq, sq, skv), ['bb', 'h', 'row', 'j'])}]"
        if mask.type.dtype.is_bool:
            bias = f"if (!{ref}) s = -INFINITY;"
        else:
            bias = f"s += ({ft}){load(mask.type.dtype, ref)};"
    limits = []
    if at["causal"]:
        limits.append(f"j > row + {offset}")
    if at["left_window_size"] >= 0:
        limits.append(f"j < row + {offset - at['left_window_size']}")
    if at["right_window_size"] >= 0:
        limits.append(f"j > row + {offset + at['right_window_size']}")
    limits.append(f"j >= {skv}")
    softcap = ""
    if at["softcap"] > 0:
        c = _lit(ft, at["softcap"])
        softcap = f"s = {c} * tanh{f}(s / {c});"
    return offset, bias, " || ".join(limits), softcap


def _source(io: KernelIO, anchor: Operation, epi: Epilogue, threads: int) -> tuple[str, tuple]:
    where = f"{io.where}: 'zt.attention'"
    q, k, v = (static_shape(x, where) for x in anchor.operands[:3])
    b, hq, sq, d = q
    hkv, skv, dv = k[1], k[2], v[3]
    at = op_attrs(anchor)
    ft = "double" if anchor.results[0].type.dtype.name == "f64" else "float"
    f = "f" if ft == "float" else ""
    t = _lanes(max(d, dv))
    rows = threads // t
    dpt, vpt = -(-d // t), -(-dv // t)
    scale = at["scale"] if at["scale"] is not None else 1.0 / math.sqrt(d)
    pq, pk, pv = (_ptr(io, anchor, i) for i in range(3))
    qdt = anchor.operand(0).type.dtype
    offset, bias, limits, softcap = score_parts(io, anchor, ft)
    # Tiles past the causal limit of every row of the block: the loop stops there.
    kv_end = f"min({skv}, r0 + {rows + offset})" if at["causal"] else str(skv)
    shuffles = "".join(f"      s += __shfl_xor_sync(0xffffffffu, s, {o});\n"
                       for o in (1 << i for i in reversed(range(int(math.log2(t))))))
    q_load = load(qdt, f"{pq}[(bh * {sq} + row) * {d} + dd]")
    k_load = load(anchor.operand(1).type.dtype, f"{pk}[(kvh * {skv} + j) * {d} + dd]")
    v_load = load(anchor.operand(2).type.dtype, f"{pv}[(kvh * {skv} + j) * {dv} + dd]")
    coords = ["bb", "h", "row", "dd"]
    store = epi.emit("v", coords, f"((bb * {hq} + h) * {sq} + row) * {dv} + dd", indent="        ")
    src = f"""{PRELUDE}#include <math.h>

extern "C" __global__ void {io.name}({io.params()}) {{
  // flash attention: {rows} query rows x {t} threads each, key tiles of {KEY_TILE}
  // B {b}, Hq {hq}, Hkv {hkv}, Sq {sq}, Skv {skv}, D {d}, Dv {dv}
  __shared__ {ft} Ks[{KEY_TILE}][{d}];
  __shared__ {ft} Vs[{KEY_TILE}][{dv}];
  const int tid = threadIdx.x, lane = tid % {t};
  const int bh = blockIdx.y, bb = bh / {hq}, h = bh % {hq}, kvh = bb * {hkv} + h / {hq // hkv};
  const int r0 = blockIdx.x * {rows};
  const int row_raw = r0 + tid / {t};
  const int row = row_raw < {sq} ? row_raw : {sq - 1};
  {ft} qr[{dpt}], acc[{vpt}];
  #pragma unroll
  for (int i = 0; i < {dpt}; ++i) {{
    const int dd = lane + i * {t};
    qr[i] = dd < {d} ? ({ft}){q_load} * {_lit(ft, scale)} : ({ft})0;
  }}
  #pragma unroll
  for (int i = 0; i < {vpt}; ++i) acc[i] = ({ft})0;
  {ft} run_max = -INFINITY, run_sum = ({ft})0;
  const int kv_end = {kv_end};
  for (int j0 = 0; j0 < kv_end; j0 += {KEY_TILE}) {{
    __syncthreads();
    for (int e = tid; e < {KEY_TILE * d}; e += {threads}) {{
      const int j = j0 + e / {d}, dd = e % {d};
      Ks[e / {d}][dd] = j < {skv} ? ({ft}){k_load} : ({ft})0;
    }}
    for (int e = tid; e < {KEY_TILE * dv}; e += {threads}) {{
      const int j = j0 + e / {dv}, dd = e % {dv};
      Vs[e / {dv}][dd] = j < {skv} ? ({ft}){v_load} : ({ft})0;
    }}
    __syncthreads();
    {ft} sc[{KEY_TILE}];
    {ft} tile_max = -INFINITY;
    #pragma unroll
    for (int jj = 0; jj < {KEY_TILE}; ++jj) {{
      const int j = j0 + jj;
      {ft} s = ({ft})0;
      #pragma unroll
      for (int i = 0; i < {dpt}; ++i) {{
        const int dd = lane + i * {t};
        if (dd < {d}) s += qr[i] * Ks[jj][dd];
      }}
{shuffles}      {softcap}
      if ({limits}) {{
        s = -INFINITY;
      }} else {{
        {bias}
      }}
      sc[jj] = s;
      tile_max = fmax{f}(tile_max, s);
    }}
    const {ft} new_max = fmax{f}(run_max, tile_max);
    if (new_max != -INFINITY) {{
      const {ft} corr = exp{f}(run_max - new_max);
      run_sum *= corr;
      #pragma unroll
      for (int i = 0; i < {vpt}; ++i) acc[i] *= corr;
      #pragma unroll
      for (int jj = 0; jj < {KEY_TILE}; ++jj) {{
        const {ft} p = exp{f}(sc[jj] - new_max);
        run_sum += p;
        #pragma unroll
        for (int i = 0; i < {vpt}; ++i) {{
          const int dd = lane + i * {t};
          if (dd < {dv}) acc[i] += p * Vs[jj][dd];
        }}
      }}
      run_max = new_max;
    }}
  }}
  if (row_raw < {sq}) {{
    const {ft} inv = run_sum > ({ft})0 ? ({ft})1 / run_sum : ({ft})0;
    #pragma unroll
    for (int i = 0; i < {vpt}; ++i) {{
      const int dd = lane + i * {t};
      if (dd < {dv}) {{
        const {ft} v = acc[i] * inv;
{store}
      }}
    }}
  }}
}}
"""
    return src, ((-(-sq // rows)), b * hq, 1)


@register("attention")
def generate_attention(op: Operation, options: CudaOptions) -> CudaKernel:
    """An ``attention``-kind zk.fused op (zt.attention + elementwise epilogue)."""
    io = kernel_io(op)
    anchor = find_anchor(op, ("zt.attention",))
    where = f"{io.where}: 'zt.attention'"
    check_f8(anchor.results[0].type.dtype, where)
    q, k, v = (static_shape(x, where) for x in anchor.operands[:3])
    if max(q[3], v[3]) > MAX_HEAD_DIM:
        raise ZenithError(f"{where}: head dims {q[3]} (q/k) and {v[3]} (v) exceed the CUDA "
                          f"attention template's {MAX_HEAD_DIM}")
    if min(q) == 0 or k[2] == 0:
        raise ZenithError(f"{where}: empty attention (q {q}, k {k}) has no CUDA kernel")
    epi = Epilogue(io, anchor)
    from zenith.codegen.cuda import attention_tc
    from zenith.codegen.cuda.gemm import _arch_num

    if attention_tc.eligible(anchor, _arch_num(options.arch), options.tensor_cores):
        src, grid = attention_tc.source(io, anchor, epi)
        if grid[1] > 65535:
            raise ZenithError(f"{where}: {grid[1]} batch x heads exceed the grid's 65535")
        return CudaKernel(io.name, io.name, src, grid, (attention_tc.THREADS, 1, 1), 0, len(io.ins),
                          len(io.outs), {"template": "flash-attention-wmma",
                                         "rows_per_block": str(attention_tc.ROWS),
                                         "key_tile": str(attention_tc.KEYS)})
    t = _lanes(max(q[3], v[3]))
    threads = 128 if q[0] * q[1] * -(-q[2] // (128 // t)) >= 132 else 64
    src, grid = _source(io, anchor, epi, threads)
    if grid[1] > 65535:
        raise ZenithError(f"{where}: {grid[1]} batch x heads exceed the grid's 65535")
    return CudaKernel(io.name, io.name, src, grid, (threads, 1, 1), 0, len(io.ins), len(io.outs),
                      {"template": "flash-attention", "rows_per_block": str(threads // t),
                       "threads_per_row": str(t), "key_tile": str(KEY_TILE)})
