"""Helpers for the GEMM / conv / attention kernel tests: small zt modules, nvcc -ptx of many
kernels in one translation unit, and a host shim that runs a generated SIMT kernel on the CPU.

The host shim compiles the CUDA source with g++ (C++20) against the CUDA headers
(``cuda_fp16.h``/``cuda_bf16.h`` work on the host): ``__global__``/``__shared__``
become plain C++ (shared arrays are ``static``: blocks run one after another), every
thread of a block is a ``std::thread`` (the same threads walk every block),
``__syncthreads``/``__syncwarp`` are a block-wide ``std::barrier`` and
``__shfl_xor_sync`` an exchange through a slot array between two barriers (valid
because the kernels call them convergently). ``nvcuda::wmma`` is emulated with each
lane holding the whole 16x16 fragment, and cp.async copies land only when waited for.
It checks index math, bounds, layouts, staging, epilogues and the online softmax; it
cannot see the real fragment-to-lane mapping, races between warps or performance.
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from zenith.codegen.cuda import CudaKernel, CudaOptions, generate_kernel
from zenith.ir import Builder, Function, Module, TensorType, dtype
from zenith.ir.core import Operation, Value
from zenith.passes import run_pipeline

NVCC = shutil.which("nvcc")
GXX = shutil.which("g++")
ANCHOR_KINDS = ("matmul", "conv", "attention")


def build(args: list[tuple[tuple[int, ...], str]], body: Callable[..., list[Value] | Value]) -> Module:
    """A module @main(args) returning ``body(builder, *arg_values)``."""
    m = Module()
    fn = m.add_function(Function("main", [TensorType(dtype(dt), shape) for shape, dt in args], []))
    b = Builder.at_end(fn.body)
    out = body(b, *fn.args)
    b.create("func.return", list(out) if isinstance(out, (list, tuple)) else [out])
    fn.sync_signature()
    return m


def fused(m: Module, kinds: tuple[str, ...] = ANCHOR_KINDS) -> list[Operation]:
    """``fuse,plan-memory`` on ``m``; the zk.fused ops of the given kinds."""
    run_pipeline(m, "fuse,plan-memory")
    return [op for op in m.main.body if op.name == "zk.fused" and op.attr("kind") in kinds]


def _renamed(k: CudaKernel, new: str) -> str:
    return re.sub(rf"\b{re.escape(k.entry)}\b", new, k.source)


def bundle(kernels: list[CudaKernel]) -> tuple[str, dict[str, str]]:
    """One translation unit of every distinct kernel (entries renamed ``z<hash>``); entry map."""
    seen: dict[str, str] = {}
    names: dict[str, str] = {}
    for k in kernels:
        body = _renamed(k, "ZENTRY")
        h = "z" + hashlib.sha1(body.encode()).hexdigest()[:12]
        seen.setdefault(h, body.replace("ZENTRY", h))
        names[k.name + "@" + h] = h
    return "\n".join(seen.values()), names


def nvcc_ptx(kernels: list[CudaKernel], archs: tuple[str, ...] = ("sm_80", "sm_90"),
             chunks: int = 2) -> None:
    """Compile ``kernels`` to PTX for every arch through zenith/codegen/cuda/nvcc.py (a few
    TUs, in parallel, no cache); its ZenithError shows nvcc's message and the source lines."""
    from zenith.codegen.cuda.nvcc import compile_source

    src, _ = bundle(kernels)
    jobs = [(part, a) for part in _split(src, chunks) for a in archs]

    def run(job: tuple[str, str]) -> tuple[str, str, str]:
        part, arch = job
        return part, arch, compile_source(part, arch, "ptx", name="gemm-tests", use_cache=False).decode()

    with ThreadPoolExecutor(2) as ex:
        for part, arch, ptx in ex.map(run, jobs):
            for entry in re.findall(r'extern "C" __global__ void (\w+)\(', part):
                assert f".entry {entry}(" in ptx, f"{entry} missing from the {arch} PTX"


