"""The patterns ``fuse`` applies before partitioning: decomposed subgraphs to single ops.

``fusion_patterns()`` is the table; every pattern is a ``RewritePattern`` run by
the greedy driver on function-level ops only (kernel bodies are left alone).

| pattern | module | rewrites |
|---|---|---|
| gelu-erf, gelu-tanh, silu | activations | ``x * 0.5 * (1 + erf(x / sqrt 2))`` ... |
| layer-norm, rms-norm, layer-norm-scale/-bias, rms-norm-scale | norms | mean / variance chains |
| softmax, log-softmax | softmax | ``exp(x - max) / sum`` |
| attention | attention | ``softmax(q k^T * s + mask) v`` |
| linear-transposed-weight, linear-bias, matmul-bias | linear | matmul + add |
| conv-batch-norm, batch-norm-affine | batchnorm | inference batch norm |
"""

from __future__ import annotations

from zenith.ir.core import Operation
from zenith.ir.rewrite import PatternRewriter, RewritePattern
from zenith.passes.fuse.patterns import activations, attention, batchnorm, linear, norms, softmax


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
    table = [*activations.PATTERNS, *norms.PATTERNS, *softmax.PATTERNS, *attention.PATTERNS,
             *linear.patterns(), *batchnorm.PATTERNS]
    return [TopLevelOnly(p) for p in table]


def pattern_names() -> list[str]:
    """Names of the patterns (as counted in the ``pattern-<name>`` statistics)."""
    return sorted({p.name for p in fusion_patterns()})
