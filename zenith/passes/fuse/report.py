"""The fusion report: each kernel of a function with its ops and the bytes it saves.

A kernel's *bytes saved* is the memory traffic of running each of its ops as a
kernel of its own (every op reads its operands and writes its results) minus
the traffic of the fused kernel (it reads its inputs once and writes its
outputs). Views and constants in a body cost nothing. Non-static dims count as
16 elements (the figure is then an estimate, marked ``~``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from zenith.ir.core import Operation
from zenith.ir.module import Function
from zenith.passes.fuse.classify import FUSED, YIELD, nbytes, op_class

FREE = frozenset({"constant", "view"})


@dataclass
class KernelInfo:
    name: str
    kind: str
    ops: list[str]
    inputs: int
    outputs: int
    unfused_bytes: int
    fused_bytes: int
    exact: bool

    @property
    def saved(self) -> int:
        return self.unfused_bytes - self.fused_bytes


def kernel_info(kernel: Operation) -> KernelInfo:
    """Ops and traffic of one ``zk.fused`` op."""
    body = [op for op in kernel.regions[0].blocks[0] if op.name != YIELD]
    compute = [op for op in body if op_class(op) not in FREE]
    values = [*kernel.operands, *kernel.results]
    values += [v for op in compute for v in (*op.operands, *op.results)]
    exact = all(v.type.is_static for v in values)
    unfused = sum(nbytes(v.type) for op in compute for v in (*op.operands, *op.results))
    fused = sum(nbytes(v.type) for v in (*kernel.operands, *kernel.results))
    return KernelInfo(kernel.attr("name"), kernel.attr("kind"), [op.name for op in compute],
                      len(kernel.operands), len(kernel.results), unfused, fused, exact)


def _bytes(n: int, exact: bool) -> str:
    return f"{'' if exact else '~'}{n} B"


def format_report(fn: Function) -> str:
    """The report for one function (one header line, then two lines per kernel)."""
    infos = [kernel_info(op) for op in fn.body if op.name == FUSED]
    kinds = Counter(i.kind for i in infos)
    fused = [i for i in infos if len(i.ops) > 1]
    saved = sum(i.saved for i in infos)
    exact = all(i.exact for i in infos)
    kind_text = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    lines = [f"// fusion report for @{fn.sym_name}: {len(infos)} kernels ({kind_text or 'none'}); "
             f"{sum(len(i.ops) for i in fused)} ops in {len(fused)} multi-op kernels; "
             f"{_bytes(saved, exact)} of memory traffic saved"]
    width = max((len(i.name) for i in infos), default=0)
    for i in infos:
        lines.append(f"//   {i.name:<{width}}  {i.kind:<11} {len(i.ops):>3} ops  in {i.inputs:>2}  "
                     f"out {i.outputs:>2}  saved {_bytes(i.saved, i.exact)}")
        lines.append(f"//   {'':<{width}}    {', '.join(i.ops)}")
    return "\n".join(lines) + "\n"