def _split(src: str, n: int) -> list[str]:
    """Split a bundle into ``n`` TUs at kernel boundaries (each part keeps the includes)."""
    pieces = re.split(r"(?=#include <cuda_fp16.h>\n)", src)
    pieces = [p for p in pieces if p.strip()]
    n = max(1, min(n, len(pieces)))
    return ["\n".join(pieces[i::n]) for i in range(n)]


SHIM = r"""
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>
#include <algorithm>
#include <type_traits>
using std::min; using std::max;
struct zdim3 { unsigned x, y, z; };
static thread_local zdim3 threadIdx, blockIdx;
static std::barrier<>* g_bar;
static double g_slot[1024];
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __syncthreads() g_bar->arrive_and_wait()
#define __syncwarp() g_bar->arrive_and_wait()
template <class T> static inline T __shfl_xor_sync(unsigned, T v, int x) {
  g_slot[threadIdx.x] = (double)v; g_bar->arrive_and_wait();
  T r = (T)g_slot[threadIdx.x ^ (unsigned)x]; g_bar->arrive_and_wait(); return r;
}
// cp.async: copies queue per thread in commit groups and land only when waited for, so a
// missing or early wait reads stale shared memory, as it may on a GPU.
struct zcopy { void* d; const void* s; size_t n, zfill; };
static thread_local std::vector<std::vector<zcopy>> g_groups(1);
static int g_fault;  // a misaligned cp.async: a fault on a GPU
static inline void __pipeline_memcpy_async(void* d, const void* s, size_t n, size_t zfill = 0) {
  if (((uintptr_t)d | (uintptr_t)s) % n) { g_fault = 1; return; }
  g_groups.back().push_back({d, s, n, zfill});
}
static inline void __pipeline_commit() { g_groups.emplace_back(); }
static inline void __pipeline_wait_prior(size_t keep) {
  while (g_groups.size() > keep + 1) {
    for (auto& c : g_groups.front()) {
      std::memcpy(c.d, c.s, c.n - c.zfill); std::memset((char*)c.d + c.n - c.zfill, 0, c.zfill);
    }
    g_groups.erase(g_groups.begin());
  }
}
static inline float zf(float x) { return x; }
static inline float zf(__half x) { return __half2float(x); }
static inline float zf(__nv_bfloat16 x) { return __bfloat162float(x); }
// nvcuda::wmma, warp-collective: every lane holds and computes the whole 16x16 tile
// (the kernels call it uniformly); lane 0 stores.
namespace nvcuda { namespace wmma {
struct row_major {}; struct col_major {}; struct matrix_a {}; struct matrix_b {}; struct accumulator {};
enum layout_t { mem_row_major, mem_col_major };
template <class Use, int M, int N, int K, class T, class L = void> struct fragment { float x[256]; };
template <class Use, class T, class L>
void load_matrix_sync(fragment<Use, 16, 16, 16, T, L>& f, const T* p, unsigned ldm) {
  for (int r = 0; r < 16; ++r) for (int c = 0; c < 16; ++c)
    f.x[r * 16 + c] = zf(std::is_same<L, row_major>::value ? p[r * ldm + c] : p[c * ldm + r]);
}
template <class F> void fill_fragment(F& f, float v) { for (float& x : f.x) x = v; }
template <class A, class B, class C> void mma_sync(C& d, const A& a, const B& b, const C& c) {
  float t[256];
  for (int r = 0; r < 16; ++r) for (int n = 0; n < 16; ++n) {
    float s = c.x[r * 16 + n];
    for (int k = 0; k < 16; ++k) s += a.x[r * 16 + k] * b.x[k * 16 + n];
    t[r * 16 + n] = s;
  }
  std::memcpy(d.x, t, sizeof t);
}
template <class C> void store_matrix_sync(float* p, const C& f, unsigned ldm, layout_t l) {
  if (threadIdx.x % 32) return;
  for (int r = 0; r < 16; ++r) for (int c = 0; c < 16; ++c)
    p[l == mem_row_major ? r * ldm + c : c * ldm + r] = f.x[r * 16 + c];
}
} }
"""
CUDA_INCLUDE = next((str(p) for p in (Path(NVCC).resolve().parent.parent / "include",
                                      Path("/usr/local/cuda/include"), *sorted(Path("/usr/local").glob(
                                          "cuda-*/include")))
                     if (p / "cuda_fp16.h").exists()), None) if NVCC else None


