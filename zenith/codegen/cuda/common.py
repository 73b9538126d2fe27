"""Shared pieces of the CUDA generators: the prelude, storage types, kernel signatures.

Every generated translation unit starts with :data:`PRELUDE` (include-guarded, so
several kernels concatenate into one unit for batch compilation). The prelude
holds the vector load type, the reduction operators and the warp/block
reductions; a host build (``ZENITH_HOST_EMULATION``, see tests/cuda_host) skips
the CUDA headers and supplies its own ``__half``, shuffles and barriers.
"""

from __future__ import annotations

from zenith.codegen.scalar import C_STORAGE, compute_type
from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.dtypes import DType

PRELUDE = r"""#ifndef ZENITH_CUDA_PRELUDE
#define ZENITH_CUDA_PRELUDE
#ifndef ZENITH_HOST_EMULATION
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdint.h>
#endif
// N consecutive elements loaded or stored in 16-byte transactions (one, or two for
// 8 f32 next to 8 f16 of the output); aligned to min(16, its size).
template <typename T, int N> struct alignas(sizeof(T) * N > 16 ? 16 : sizeof(T) * N) zk_vec { T v[N]; };

// Reduction operators: identity and combine (max/min propagate NaN like NumPy).
template <typename T> struct zk_sum {
  __device__ __forceinline__ static T id() { return (T)0; }
  __device__ __forceinline__ static T op(T a, T b) { return a + b; }
};
template <typename T> struct zk_prod {
  __device__ __forceinline__ static T id() { return (T)1; }
  __device__ __forceinline__ static T op(T a, T b) { return a * b; }
};
template <typename T> struct zk_max {
  __device__ __forceinline__ static T id() { return (T)-INFINITY; }
  __device__ __forceinline__ static T op(T a, T b) { return (a != a || a > b) ? a : b; }
};
template <typename T> struct zk_min {
  __device__ __forceinline__ static T id() { return (T)INFINITY; }
  __device__ __forceinline__ static T op(T a, T b) { return (a != a || a < b) ? a : b; }
};
template <> struct zk_max<long long> {
  __device__ __forceinline__ static long long id() { return (long long)(-0x7fffffffffffffffLL - 1); }
  __device__ __forceinline__ static long long op(long long a, long long b) { return a > b ? a : b; }
};
template <> struct zk_min<long long> {
  __device__ __forceinline__ static long long id() { return 0x7fffffffffffffffLL; }
  __device__ __forceinline__ static long long op(long long a, long long b) { return a < b ? a : b; }
};
template <> struct zk_max<unsigned long long> {
  __device__ __forceinline__ static unsigned long long id() { return 0ULL; }
  __device__ __forceinline__ static unsigned long long op(unsigned long long a, unsigned long long b) {
    return a > b ? a : b; }
};
template <> struct zk_min<unsigned long long> {
  __device__ __forceinline__ static unsigned long long id() { return ~0ULL; }
  __device__ __forceinline__ static unsigned long long op(unsigned long long a, unsigned long long b) {
    return a < b ? a : b; }
};

// (value, index) for argmax/argmin: NaN counts as the extreme; ties keep the first
// index (or the last with LAST).
template <typename T> struct zk_arg { T v; long long i; };
template <typename T, bool MAX, bool LAST> struct zk_argop {
  __device__ __forceinline__ static zk_arg<T> id() {
    zk_arg<T> r; r.v = MAX ? zk_max<T>::id() : zk_min<T>::id(); r.i = -1; return r; }
  __device__ __forceinline__ static zk_arg<T> op(zk_arg<T> a, zk_arg<T> b) {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool an = a.v != a.v, bn = b.v != b.v;
    if (an || bn) {
      if (an && bn) return ((a.i < b.i) != LAST) ? a : b;
      return an ? a : b;
    }
    if (a.v == b.v) return ((a.i < b.i) != LAST) ? a : b;
    return ((a.v > b.v) == MAX) ? a : b;
  }
};

template <typename T> __device__ __forceinline__ T zk_shfl_xor(T v, int m) {
  return __shfl_xor_sync(0xffffffffu, v, m);
}
template <typename T> __device__ __forceinline__ zk_arg<T> zk_shfl_xor(zk_arg<T> v, int m) {
  zk_arg<T> r; r.v = __shfl_xor_sync(0xffffffffu, v.v, m); r.i = __shfl_xor_sync(0xffffffffu, v.i, m);
  return r;
}

// Reduce over a group of G threads (G = 1, a power of two up to 32: consecutive lanes
// of a warp, or the whole block), every thread of the group gets the result. All
// threads of the block must call it together (G > 32 uses __syncthreads); `smem`
// holds 32 values.
template <typename OP, int G, typename T> __device__ __forceinline__ T zk_group_reduce(T v, T* smem) {
  if (G == 1) return v;
#pragma unroll
  for (int m = (G < 32 ? G : 32) / 2; m > 0; m >>= 1) v = OP::op(v, zk_shfl_xor(v, m));
  if (G <= 32) return v;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  v = lane < (G >> 5) ? smem[lane] : OP::id();
#pragma unroll
  for (int m = 16; m > 0; m >>= 1) v = OP::op(v, zk_shfl_xor(v, m));
  return v;
}

// Combine the P partials (thread rows threadIdx.x / 32) of each of 32 columns
// (threadIdx.x % 32) through shared memory; every thread gets its column's result.
template <typename OP, int P, typename T> __device__ __forceinline__ T zk_column_reduce(T v, T (*smem)[32]) {
  const int c = threadIdx.x & 31, p = threadIdx.x >> 5;
  __syncthreads();
  smem[p][c] = v;
  __syncthreads();
  T r = smem[0][c];
#pragma unroll
  for (int q = 1; q < P; ++q) r = OP::op(r, smem[q][c]);
  return r;
}
#endif  // ZENITH_CUDA_PRELUDE
"""

