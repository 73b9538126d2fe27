"""Text form of ``CompiledModel.report_dict()``."""

from __future__ import annotations

from typing import Any


def _mib(n: float) -> str:
    return f"{n / 2**20:.2f} MiB"


def format_report(d: dict[str, Any]) -> str:
    """A readable report: executor, kernels, arena and memory-pool statistics."""
    lines = [f"target: {d.get('target')}    executor: {d.get('executor')}"]
    if "fallback_reason" in d:
        lines.append(f"  fallback reason: {d['fallback_reason']}")
    if "signatures" in d and d["signatures"] > 1:
        lines.append(f"  compiled input-shape signatures: {d['signatures']}")
    if "kernels" in d:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(d["kernels_by_kind"].items()))
        impls = ", ".join(f"{n} {k}" for k, n in sorted(d["kernels_by_impl"].items()))
        lines.append(f"kernels: {d['kernels']} ({kinds})")
        lines.append(f"  implementations: {impls}")
        lines.append(f"  ops fused into multi-op kernels: {d['fused_ops']}")
        a, lb, nv = d["arena_bytes"], d["arena_lower_bound"], d["arena_naive"]
        ratio = f"{a / lb:.3f}x the bound" if lb else "no bound"
        lines.append(f"arena: {a} B ({_mib(a)}); lower bound {lb} B ({ratio}); naive {nv} B "
                     f"({_mib(nv)})")
        lines.append(f"calls: {d.get('calls', 0)}    threads: {d.get('threads')}")
    p = d.get("pool")
    if p:
        lines.append(f"memory pool: {p['allocations']} allocations, {p['cache_hits']} cache hits "
                     f"(hit rate {100 * p['hit_rate']:.1f}%), {p['backend_allocations']} backend "
                     f"allocations; in use {p['bytes_in_use']} B, peak {p['peak_bytes_in_use']} B, "
                     f"reserved {p['bytes_reserved']} B")
    for name, kind, impl, ops in d.get("kernel_list", ()):
        lines.append(f"  {name:40s} {kind:11s} {impl:18s} {', '.join(ops)}")
    return "\n".join(lines)
