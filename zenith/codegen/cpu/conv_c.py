"""The C source of Zenith's direct 2-D convolution (f32, AVX2/FMA), compiled once per machine.

One call computes one image: ``dest[m][q] = epi(sum_k w[m][k] * B[k][q])`` where
``q = oh * Wo + ow`` runs over the output pixels and ``k = (tap, ic)`` over the
kernel taps and input channels; ``B`` is never materialised as a whole (no
im2col): each thread packs the block of ``B`` it is about to use (``kc`` input
channels by ``nc`` pixels, every tap) from the padded input into a buffer that
stays in its L2, and a 4x24 register tile (four output channels by three AVX
vectors of pixels, twelve accumulators) runs over it. The epilogue (per-channel
bias, a residual of the output's shape, ReLU) is applied to the tile in
registers before the one store to ``dest``. OpenMP splits the work over output
channels or over pixel blocks, whichever has more.

The source does not depend on the layer: every size comes in ``zk_conv_args``.
"""

from __future__ import annotations

import ctypes

MR = 4    # output channels per register tile
NR = 24   # pixels per register tile (three 8-float vectors)
MAX_TAPS = 1024


class ConvArgs(ctypes.Structure):
    """Mirror of ``zk_conv_args`` in the C source."""

    _fields_ = [(n, ctypes.c_long) for n in (
        "C", "M", "ntap", "Wp", "plane", "Ho", "Wo", "sh", "sw", "kc", "nc", "relu",
        "threads", "split_m")]


