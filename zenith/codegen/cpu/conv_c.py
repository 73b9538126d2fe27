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
        "threads", "split_m", "H", "W", "pt", "pl")]


TILE = r"""/* zenith 4x24 AVX2/FMA register tile over packed B (shared by the direct and Winograd convs) */
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
  long H, W, pt, pl;  /* the unpadded image and where it sits in the padded one */
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

/* the tile's narrow form for the last pixels of a row of Q (Q - q0 < NR): 4 rows x 8 pixels,
   reading the first 8 lanes of each packed step, with even and odd steps in separate
   accumulators (eight chains keep both FMA pipes busy). ResNet-50's 7x7 stage has 49 pixels:
   24 + 24 + 1, and a whole tile for the last one would compute 23 wasted columns. */
static inline void zk_tile8(const float* restrict b, const float* restrict w, long kn, float* p,
                            int first, int last, long m0, long q0, long Q, const zk_conv_args* a,
                            const float* bias, const float* res, float* dest) {
  const long nc = a->nc;
  const __m256 zero = _mm256_setzero_ps();
  __m256 e0 = first ? zero : _mm256_load_ps(p), e1 = first ? zero : _mm256_load_ps(p + nc);
  __m256 e2 = first ? zero : _mm256_load_ps(p + 2 * nc), e3 = first ? zero : _mm256_load_ps(p + 3 * nc);
  __m256 o0 = zero, o1 = zero, o2 = zero, o3 = zero;
  long k = 0;
  for (; k + 1 < kn; k += 2, b += 2 * NR, w += 2 * MR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + NR);
    e0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w), b0, e0);
    e1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 1), b0, e1);
    e2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 2), b0, e2);
    e3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3), b0, e3);
    o0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 4), b1, o0);
    o1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 5), b1, o1);
    o2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 6), b1, o2);
    o3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 7), b1, o3);
  }
  if (k < kn) {
    const __m256 b0 = _mm256_load_ps(b);
    e0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w), b0, e0);
    e1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 1), b0, e1);
    e2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 2), b0, e2);
    e3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3), b0, e3);
  }
  e0 = _mm256_add_ps(e0, o0); e1 = _mm256_add_ps(e1, o1);
  e2 = _mm256_add_ps(e2, o2); e3 = _mm256_add_ps(e3, o3);
  float t[MR * 8] __attribute__((aligned(32)));
  _mm256_store_ps(last ? t : p, e0); _mm256_store_ps(last ? t + 8 : p + nc, e1);
  _mm256_store_ps(last ? t + 16 : p + 2 * nc, e2); _mm256_store_ps(last ? t + 24 : p + 3 * nc, e3);
  if (!last) return;
  const long n = Q - q0 < 8 ? Q - q0 : 8;
  for (int r = 0; r < MR; r++) {
    const long o = (m0 + r) * Q + q0;
    const float bm = bias ? bias[m0 + r] : 0.f;
    for (long i = 0; i < n; i++) {
      const float v = t[r * 8 + i] + bm + (res ? res[o + i] : 0.f);
      dest[o + i] = a->relu && v < 0.f ? 0.f : v;
    }
  }
}

"""

