"""The pass manager: runs a pipeline, verifies after each pass, calls instrumentations.

    pm = PassManager.parse("canonicalize,cse,dce", instrumentations=[TimingReport()])
    report = pm.run(module)

A pass that raises, or leaves IR that does not verify (``verify_each``, on by
default), stops the pipeline with a :class:`PassFailure` naming the pass; the
instrumentations hear about it first (``--print-ir-after-failure`` hooks there).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from zenith.ir.diagnostics import ZenithError
from zenith.ir.gcutil import paused_gc
from zenith.ir.module import Module
from zenith.ir.verifier import collect_errors
from zenith.passes.base import Pass, PassContext, PassFailure
from zenith.passes.pipeline import Pipeline, PipelineEntry, parse_pipeline
from zenith.passes.registry import PassRegistry


@dataclass
class PassRecord:
    """One pass run: its entry, wall time, verification time and statistics."""

    entry: PipelineEntry
    seconds: float = 0.0
    verify_seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def pass_(self) -> Pass:
        return self.entry.pass_


@dataclass
class RunReport:
    records: list[PassRecord] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(r.seconds + r.verify_seconds for r in self.records)


class Instrumentation:
    """Hooks around the pipeline and each pass; override what you need."""

    def before_pipeline(self, module: Module, pipeline: Pipeline) -> None:
        pass

    def before_pass(self, entry: PipelineEntry, module: Module) -> None:
        pass

    def after_pass(self, entry: PipelineEntry, module: Module, record: PassRecord) -> None:
        pass

    def after_pass_failed(self, entry: PipelineEntry, module: Module, error: PassFailure) -> None:
        pass

    def after_pipeline(self, module: Module, report: RunReport) -> None:
        pass


class PassManager:
    """Runs the passes of a pipeline on a module."""

    def __init__(self, pipeline: Pipeline | Sequence[Pass], *, verify_each: bool = True,
                 instrumentations: Sequence[Instrumentation] = (), allow_unregistered: bool = False) -> None:
        self.pipeline = pipeline if isinstance(pipeline, Pipeline) else Pipeline.of(list(pipeline))
        self.verify_each = verify_each
        self.allow_unregistered = allow_unregistered
        self.instrumentations = list(instrumentations)

    @classmethod
    def parse(cls, text: str, registry: PassRegistry | None = None, **kw) -> PassManager:
        return cls(parse_pipeline(text, registry), **kw)

    def run(self, module: Module) -> RunReport:
        """Run every pass in order (with the cyclic GC paused: IR is cyclic by
        design and collections mid-pipeline would walk the whole module for nothing)."""
        report = RunReport()
        with paused_gc():
            for inst in self.instrumentations:
                inst.before_pipeline(module, self.pipeline)
            for entry in self.pipeline.entries:
                report.records.append(self._run_one(entry, module))
            for inst in self.instrumentations:
                inst.after_pipeline(module, report)
        return report

    def _run_one(self, entry: PipelineEntry, module: Module) -> PassRecord:
        p = entry.pass_
        for inst in self.instrumentations:
            inst.before_pass(entry, module)
        ctx = PassContext()
        record = PassRecord(entry)
        start = time.perf_counter()
        try:
            p.run(module, ctx)
        except ZenithError as e:
            self._fail(entry, module, PassFailure(f"pass '{p.name}' failed: {e.message}", e.loc,
                                                  e.notes, p.name), e)
        except Exception as e:  # a bug in the pass: still a diagnostic, cause kept
            self._fail(entry, module, PassFailure(
                f"internal error in pass '{p.name}': {type(e).__name__}: {e}", pass_name=p.name), e)
        record.seconds = time.perf_counter() - start
        record.stats = ctx.stats
        if self.verify_each:
            start = time.perf_counter()
            errors = collect_errors(module, self.allow_unregistered)
            record.verify_seconds = time.perf_counter() - start
            if errors:
                first = errors[0]
                notes = list(first.notes)
                if len(errors) > 1:
                    notes.append(f"{len(errors) - 1} more error(s) after this one")
                self._fail(entry, module, PassFailure(
                    f"pass '{p.name}' produced invalid IR: {first.message}", first.loc, notes, p.name))
        try:
            for inst in self.instrumentations:
                inst.after_pass(entry, module, record)
        except PassFailure as e:  # an instrumentation found the pass at fault
            self._fail(entry, module, e)
        return record

    def _fail(self, entry: PipelineEntry, module: Module, err: PassFailure,
              cause: BaseException | None = None) -> None:
        for inst in self.instrumentations:
            inst.after_pass_failed(entry, module, err)
        raise err from cause
