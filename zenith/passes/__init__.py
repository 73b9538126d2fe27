"""Passes: the pass manager, the pattern driver, and one pass per module.

Every module of this package is imported here, so each pass registers itself
(``@register_pass``) into ``PASSES``; the registry is the list of passes.

    from zenith.passes import run_pipeline
    run_pipeline(module, "canonicalize,cse,dce")
"""

from __future__ import annotations

import importlib
import pkgutil

from zenith import dialects  # noqa: F401  (registers ops and their canonical patterns)
from zenith.ir.module import Module
from zenith.passes.base import Pass, PassContext, PassFailure, option
from zenith.passes.manager import Instrumentation, PassManager, RunReport
from zenith.passes.pipeline import Pipeline, PipelineError, parse_pipeline
from zenith.passes.registry import PASSES, PassRegistry, register_pass

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_mod}")


def run_pipeline(module: Module, pipeline: str | Pipeline, **kw) -> RunReport:
    """Parse ``pipeline`` (if a string) and run it on ``module`` in place."""
    p = parse_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    return PassManager(p, **kw).run(module)


__all__ = ["PASSES", "Instrumentation", "Pass", "PassContext", "PassFailure", "PassManager",
           "PassRegistry", "Pipeline", "PipelineError", "RunReport", "option", "parse_pipeline",
           "register_pass", "run_pipeline"]