SOURCE = TILE + r"""
/* zenith direct conv: packed B blocks from the padded image */
static void zk_pack(const float* restrict xp, const int* toff, float* restrict dst, long q0, long c0,
                    long kb, long Q, const zk_conv_args* a) {
  /* pack the sub-tile of pixels q0..q0+NR, channels c0..c0+kb, every tap: [tap][ic][NR].
     Its pixels as runs along output rows (input offsets o, o + sw, o + 2 sw, ...): one run
     inside a row, a few across rows; stride 1 copies vectors, stride 2 a loop gcc
     vectorizes with permutes, others element by element. Pixels past Q read as zero. */
  long start[NR], off[NR], len[NR];
  int runs = 0;
  const long sw = a->sw;
  for (int j = 0; j < NR; j++) {
    const long q = q0 + j;
    if (q >= Q) break;
    const long oh = q / a->Wo, ow = q - oh * a->Wo;
    const long o = oh * a->sh * a->Wp + ow * sw;
    if (runs && ow > 0 && off[runs - 1] + len[runs - 1] * sw == o) {
      len[runs - 1]++;
    } else {
      start[runs] = j; off[runs] = o; len[runs] = 1; runs++;
    }
  }
  const long filled = runs ? start[runs - 1] + len[runs - 1] : 0;
  const int whole = runs == 1 && filled == NR && sw == 1;
  for (long t = 0; t < a->ntap; t++) {
    const float* src = xp + c0 * a->plane + toff[t];
    for (long ic = 0; ic < kb; ic++, src += a->plane, dst += NR) {
      if (whole) {
        /* the same row of the next pixel block: the hardware cannot follow kb strided
           streams (ResNet-50's 576-channel 1x1 shape: 41-46 -> 49-55 GF/s on one core) */
        _mm_prefetch((const char*)(src + off[0] + a->nc), _MM_HINT_T0);
        _mm_prefetch((const char*)(src + off[0] + a->nc + 16), _MM_HINT_T0);
        for (int j = 0; j < NV; j++) _mm256_store_ps(dst + 8 * j, _mm256_loadu_ps(src + off[0] + 8 * j));
        continue;
      }
      for (int u = 0; u < runs; u++) {
        float* restrict d = dst + start[u];
        const float* s = src + off[u];
        const long n = len[u];
        if (sw == 1) for (long i = 0; i < n; i++) d[i] = s[i];
        else if (sw == 2) for (long i = 0; i < n; i++) d[i] = s[2 * i];
        else for (long i = 0; i < n; i++) d[i] = s[i * sw];
      }
      for (long j = filled; j < NR; j++) dst[j] = 0.f;
    }
  }
}

/* one image. x: [C][H][W] input; xpad: [C][plane] its padded copy (borders zero), filled
   here by the threads, or NULL when there is no padding (x is read in place);
   wpk: per channel block c0, [M/MR][ntap][kb][MR];
   dest, res: [M][Ho*Wo]; work: per thread, nc*ntap*kc floats of packed B, then M*nc of
   partial sums (when C > kc); 32-byte aligned.
   split_m: the threads share one packed block (each packs every nt-th sub-tile, with a
   barrier either side) and split the output channels; else each packs its own pixel blocks. */
void zk_conv(const float* restrict x, float* restrict xpad, const float* restrict wpk, const float* bias,
             const float* res, float* restrict dest, float* restrict work, const int* toff,
             const zk_conv_args* a) {
  const float* xp = xpad ? xpad : x;
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
    if (xpad) {  /* the interior of the padded copy, a share of the channels per thread */
      for (long c = C * id / nt; c < C * (id + 1) / nt; c++)
        for (long h = 0; h < a->H; h++)
          memcpy(xpad + c * a->plane + (h + a->pt) * a->Wp + a->pl, x + (c * a->H + h) * a->W,
                 (size_t)a->W * sizeof(float));
#pragma omp barrier
    }
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
          for (long q0 = qs; q0 < qs + nc && q0 < Q; q0 += NR) {
            const float* bt = pk + (q0 - qs) / NR * step;
            const float* wt = wb + mt * ntap * kb * MR;
            float* pt = part + mt * MR * nc + (q0 - qs);
            if (Q - q0 >= NR) {
              zk_tile(bt, wt, ntap * kb, pt, first, last, mt * MR, q0, Q, a, bias, res, dest);
            } else {
              for (long qq = q0; qq < Q; qq += 8)
                zk_tile8(bt + (qq - q0), wt, ntap * kb, pt + (qq - q0), first, last, mt * MR, qq, Q,
                         a, bias, res, dest);
            }
          }
      }
    }
  }
}
"""