CUDA_STORAGE = {**C_STORAGE, "f16": "__half", "bf16": "__nv_bfloat16"}
INT32_LIMIT = 2**31 - 1


def kernel_error(kop: Operation, op: Operation | None, msg: str) -> ZenithError:
    """A ZenithError naming the kernel, the op inside it and their locations."""
    where = f" ({op.name} at {op.loc})" if op is not None else ""
    return ZenithError(f"kernel '{kop.attr('name')}' at {kop.loc}{where}: {msg}")


def storage(dt: DType, kop: Operation, op: Operation | None = None) -> str:
    """The CUDA storage type of ``dt`` (ZenithError if the target has none)."""
    s = CUDA_STORAGE.get(dt.name)
    if s is None:
        raise kernel_error(kop, op, f"dtype {dt.name} is not supported by the CUDA target")
    return s


def ctype(dt: DType) -> str:
    """The compute type of ``dt``."""
    return compute_type(dt)


def load(dt: DType, elem: str) -> str:
    """Convert a stored element (an lvalue expression) to its compute type."""
    if dt.name == "f16":
        return f"__half2float({elem})"
    if dt.name == "bf16":
        return f"__bfloat162float({elem})"
    return elem


def store(dt: DType, expr: str) -> str:
    """Convert a compute-type expression to ``dt``'s storage type."""
    if dt.name == "f16":
        return f"__float2half_rn({expr})"
    if dt.name == "bf16":
        return f"__float2bfloat16_rn({expr})"
    if dt.is_bool:
        return f"(uint8_t)(({expr}) != 0)"
    return f"({C_STORAGE[dt.name]})({expr})"


def round_to(dt: DType, expr: str) -> str:
    """A compute-type value rounded as if stored as ``dt`` and loaded back."""
    if dt.name in ("f16", "bf16"):
        return load(dt, store(dt, expr))
    return expr


def acc_type(dt: DType) -> str:
    """The accumulator type of a reduction over ``dt``."""
    if dt.name == "f64":
        return "double"
    if dt.is_float:
        return "float"
    if dt.kind == "uint" or dt.is_bool:
        return "unsigned long long"
    return "long long"


def numel(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def strides(shape) -> list[int]:
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= int(d)
    return out[::-1]


def index_type(values: list[Value]) -> str:
    """``int`` when every tensor's element count fits 31 bits, else ``long long``."""
    big = any(numel(v.type.shape) > INT32_LIMIT // 16 for v in values)
    return "long long" if big else "int"


def signature(kop: Operation, entry: str) -> tuple[str, list[str], list[str]]:
    """(``extern "C"`` declaration head, input names, output names) of a kernel."""
    ins = [f"in{i}" for i in range(len(kop.operands))]
    outs = [f"out{i}" for i in range(len(kop.results))]
    block = kop.regions[0].blocks[0]
    readers = [next(iter(a.users), None) for a in block.args]
    writers = [v.owner if v not in block.args else None for v in block.ops[-1].operands]
    params = [f"const {storage(v.type.dtype, kop, r)}* __restrict__ {n}"
              for v, n, r in zip(kop.operands, ins, readers)]
    params += [f"{storage(v.type.dtype, kop, w)}* __restrict__ {n}"
               for v, n, w in zip(kop.results, outs, writers)]
    return f'extern "C" __global__ void {entry}({", ".join(params)})', ins, outs


def body_parts(kop: Operation) -> tuple[list[Operation], list[Value]]:
    """(body ops without the yield, yielded values)."""
    ops = list(kop.regions[0].blocks[0].ops)
    return [o for o in ops if o.name != "zk.yield"], list(ops[-1].operands)


def grid_1d(n: int, block: int = 256, cap: int = 8192) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Launch geometry of a grid-stride loop over ``n`` items."""
    if n < block:
        block = max(32, -(-n // 32) * 32)
    return (max(1, min(cap, -(-n // block))), 1, 1), (block, 1, 1)
