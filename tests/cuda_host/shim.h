// Host emulation of the CUDA subset that Zenith's generated kernels use, so that
// their source compiles with g++ and runs on the CPU (tests/cuda_host/__init__.py).
// - blockIdx/threadIdx are thread-locals, blockDim/gridDim globals; blocks run one
//   after another; a block's threads run either one after another (kernels with no
//   cooperation) or as real threads (zk_launch(..., coop=true)) with a barrier for
//   __syncthreads and shuffles through a per-block exchange array.
// - __half / __nv_bfloat16 hold their 16 bits; conversions round to nearest even.
// - __shared__ is `static`: one copy, which blocks running in turn can share.
#pragma once
#define ZENITH_HOST_EMULATION 1
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <math.h>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct zk_dim3 { unsigned x, y, z; };
inline thread_local zk_dim3 threadIdx, blockIdx;
inline zk_dim3 blockDim, gridDim;

struct __half { uint16_t bits; };
struct __nv_bfloat16 { uint16_t bits; };

inline float __half2float(__half h) {
  uint32_t sign = (uint32_t)(h.bits & 0x8000) << 16, e = (h.bits >> 10) & 0x1f, m = h.bits & 0x3ff;
  if (e == 0) { float f = std::ldexp((float)m, -24); return sign ? -f : f; }
  uint32_t x = e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
  float f; std::memcpy(&f, &x, 4); return f;
}
inline __half __float2half_rn(float f) {
  uint32_t x; std::memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffffu;
  __half r;
  if (ax > 0x7f800000u) { r.bits = sign | 0x7e00; return r; }
  if (ax >= 0x477ff000u) { r.bits = sign | 0x7c00; return r; }
  if (ax < 0x38800000u) {
    float a; std::memcpy(&a, &ax, 4);
    r.bits = sign | (uint16_t)std::nearbyint(a * 16777216.0f); return r;
  }
  uint32_t h = (((ax >> 23) - 112) << 10) | ((ax & 0x7fffffu) >> 13), rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
  r.bits = sign | (uint16_t)h; return r;
}
inline float __bfloat162float(__nv_bfloat16 b) {
  uint32_t x = (uint32_t)b.bits << 16; float f; std::memcpy(&f, &x, 4); return f;
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t x; std::memcpy(&x, &f, 4);
  __nv_bfloat16 r;
  if ((x & 0x7fffffffu) > 0x7f800000u) { r.bits = (uint16_t)((x >> 16) | 0x40); return r; }
  r.bits = (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16); return r;
}

struct zk_block_ctx { std::barrier<>* bar = nullptr; unsigned char slots[1024][16]; };
inline zk_block_ctx zk_ctx;

inline void __syncthreads() { if (zk_ctx.bar) zk_ctx.bar->arrive_and_wait(); }

template <typename T> T __shfl_xor_sync(unsigned, T v, int m) {
  static_assert(sizeof(T) <= 16, "shuffle of a value wider than 16 bytes");
  const unsigned t = threadIdx.x;
  __syncthreads();
  std::memcpy(zk_ctx.slots[t], &v, sizeof(T));
  __syncthreads();
  T r; std::memcpy(&r, zk_ctx.slots[t ^ (unsigned)m], sizeof(T));
  return r;
}

// Run kernel body `f` over a 1-D grid.
template <typename F> void zk_launch(unsigned gx, unsigned bx, bool coop, F f) {
  gridDim = {gx, 1, 1};
  blockDim = {bx, 1, 1};
  for (unsigned b = 0; b < gx; ++b) {
    if (!coop) {
      zk_ctx.bar = nullptr;
      blockIdx = {b, 0, 0};
      for (unsigned t = 0; t < bx; ++t) { threadIdx = {t, 0, 0}; f(); }
      continue;
    }
    std::barrier<> bar((std::ptrdiff_t)bx);
    zk_ctx.bar = &bar;
    std::vector<std::thread> ts;
    ts.reserve(bx);
    for (unsigned t = 0; t < bx; ++t)
      ts.emplace_back([&f, b, t] { blockIdx = {b, 0, 0}; threadIdx = {t, 0, 0}; f(); });
    for (auto& th : ts) th.join();
    zk_ctx.bar = nullptr;
  }
}