def host_source(kernels: list[CudaKernel], params: list[list[str]], which: range) -> str:
    """C++ of ``kernels[i]`` for ``i`` in ``which``, each with ``launch_<i>(void**)``."""
    out = [SHIM]
    for i in which:
        k, ps = kernels[i], params[i]
        src = re.sub(r"#include <(cuda_fp16|cuda_bf16|stdint|math|mma|cuda_pipeline)\.h>\n", "",
                     _renamed(k, f"kern{i}"))
        out.append(src)
        nt = k.block[0] * k.block[1] * k.block[2]
        call = ", ".join(f"({t})args[{j}]" for j, t in enumerate(ps))
        out.append(f"""
extern "C" int launch_{i}(void** args) {{
  std::barrier<> bar({nt}); g_bar = &bar; g_fault = 0;
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < {nt}; ++t) ts.emplace_back([=] {{
    threadIdx = zdim3{{t % {k.block[0]}, (t / {k.block[0]}) % {k.block[1]}, t / {k.block[0] * k.block[1]}}};
    for (unsigned z = 0; z < {k.grid[2]}; ++z) for (unsigned y = 0; y < {k.grid[1]}; ++y)
      for (unsigned x = 0; x < {k.grid[0]}; ++x) {{
        blockIdx = zdim3{{x, y, z}};
        kern{i}({call});
        g_bar->arrive_and_wait();
      }}
  }});
  for (auto& th : ts) th.join();
  return g_fault;
}}
""")
    return "\n".join(out)


_HOST_T = {"f32": "float", "f64": "double", "f16": "__half", "bf16": "__nv_bfloat16",
           "bool": "unsigned char", "i64": "long long", "i32": "int"}


def param_types(op: Operation) -> list[str]:
    block = op.regions[0].blocks[0]
    return ([f"const {_HOST_T[a.type.dtype.name]}*" for a in block.args]
            + [f"{_HOST_T[r.type.dtype.name]}*" for r in op.results])


def host_run(ops: list[Operation], inputs: list[list[np.ndarray]], tmp: Path,
             kernels: list[CudaKernel] | None = None) -> list[list[np.ndarray]]:
    """Run each kernel op (or its given kernel) on the CPU through the shim (one g++ build
    for all); their outputs."""
    kernels = kernels or [generate_kernel(op, CudaOptions()) for op in ops]
    params = [param_types(op) for op in ops]
    parts = [range(j, len(ops), 2) for j in range(min(2, len(ops)))]

    def build_part(j: int) -> ctypes.CDLL:
        cpp, so = tmp / f"host{j}.cpp", tmp / f"host{j}.so"
        cpp.write_text(host_source(kernels, params, parts[j]))
        r = subprocess.run([GXX, "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-w",
                            f"-I{CUDA_INCLUDE}", "-o", str(so), str(cpp)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-4000:]
        return ctypes.CDLL(str(so))

    with ThreadPoolExecutor(2) as ex:
        libs = list(ex.map(build_part, range(len(parts))))
    results = []
    for i, (op, ins) in enumerate(zip(ops, inputs)):
        outs = [np.zeros(tuple(res.type.shape), res.type.dtype.np_dtype) for res in op.results]
        arrays = [np.ascontiguousarray(x) for x in ins] + outs
        ptrs = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        fault = getattr(libs[i % len(libs)], f"launch_{i}")(ptrs)
        assert fault == 0, f"{kernels[i].name}: misaligned cp.async (a fault on a GPU)"
        results.append(outs)
    return results
