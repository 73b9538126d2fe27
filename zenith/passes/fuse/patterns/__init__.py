"""The patterns ``fuse`` applies before partitioning: decomposed subgraphs to single ops.

``fusion_patterns()`` is the table; every pattern is a ``RewritePattern`` run by
the greedy driver on function-level ops only (kernel bodies are left alone).
"""

from __future__ import annotations

from zenith.ir.core import Operation
from zenith.ir.rewrite import PatternRewriter, RewritePattern


class TopLevelOnly(RewritePattern):
    """Applies ``inner`` only to ops directly in a function body (never inside kernels)."""

    def __init__(self, inner: RewritePattern) -> None:
        self.inner = inner
        self.root = inner.root
        self.benefit = inner.benefit

    @property
    def name(self) -> str:
        return self.inner.name

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> bool:
        parent = op.parent_op
        if parent is None or parent.name != "func.func":
            return False
        return self.inner.match_and_rewrite(op, rewriter)


def fusion_patterns() -> list[RewritePattern]:
    """Every recognition pattern, fresh (some keep per-run caches)."""
    return [TopLevelOnly(p) for p in _all()]


def _all() -> list[RewritePattern]:
    return []
