"""Kind ``elementwise``: a DAG of elementwise and injective ops over its outputs' index space.

One grid-stride loop per output shape (one loop in the usual case: every output
of a multi-op elementwise kernel shares one shape; a lone ``split`` may yield
several). Each thread computes the multi-index of its flat output position and
evaluates every yielded value there through :class:`~zenith.codegen.cuda.emit.Emitter`.

Vectorized path: with one output shape whose element count is a multiple of the
vector width ``V`` (16 bytes of the widest output type, at most 8 elements), a
thread handles ``V`` consecutive elements; every input read at exactly the output
index (same shape, no broadcast or permutation on the way) is loaded as one
``zk_vec`` and every output stored as one. When ``V`` also divides the last dim,
the ``V`` elements differ only in the last index; an input read with the output's
last index as its own last index and the other indices free of it (a broadcast
row vector, a transpose that keeps the last axis, an embedding gather, or the
same at a shift that is a multiple of ``V``: split, slice, concat, pad) is read
as one ``zk_vec`` too (nvcc merges the identical per-lane vector loads of the
unrolled lane loop into one). The vector loop runs when every pointer is 16-byte
aligned (the arena is 64-byte aligned, device allocations 256); otherwise (a
caller's view at an odd offset) the kernel takes its scalar loop.
Indices are ``int`` unless some tensor has more than 2^27 elements.
"""

from __future__ import annotations

import re

from zenith.codegen.cuda.common import PRELUDE, grid_1d, index_type, numel, signature, storage, store
from zenith.codegen.cuda.emit import Emitter, shape_of
from zenith.codegen.cuda.kernel import CudaKernel, CudaOptions, register
from zenith.ir.core import Operation

BLOCK = 256


def _vector_width(kop: Operation, groups: dict) -> int:
    if len(groups) != 1:
        return 1
    shape = next(iter(groups))
    widest = max(v.type.dtype.itemsize for v in kop.results)
    width = min(8, 16 // widest) if widest <= 16 else 1
    return width if width > 1 and numel(shape) % width == 0 and numel(shape) >= width else 1


@register("elementwise")
def generate_elementwise(kop: Operation, options: CudaOptions) -> CudaKernel:
    name = kop.attr("name")
    block = kop.regions[0].blocks[0]
    yields = list(block.ops[-1].operands)
    head, ins, outs = signature(kop, name)
    groups: dict[tuple[int, ...], list[int]] = {}
    for k, v in enumerate(yields):
        groups.setdefault(shape_of(v), []).append(k)
    idx_t = index_type(list(kop.operands) + list(kop.results))
    width = _vector_width(kop, groups)
    lines = [PRELUDE, f"{head} {{", f"  typedef {idx_t} idx_t;",
             "  const idx_t stride = (idx_t)blockDim.x * gridDim.x;"]
    most = max(numel(shape) // width for shape in groups) if groups else 1
    loops = {w: [ln for shape, ks in groups.items()
                 for ln in _loop(kop, block, ins, outs, yields, shape, ks, w)] for w in {1, width}}
    body = loops[width]
    if width > 1:  # a misaligned pointer (a view passed by the caller) takes the scalar loop
        ptrs = " | ".join(f"(unsigned long long){p}" for p in ins + outs)
        scalar = loops[1]
        body = [f"  if ((({ptrs}) & 15) == 0) {{", *body, "  } else {", *scalar, "  }"]
    lines += body + ["}"]
    grid, blk = grid_1d(most, BLOCK)
    return CudaKernel(name=name, entry=name, source="\n".join(lines) + "\n", grid=grid, block=blk,
                      n_inputs=len(kop.operands), n_outputs=len(kop.results),
                      notes={"template": "elementwise", "vector": str(width), "index": idx_t})


def _loop(kop: Operation, block, ins: list[str], outs: list[str], yields: list, shape: tuple[int, ...],
          ks: list[int], width: int) -> list[str]:
    """One grid-stride loop computing the yields ``ks`` (all of ``shape``)."""
    n = numel(shape) // width
    em = Emitter(kop, ins, "idx_t", indent=4 if width > 1 else 3)
    pre: list[str] = []
    if width > 1:
        vec_of = {a: f"vin{i}.v[j]" for i, a in enumerate(block.args)
                  if shape_of(a) == shape and a.type.dtype.itemsize * width <= 32}
        em.vector_name = vec_of.get
        if shape[-1] % width == 0:
            # The V elements of a thread share every index but the last: unravel once, outside j.
            em.indent = 3
            base = em.unravel(f"i * {width}", shape)
            pre, em.lines, em.indent = em.lines, [], 4
            em.emit(f"const idx_t dl = {base[-1]} + j;")
            idx = (*base[:-1], "dl")
            em.contiguous = (base[-1], width)
            em.tainted = {"j", "dl"}
        else:
            em.emit(f"const idx_t e = i * {width} + j;")
            idx = em.unravel("e", shape)
    else:
        idx = em.unravel("i", shape)
    em.vector_index = idx if width > 1 else None
    for k in ks:
        v = em.value(yields[k], idx)
        dt = kop.results[k].type.dtype
        target = f"vout{k}.v[j]" if width > 1 else f"{outs[k]}[i]"
        em.emit(f"{target} = {store(dt, v)};")
    if em.contiguous is not None and not any(re.search(r"\bdl\b", line) for line in em.lines[1:]):
        em.lines = em.lines[1:]  # no lane-dependent index: drop "dl"
    loop = f"for (idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; i < {n}; i += stride)"
    out = ["  {", f"    {loop} {{"]
    if width == 1:
        return out + em.lines + ["    }", "  }"]
    for a in em.vector_loads:
        i = block.args.index(a)
        t = storage(a.type.dtype, kop)
        out.append(f"      const zk_vec<{t}, {width}> vin{i} = "
                   f"reinterpret_cast<const zk_vec<{t}, {width}>*>({ins[i]})[i];")
    out += pre
    for k in ks:
        out.append(f"      zk_vec<{storage(kop.results[k].type.dtype, kop)}, {width}> vout{k};")
    out += ["#pragma unroll", f"      for (int j = 0; j < {width}; ++j) {{"] + em.lines + ["      }"]
    for k in ks:
        t = storage(kop.results[k].type.dtype, kop)
        out.append(f"      reinterpret_cast<zk_vec<{t}, {width}>*>({outs[k]})[i] = vout{k};")
    return out + ["    }", "  }"]


