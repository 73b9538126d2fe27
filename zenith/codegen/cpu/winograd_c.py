"""The C source of Zenith's Winograd F(4x4, 3x3) convolution (f32, AVX2/FMA).

A 3x3, stride-1 convolution computes each 4x4 block of output pixels (a *tile*)
from the 6x6 input window under it as ``Y = A^T [ U (.) V ] A`` with
``U = G g G^T`` (the weights, transformed once) and ``V = B^T d B`` (the input
window): 36 multiplies per tile and channel pair instead of 144, so the
multiply-adds drop by 4x (Lavin and Gray, "Fast Algorithms for Convolutional
Neural Networks", 2016). Over a block of ``NR`` (24) tiles, the element-wise
products summed over the input channels are 36 small GEMMs
``M_p[k][t] = sum_c U_p[k][c] V_p[c][t]``, which run on the direct convolution's
4x24 register tile (``conv_c.TILE``) with ``V_p`` in L1.

Per block: the input transform (AVX2 gathers of the 6x6 windows of eight tiles
at once from a zero-padded copy of the image), the 36 GEMMs, then the output
transform with the epilogue (bias, residual, ReLU) on the way to ``dest``.
OpenMP splits the tile blocks over the threads, or, with fewer than two blocks
per thread, the output channels over blocks the threads transform together.

The padded copy also screens the input: a value that is not finite or whose
magnitude reaches 2^64 makes ``zw_conv`` return 1 before anything is computed
(the caller then runs the direct convolution), so NaN and infinity spread
exactly as the reference's do and the transforms cannot overflow.
"""

from __future__ import annotations

import ctypes

from zenith.codegen.cpu.conv_c import TILE

TILE_PIXELS = 4   # output pixels per tile side: F(4x4, 3x3)
QUAD = 4          # tiles side by side in one half of a vector
WINDOW = 6        # input pixels per tile side
POSITIONS = WINDOW * WINDOW
INPUT_LIMIT = 2.0 ** 64  # screen: larger inputs run the direct convolution


class WinoArgs(ctypes.Structure):
    """Mirror of ``zw_args`` in the C source."""

    _fields_ = [(n, ctypes.c_long) for n in (
        "C", "K", "H", "W", "pt", "pl", "Ho", "Wo", "TH", "QW", "Hp", "Wp", "relu", "threads",
        "split_k")]


