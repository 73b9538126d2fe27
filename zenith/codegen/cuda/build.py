"""From a lowered, planned function to a CUDA :class:`~zenith.codegen.program.Program`.

:func:`build_program` generates one kernel per ``zk.fused`` op (the generator of
its kind, kernel.py), folds kernels whose source differs only by the entry name
into one (BERT's twelve layers share their kernels: a duplicate keeps its own
``name`` and takes the first one's ``entry`` and ``source``), sets every
launch's ``config`` (grid, block, dynamic shared bytes) and, with
``compile=True``, compiles the distinct kernels to cubins for ``options.arch``
(bundles of up to ``bundle_size`` kernels a unit, units in parallel, cached on
disk; see nvcc.py). ``program.kernels[name]`` is then a
:class:`CompiledCudaKernel` (kernels of one bundle share one image), else the
:class:`CudaKernel` (source only).
"""

from __future__ import annotations

from dataclasses import replace

import zenith.codegen.cuda.elementwise
import zenith.codegen.cuda.pool
import zenith.codegen.cuda.reduction  # noqa: F401
from zenith.codegen.cuda.kernel import CompiledCudaKernel, CudaKernel, CudaOptions, generate_kernel
from zenith.codegen.cuda.nvcc import bundle, compile_many, rename_entry
from zenith.codegen.lower import Lowered
from zenith.codegen.program import Program
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Function, Module

_PLACEHOLDER = "__zenith_entry__"


def generate_sources(module_or_fn: Module | Function, options: CudaOptions | None = None) -> list[CudaKernel]:
    """The CUDA kernel of every ``zk.fused`` op of a fused function (module: its main)."""
    fn = module_or_fn.main if isinstance(module_or_fn, Module) else module_or_fn
    ops = [op for op in fn.body if op.name == "zk.fused"]
    if not ops and any(op.name.startswith("zt.") and op.name not in ("zt.constant",) for op in fn.body):
        raise ZenithError(f"function @{fn.sym_name} has no zk.fused kernels; run 'fuse' first")
    return [generate_kernel(op, options) for op in ops]


def dedupe(kernels: list[CudaKernel]) -> tuple[list[CudaKernel], dict[str, CudaKernel]]:
    """(distinct kernels, every kernel by name with duplicates pointing at the first's entry)."""
    first: dict[str, CudaKernel] = {}
    by_name: dict[str, CudaKernel] = {}
    for k in kernels:
        key = rename_entry(k.source, k.entry, _PLACEHOLDER)
        canon = first.setdefault(key, k)
        by_name[k.name] = k if canon is k else replace(k, entry=canon.entry, source=canon.source)
    return list(first.values()), by_name


def build_program(lowered: Lowered, options: CudaOptions | None = None, compile: bool = True,
                  bundle_size: int = 16, jobs: int | None = None) -> Program:
    """The CUDA Program of ``lowered`` (see the module doc)."""
    options = options or CudaOptions()
    program = lowered.program
    program.target = "cuda"
    kernels = [generate_kernel(lowered.kernel_ops[launch.kernel], options) for launch in program.launches]
    unique, by_name = dedupe(kernels)
    for launch in program.launches:
        k = by_name[launch.kernel]
        launch.config = {"grid": k.grid, "block": k.block, "shared_bytes": k.shared_bytes}
    program.info["cuda"] = {"arch": options.arch, "kernels": len(kernels), "distinct": len(unique),
                            "templates": {k.name: k.notes.get("template", "") for k in kernels}}
    if not compile:
        program.kernels = dict(by_name)
        return program
    groups = [unique[i:i + bundle_size] for i in range(0, len(unique), bundle_size)]
    images = compile_many([bundle([k.source for k in g]) for g in groups], options.arch, "cubin",
                          names=[f"{g[0].name}_bundle" for g in groups], jobs=jobs)
    image_of = {k.entry: img for g, img in zip(groups, images) for k in g}
    program.kernels = {name: CompiledCudaKernel(k, image_of[k.entry], options.arch)
                       for name, k in by_name.items()}
    return program
