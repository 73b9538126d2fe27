"""``fuse``: recognise decomposed patterns, then partition every compute op into kernels.

0. Kernels of an earlier run are inlined first (``inline.py``): ``fuse`` always
   partitions the whole function afresh.
1. Patterns (``patterns/``) turn decomposed subgraphs into single ops: GELU, SiLU,
   layer and RMS norm, softmax, attention, conv + batch-norm folding, matmul + add
   to linear or gemm.
2. The partition (``partition.py``) groups ops around anchors and into
   elementwise chains, by bytes of memory traffic saved.
3. Outlining (``outline.py``) makes each group a ``zk.fused`` op.
4. The sanity check (``check.py``) fails loudly if an invariant is broken.

``report=true`` prints the fusion report (``report.py``) to stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from zenith.ir.module import Function, Module
from zenith.passes.base import Pass, PassContext, option
from zenith.passes.dce import dce_block
from zenith.passes.driver import PatternSet, apply_patterns_greedily
from zenith.passes.fuse.check import PartitionError, check_partition, partition_errors
from zenith.passes.fuse.inline import inline_kernels
from zenith.passes.fuse.outline import outline
from zenith.passes.fuse.partition import Partition, PartitionOptions, partition
from zenith.passes.fuse.patterns import fusion_patterns
from zenith.passes.fuse.report import format_report, kernel_info
from zenith.passes.registry import register_pass


@register_pass
@dataclass(frozen=True)
class Fuse(Pass):
    name = "fuse"
    description = "Recognise decomposed ops, then partition compute ops into zk.fused kernels"
    statistics = {
        "kernels": "zk.fused kernels formed",
        "ops-fused": "ops placed in kernels of two or more ops",
        "merges": "group merges made by the partition",
        "bytes-saved": "bytes of memory traffic saved by fusion (estimate for dynamic shapes)",
        "patterns-applied": "recognition patterns applied (per pattern below)",
    }

    max_group_size: int = option(64, "most ops in one kernel")
    no_patterns: bool = option(False, "skip pattern recognition; only partition")
    max_iterations: int = option(10, "cap on the pattern driver's sweeps")
    report: bool = option(False, "print the fusion report to stderr")

    def __post_init__(self) -> None:
        if self.max_group_size < 1:
            raise ValueError("max-group-size must be at least 1")
        if self.max_iterations < 1:
            raise ValueError("max-iterations must be at least 1")

    def run(self, module: Module, ctx: PassContext) -> None:
        for fn in module.functions:
            self.run_function(fn, ctx)

    def run_function(self, fn: Function, ctx: PassContext) -> None:
        inline_kernels(fn)
        if not self.no_patterns:
            result = apply_patterns_greedily(fn, PatternSet(fusion_patterns()), fold=False,
                                             max_iterations=self.max_iterations)
            ctx.add("patterns-applied", result.patterns_applied)
            for name, n in sorted(result.applied_by_pattern.items()):
                ctx.add(f"pattern-{name}", n)
        dce_block(fn.body)
        part = partition(fn, PartitionOptions(max_ops=self.max_group_size))
        kernels = outline(part)
        check_partition(fn)
        ctx.add("kernels", len(kernels))
        ctx.add("merges", part.merges)
        for k in kernels:
            info = kernel_info(k)
            if len(info.ops) > 1:
                ctx.add("ops-fused", len(info.ops))
            ctx.add("bytes-saved", info.saved)
        if self.report:
            sys.stderr.write(format_report(fn))
            sys.stderr.flush()


__all__ = ["Fuse", "Partition", "PartitionError", "PartitionOptions", "check_partition", "format_report",
           "outline", "partition", "partition_errors"]