SOURCE = TILE + r"""
/* zenith Winograd F(4x4, 3x3) convolution */
#include <math.h>
typedef struct {
  long C, K, H, W, pt, pl, Ho, Wo, TH, QW, Hp, Wp, relu, threads, split_k;
} zw_args;
/* the stride between positions p of V and M: n rows of NR plus 16 floats, so the 36
   positions of one row do not all fall in the same few L1 sets (4 KB aliasing) */
#define ZW_VSTRIDE(n) ((n) * NR + 16)

/* B^T (6x6) applied to six vectors: o[i * os] = sum_r BT[i][r] d[r * ds] */
static inline void zw_bt(const __m256* d, long ds, __m256* o, long os) {
  const __m256 d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds],
               d5 = d[5 * ds];
  const __m256 four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f), two = _mm256_set1_ps(2.f);
  const __m256 s34 = _mm256_add_ps(d3, d4), s12 = _mm256_add_ps(d1, d2);
  const __m256 d43 = _mm256_sub_ps(d4, d3), d12 = _mm256_sub_ps(d1, d2);
  const __m256 d42 = _mm256_sub_ps(d4, d2), d31 = _mm256_sub_ps(d3, d1);
  o[0] = _mm256_fmadd_ps(four, d0, _mm256_fnmadd_ps(five, d2, d4));
  o[os] = _mm256_fnmadd_ps(four, s12, s34);
  o[2 * os] = _mm256_fmadd_ps(four, d12, d43);
  o[3 * os] = _mm256_fmadd_ps(two, d31, d42);
  o[4 * os] = _mm256_fnmadd_ps(two, d31, d42);
  o[5 * os] = _mm256_fmadd_ps(four, d1, _mm256_fnmadd_ps(five, d3, d5));
}

/* A^T (4x6) applied to six vectors: o[i * os] = sum_r AT[i][r] m[r * ms] */
static inline void zw_at(const __m256* m, long ms, __m256* o, long os) {
  const __m256 m0 = m[0], m1 = m[ms], m2 = m[2 * ms], m3 = m[3 * ms], m4 = m[4 * ms],
               m5 = m[5 * ms];
  const __m256 s12 = _mm256_add_ps(m1, m2), s34 = _mm256_add_ps(m3, m4);
  const __m256 d12 = _mm256_sub_ps(m1, m2), d34 = _mm256_sub_ps(m3, m4);
  o[0] = _mm256_add_ps(_mm256_add_ps(m0, s12), s34);
  o[os] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), d34, d12);
  o[2 * os] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), s34, s12);
  o[3 * os] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d34, d12), m5);
}

/* in-lane 4x4 transposes: each 128-bit half of x0..x3 is one quad's 4x4 block. Returns
   column i of both halves in c[i]; zw_tr2 only columns 0 and 1. */
static inline void zw_tr4(__m256 x0, __m256 x1, __m256 x2, __m256 x3, __m256* c) {
  const __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1);
  const __m256 t2 = _mm256_unpacklo_ps(x2, x3), t3 = _mm256_unpackhi_ps(x2, x3);
  c[0] = _mm256_shuffle_ps(t0, t2, 0x44); c[1] = _mm256_shuffle_ps(t0, t2, 0xee);
  c[2] = _mm256_shuffle_ps(t1, t3, 0x44); c[3] = _mm256_shuffle_ps(t1, t3, 0xee);
}
static inline void zw_tr2(__m256 x0, __m256 x1, __m256 x2, __m256 x3, __m256* c) {
  const __m256 t0 = _mm256_unpacklo_ps(x0, x1), t2 = _mm256_unpacklo_ps(x2, x3);
  c[0] = _mm256_shuffle_ps(t0, t2, 0x44); c[1] = _mm256_shuffle_ps(t0, t2, 0xee);
}

/* quad q (four tiles side by side in a tile row): its first window's offset in a padded
   plane, and its first output pixel */
static inline long zw_quad_in(long q, const zw_args* a) {
  return 4 * (q / a->QW) * a->Wp + 16 * (q % a->QW);
}

/* V[p][c][NR] for the block's quads q0..q0+nq (two a vector: lanes 0-3 and 4-7) and
   channels c0..c1. Each window row of a quad is 18 contiguous floats; five 4-float loads
   per quad and in-lane transposes turn them into the six window columns of its tiles. */
static void zw_input(const float* xp, float* V, long c0, long c1, long q0, long nq,
                     const zw_args* a) {
  const long plane = a->Hp * a->Wp, Wp = a->Wp, C = a->C;
  for (long v = 0; 2 * v < nq; v++) {
    const long qa = q0 + 2 * v, qb = 2 * v + 1 < nq ? qa + 1 : qa;
    const long oa = zw_quad_in(qa, a), ob = zw_quad_in(qb, a);
    for (long c = c0; c < c1; c++) {
      const float* sa = xp + c * plane + oa;
      const float* sb = xp + c * plane + ob;
      __m256 d[36], t[36];
      for (int r = 0; r < 6; r++, sa += Wp, sb += Wp) {
        __m256 x[5];
        for (int j = 0; j < 5; j++)
          x[j] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(sa + 4 * j)),
                                      _mm_loadu_ps(sb + 4 * j), 1);
        zw_tr4(x[0], x[1], x[2], x[3], d + 6 * r);      /* window columns 0-3 */
        zw_tr2(x[1], x[2], x[3], x[4], d + 6 * r + 4);  /* and 4-5 */
      }
      for (int i = 0; i < 6; i++) zw_bt(d + i, 6, t + i, 6);  /* B^T down the columns */
      for (int h = 0; h < 6; h++) {                          /* then along the rows */
        __m256 o[6];
        zw_bt(t + 6 * h, 1, o, 1);
        for (int w = 0; w < 6; w++)
          _mm256_store_ps(V + (6 * h + w) * ZW_VSTRIDE(C) + c * NR + 8 * v, o[w]);
      }
    }
  }
}

/* bias, residual and ReLU on 8 output pixels, stored where lane < nv */
static inline void zw_store8(__m256 y, __m256 bk, const float* res, float* dest, long nv,
                             int relu) {
  y = _mm256_add_ps(y, bk);
  if (nv >= 8) {
    if (res) y = _mm256_add_ps(y, _mm256_loadu_ps(res));
    if (relu) y = _mm256_max_ps(_mm256_setzero_ps(), y);  /* max(0, NaN) is NaN */
    _mm256_storeu_ps(dest, y);
    return;
  }
  if (nv <= 0) return;
  const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nv),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  if (res) y = _mm256_add_ps(y, _mm256_maskload_ps(res, m));
  if (relu) y = _mm256_max_ps(_mm256_setzero_ps(), y);
  _mm256_maskstore_ps(dest, m, y);
}

/* the output transform of rows r0..r1 of M ([36][Kt][NR], output channel k0 + r) for the
   block's quads q0..q0+nq, then bias, residual and ReLU on the way to dest: per output
   row of a quad, an in-lane transpose gives its 16 contiguous pixels */
static void zw_output(const float* M, long Kt, long k0, long r0, long r1, long q0, long nq,
                      const float* bias, const float* res, float* dest, const zw_args* a) {
  const long Q = a->Ho * a->Wo, nquads = a->TH * a->QW;
  for (long r = r0; r < r1; r++) {
    const long k = k0 + r;
    const __m256 bk = _mm256_set1_ps(bias ? bias[k] : 0.f);
    for (long v = 0; 2 * v < nq; v++) {
      __m256 m[36], s[24], y[16];
      for (int p = 0; p < 36; p++) m[p] = _mm256_load_ps(M + p * ZW_VSTRIDE(Kt) + r * NR + 8 * v);
      for (int i = 0; i < 6; i++) zw_at(m + i, 6, s + i, 6);          /* A^T down the columns */
      for (int h = 0; h < 4; h++) zw_at(s + 6 * h, 1, y + 4 * h, 1);  /* then along the rows */
      for (int half = 0; half < 2 && 2 * v + half < nq; half++) {
        const long q = q0 + 2 * v + half;
        if (q >= nquads) break;
        const long ty = q / a->QW, x0 = 16 * (q % a->QW), nv = a->Wo - x0;
        for (int h = 0; h < 4 && 4 * ty + h < a->Ho; h++) {
          __m256 c[4];
          zw_tr4(y[4 * h], y[4 * h + 1], y[4 * h + 2], y[4 * h + 3], c);
          const __m256 lo = half ? _mm256_permute2f128_ps(c[0], c[1], 0x31)
                                 : _mm256_permute2f128_ps(c[0], c[1], 0x20);
          const __m256 hi = half ? _mm256_permute2f128_ps(c[2], c[3], 0x31)
                                 : _mm256_permute2f128_ps(c[2], c[3], 0x20);
          const long o = k * Q + (4 * ty + h) * a->Wo + x0;
          zw_store8(lo, bk, res ? res + o : NULL, dest + o, nv, (int)a->relu);
          zw_store8(hi, bk, res ? res + o + 8 : NULL, dest + o + 8, nv - 8, (int)a->relu);
        }
      }
    }
  }
}

/* a 4x16 register tile for blocks of at most four quads: M rows m..m+4 (stride NR) =
   sum over kn steps of w (kn x MR) times b (kn x NR, its first 16 lanes). Eight
   accumulators; each weight is broadcast once (two 4x8 tiles would load it twice). */
static inline void zw_tile16(const float* restrict b, const float* restrict w, long kn,
                             float* restrict m) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00;
  for (long k = 0; k < kn; k++, b += NR, w += MR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(w);
    c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(w + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(w + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(w + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
  }
  _mm256_store_ps(m, c00); _mm256_store_ps(m + 8, c01);
  _mm256_store_ps(m + NR, c10); _mm256_store_ps(m + NR + 8, c11);
  _mm256_store_ps(m + 2 * NR, c20); _mm256_store_ps(m + 2 * NR + 8, c21);
  _mm256_store_ps(m + 3 * NR, c30); _mm256_store_ps(m + 3 * NR + 8, c31);
}

/* copy channels c0..c1 of x into the padded image; 1 when a value is not finite or
   |value| >= 2^64 */
static int zw_copy(const float* restrict x, float* restrict xp, long c0, long c1, const zw_args* a) {
  const __m256 lim = _mm256_set1_ps(18446744073709551616.f);
  const __m256 mag = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 bad = _mm256_setzero_ps();
  int sbad = 0;
  for (long c = c0; c < c1; c++)
    for (long h = 0; h < a->H; h++) {
      const float* s = x + (c * a->H + h) * a->W;
      float* d = xp + (c * a->Hp + h + a->pt) * a->Wp + a->pl;
      long w = 0;
      for (; w + 8 <= a->W; w += 8) {
        const __m256 v = _mm256_loadu_ps(s + w);
        /* NLT_UQ: true for NaN and for |v| >= 2^64 (infinity included) */
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_and_ps(v, mag), lim, _CMP_NLT_UQ));
        _mm256_storeu_ps(d + w, v);
      }
      for (; w < a->W; w++) {
        const float v = s[w];
        sbad |= !(fabsf(v) < 18446744073709551616.f);
        d[w] = v;
      }
    }
  return sbad || _mm256_movemask_ps(bad) != 0;
}

/* one image. x [C][H][W]; xpad [C][Hp][Wp] (borders zero; the interior is written here);
   U [36][K/4][C][4]; dest, res [K][Ho*Wo]; work: per thread V [36][C][NR]
   (shared when split_k) and M [36][K][NR], 32-byte aligned. Returns 1 (dest untouched)
   when the input fails the screen. */
int zw_conv(const float* restrict x, float* restrict xpad, const float* restrict U,
            const float* bias, const float* res, float* restrict dest, float* restrict work,
            const zw_args* a) {
  const long C = a->C, K = a->K, KG = K / MR, NQ = a->TH * a->QW, QPB = NR / 4;
  const long QB = (NQ + QPB - 1) / QPB;
  const long vf = 36 * ZW_VSTRIDE(C), mf = 36 * ZW_VSTRIDE(K);
  int bad = 0;
  zk_conv_args ta;  /* the register tile reads only nc: the row stride of M */
  memset(&ta, 0, sizeof ta);
  ta.nc = NR;
  #pragma omp parallel num_threads(a->threads)
  {
    long nt = 1, id = 0;
#ifdef _OPENMP
    nt = omp_get_num_threads();
    id = omp_get_thread_num();
#endif
    if (zw_copy(x, xpad, C * id / nt, C * (id + 1) / nt, a)) {
#pragma omp atomic write
      bad = 1;
    }
#pragma omp barrier
    int stop;
#pragma omp atomic read
    stop = bad;
    if (!stop) {
      const int shared = a->split_k && nt > 1;
      const long kg0 = shared ? KG * id / nt : 0, kg1 = shared ? KG * (id + 1) / nt : KG;
      const long qb0 = shared ? 0 : QB * id / nt, qb1 = shared ? QB : QB * (id + 1) / nt;
      float* V = shared ? work : work + id * (vf + mf);
      float* Mb = shared ? work + vf + id * mf : V + vf;
      const long Kt = (kg1 - kg0) * MR;
      for (long qb = qb0; qb < qb1; qb++) {
        const long q0 = qb * QPB, nq = NQ - q0 < QPB ? NQ - q0 : QPB, n = 4 * nq;
        if (shared) {
#pragma omp barrier
          zw_input(xpad, V, C * id / nt, C * (id + 1) / nt, q0, nq, a);
#pragma omp barrier
        } else {
          zw_input(xpad, V, 0, C, q0, nq, a);
        }
        for (long p = 0; p < 36; p++) {
          const float* vp = V + p * ZW_VSTRIDE(C);
          for (long kg = kg0; kg < kg1; kg++) {
            const float* up = U + (p * KG + kg) * C * MR;
            float* mp = Mb + p * ZW_VSTRIDE(Kt) + (kg - kg0) * MR * NR;
            if (n > 16) zk_tile(vp, up, C, mp, 1, 0, 0, 0, 0, &ta, NULL, NULL, NULL);
            else if (n > 8) zw_tile16(vp, up, C, mp);
            else zk_tile8(vp, up, C, mp, 1, 0, 0, 0, 0, &ta, NULL, NULL, NULL);
          }
        }
        zw_output(Mb, Kt, kg0 * MR, 0, Kt, q0, nq, bias, res, dest, a);
      }
    }
  }
  return bad;
}
"""