SOURCE = r"""/* zenith direct conv: f32, 4x24 AVX2/FMA register tile, packed B blocks */
#include <immintrin.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#define MR 4
#define NV 3
#define NR (8 * NV)

typedef struct {
  long C, M, ntap, Wp, plane, Ho, Wo, sh, sw, kc, nc, relu, threads, split_m;
} zk_conv_args;

/* one register tile: rows m0..m0+MR, pixels q0..q0+NR (clipped to Q), over kn packed steps of
   B (b: kn x NR) and w (kn x MR). Partial sums come from / go to p (row stride nc) unless
   first / last; the last block adds bias and residual, applies relu and stores to dest.
   The accumulators never leave this function, so gcc keeps all twelve in registers. */
static inline void zk_tile(const float* restrict b, const float* restrict w, long kn, float* p,
                           int first, int last, long m0, long q0, long Q, const zk_conv_args* a,
                           const float* bias, const float* res, float* dest) {
  /* twelve named accumulators: gcc kept an __m256 array in memory (a store per FMA) */
  const long nc = a->nc;
#define ZK_INIT(r, j) __m256 c##r##j = first ? _mm256_setzero_ps() : _mm256_load_ps(p + r * nc + 8 * j);
#define ZK_ROW(r) { const __m256 av = _mm256_broadcast_ss(w + r); \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0); c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1); \
    c##r##2 = _mm256_fmadd_ps(av, b2, c##r##2); }
#define ZK_OUT(dst, ld, r) { _mm256_store_ps(dst + r * ld, c##r##0); \
    _mm256_store_ps(dst + r * ld + 8, c##r##1); _mm256_store_ps(dst + r * ld + 16, c##r##2); }
  ZK_INIT(0, 0) ZK_INIT(0, 1) ZK_INIT(0, 2) ZK_INIT(1, 0) ZK_INIT(1, 1) ZK_INIT(1, 2)
  ZK_INIT(2, 0) ZK_INIT(2, 1) ZK_INIT(2, 2) ZK_INIT(3, 0) ZK_INIT(3, 1) ZK_INIT(3, 2)
  for (long k = 0; k < kn; k++, b += NR, w += MR) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), b2 = _mm256_load_ps(b + 16);
    /* keep B in registers: loads folded into the FMAs would load it four times */
    __asm__("" : "+x"(b0), "+x"(b1), "+x"(b2));
    ZK_ROW(0) ZK_ROW(1) ZK_ROW(2) ZK_ROW(3)
  }
  if (!last) {
    ZK_OUT(p, nc, 0) ZK_OUT(p, nc, 1) ZK_OUT(p, nc, 2) ZK_OUT(p, nc, 3)
    return;
  }
  const long n = Q - q0 < NR ? Q - q0 : NR;
  if (n == NR) {  /* a whole tile: the epilogue on the accumulators, three vectors a row */
    const __m256 zero = _mm256_setzero_ps();
#define ZK_EPI(r, j) { __m256 v = _mm256_add_ps(c##r##j, bm); \
      if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + o + 8 * j)); \
      if (a->relu) v = _mm256_max_ps(zero, v); /* max(0, NaN) is NaN */ \
      _mm256_storeu_ps(dest + o + 8 * j, v); }
#define ZK_EPI_ROW(r) { const long o = (m0 + r) * Q + q0; \
      const __m256 bm = _mm256_set1_ps(bias ? bias[m0 + r] : 0.f); \
      ZK_EPI(r, 0) ZK_EPI(r, 1) ZK_EPI(r, 2) }
    ZK_EPI_ROW(0) ZK_EPI_ROW(1) ZK_EPI_ROW(2) ZK_EPI_ROW(3)
#undef ZK_EPI_ROW
#undef ZK_EPI
    return;
  }
  /* the last, partial tile: spill it and finish element by element */
  float t[MR * NR] __attribute__((aligned(32)));
  ZK_OUT(t, NR, 0) ZK_OUT(t, NR, 1) ZK_OUT(t, NR, 2) ZK_OUT(t, NR, 3)
#undef ZK_INIT
#undef ZK_ROW
#undef ZK_OUT
  for (int r = 0; r < MR; r++) {
    const long o = (m0 + r) * Q + q0;
    const float bm = bias ? bias[m0 + r] : 0.f;
    float* restrict d = dest + o;
    const float* tr = t + r * NR;
    if (res) {
      const float* rr = res + o;
      for (long i = 0; i < n; i++) {
        const float v = tr[i] + bm + rr[i];
        d[i] = a->relu && v < 0.f ? 0.f : v;
      }
    } else if (a->relu) {
      for (long i = 0; i < n; i++) { const float v = tr[i] + bm; d[i] = v < 0.f ? 0.f : v; }
    } else {
      for (long i = 0; i < n; i++) d[i] = tr[i] + bm;
    }
  }
}

/* pack B for pixels qs..qs+nc (sub-tiles of NR) and channels c0..c0+kb: [sub][tap][ic][NR] */
static void zk_pack(const float* restrict xp, const int* toff, float* restrict dst, long q0, long c0,
                    long kb, long Q, const zk_conv_args* a) {
  /* pack the sub-tile of pixels q0..q0+NR, channels c0..c0+kb, every tap: [tap][ic][NR].
     Its pixels as runs of consecutive input offsets: one run inside an output row at
     stride 1 (a vector copy), a few across rows, one per pixel at stride > 1 (a gather).
     Pixels past Q read as zero. */
  long start[NR], off[NR], len[NR], idx[NR];
  int runs = 0;
  for (int j = 0; j < NR; j++) {
    const long q = q0 + j;
    if (q >= Q) { idx[j] = -1; continue; }
    const long oh = q / a->Wo, ow = q - oh * a->Wo;
    const long o = oh * a->sh * a->Wp + ow * a->sw;
    idx[j] = o;
    if (runs && off[runs - 1] + len[runs - 1] == o) {
      len[runs - 1]++;
    } else {
      start[runs] = j; off[runs] = o; len[runs] = 1; runs++;
    }
  }
  const long filled = runs ? start[runs - 1] + len[runs - 1] : 0;
  const int mode = runs == 1 && filled == NR ? 0 : runs <= 3 ? 1 : 2;
  for (long t = 0; t < a->ntap; t++) {
    const float* src = xp + c0 * a->plane + toff[t];
    for (long ic = 0; ic < kb; ic++, src += a->plane, dst += NR) {
      if (mode == 0) {
        for (int j = 0; j < NV; j++) _mm256_store_ps(dst + 8 * j, _mm256_loadu_ps(src + off[0] + 8 * j));
      } else if (mode == 1) {
        for (int u = 0; u < runs; u++)
          for (long i = 0; i < len[u]; i++) dst[start[u] + i] = src[off[u] + i];
        for (long j = filled; j < NR; j++) dst[j] = 0.f;
      } else {
        for (int j = 0; j < NR; j++) dst[j] = idx[j] >= 0 ? src[idx[j]] : 0.f;
      }
    }
  }
}

/* one image. xp: [C][plane] padded input; wpk: per channel block c0, [M/MR][ntap][kb][MR];
   dest, res: [M][Ho*Wo]; work: per thread, nc*ntap*kc floats of packed B, then M*nc of
   partial sums (when C > kc); 32-byte aligned.
   split_m: the threads share one packed block (each packs every nt-th sub-tile, with a
   barrier either side) and split the output channels; else each packs its own pixel blocks. */
void zk_conv(const float* restrict xp, const float* restrict wpk, const float* bias, const float* res,
             float* restrict dest, float* restrict work, const int* toff, const zk_conv_args* a) {
  const long Q = a->Ho * a->Wo, MT = a->M / MR, C = a->C, kc = a->kc, nc = a->nc, ntap = a->ntap;
  const long QB = (Q + nc - 1) / nc;
  const long per_thread = nc * ntap * kc + (C > kc ? a->M * nc : 0);
  #pragma omp parallel num_threads(a->threads)
  {
    long nt = 1, id = 0;
#ifdef _OPENMP
    nt = omp_get_num_threads();
    id = omp_get_thread_num();
#endif
    const int shared = a->split_m && nt > 1;
    long mt0 = 0, mt1 = MT, qb0 = 0, qb1 = QB;
    if (a->split_m) { mt0 = MT * id / nt; mt1 = MT * (id + 1) / nt; }
    else { qb0 = QB * id / nt; qb1 = QB * (id + 1) / nt; }
    float* pk = work + (shared ? 0 : id * per_thread);
    float* part = work + id * per_thread + nc * ntap * kc;
    for (long qb = qb0; qb < qb1; qb++) {
      const long qs = qb * nc;
      for (long c0 = 0; c0 < C; c0 += kc) {
        const long kb = C - c0 < kc ? C - c0 : kc;
        const int first = c0 == 0, last = c0 + kb >= C;
        const long step = ntap * kb * NR;
        if (shared) {
#pragma omp barrier
        }
        for (long q0 = qs, u = 0; q0 < qs + nc && q0 < Q; q0 += NR, u++)
          if (!shared || u % nt == id) zk_pack(xp, toff, pk + u * step, q0, c0, kb, Q, a);
        if (shared) {
#pragma omp barrier
        }
        const float* wb = wpk + c0 * ntap * a->M;
        /* an A micro-panel stays in L1 across the block's sub-tiles (the other order,
           a B sub-tile across the channels, measured the same on ResNet-50) */
        for (long mt = mt0; mt < mt1; mt++)
          for (long q0 = qs; q0 < qs + nc && q0 < Q; q0 += NR)
            zk_tile(pk + (q0 - qs) / NR * step, wb + mt * ntap * kb * MR, ntap * kb,
                    part + mt * MR * nc + (q0 - qs), first, last, mt * MR, q0, Q, a, bias, res, dest);
      }
    }
  }
}
"""
