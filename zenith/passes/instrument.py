"""Standard instrumentations: IR printing, a timing report, a statistics report.

Reports go to a stream (stderr in ``zenith-opt``), in the layout of MLIR's, so
``--print-ir-after-all``, ``--timing`` and ``--statistics`` look familiar.
"""

from __future__ import annotations

import hashlib
import sys
from typing import TextIO

from zenith.ir.module import Module
from zenith.ir.printer import print_module
from zenith.passes.base import PassFailure
from zenith.passes.manager import Instrumentation, PassRecord, RunReport
from zenith.passes.pipeline import PipelineEntry

RULE = "===" + "-" * 73 + "==="


def _banner(title: str) -> str:
    return f"{RULE}\n{('... ' + title + ' ...').center(len(RULE)).rstrip()}\n{RULE}\n"


class IRPrinter(Instrumentation):
    """Prints the module after passes: all, only those that changed it, and/or a failed one."""

    def __init__(self, after_all: bool = False, after_change: bool = False, after_failure: bool = False,
                 stream: TextIO | None = None, debug_info: bool = False) -> None:
        self.after_all = after_all
        self.after_change = after_change
        self.after_failure = after_failure
        self.stream = stream
        self.debug_info = debug_info
        self._before: bytes | None = None

    def _text(self, module: Module) -> str:
        return print_module(module, debug_info=self.debug_info)

    def _emit(self, title: str, text: str) -> None:
        out = self.stream or sys.stderr
        out.write(f"// -----// IR Dump After {title} //----- //\n{text}\n")
        out.flush()

    def before_pass(self, entry: PipelineEntry, module: Module) -> None:
        if self.after_change and not self.after_all:
            self._before = hashlib.blake2b(self._text(module).encode(), digest_size=16).digest()

    def after_pass(self, entry: PipelineEntry, module: Module, record: PassRecord) -> None:
        if not (self.after_all or self.after_change):
            return
        text = self._text(module)
        if not self.after_all:
            after = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if after == self._before:
                return
        self._emit(str(entry), text)

    def after_pass_failed(self, entry: PipelineEntry, module: Module, error: PassFailure) -> None:
        if self.after_failure:
            self._emit(f"{entry} Failed", self._text(module))


class TimingReport(Instrumentation):
    """Wall time per pass (verification listed on its own line)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def after_pipeline(self, module: Module, report: RunReport) -> None:
        total = report.seconds or 1e-12
        rows = []
        verify = 0.0
        for r in report.records:
            rows.append((r.seconds, str(r.entry)))
            verify += r.verify_seconds
        if verify:
            rows.append((verify, "(verifier, all passes)"))
        lines = [_banner("Execution time report"),
                 f"  Total Execution Time: {report.seconds:.4f} seconds\n\n",
                 "  ----Wall Time----  ----Name----\n"]
        for sec, name in rows:
            lines.append(f"  {sec:8.4f} ({100 * sec / total:5.1f}%)  {name}\n")
        lines.append(f"  {report.seconds:8.4f} (100.0%)  Total\n")
        out = self.stream or sys.stderr
        out.write("".join(lines))
        out.flush()


class StatisticsReport(Instrumentation):
    """Each pass's statistics, with the descriptions the pass declares."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def after_pipeline(self, module: Module, report: RunReport) -> None:
        lines = [_banner("Pass statistics report")]
        for r in report.records:
            lines.append(f"{r.entry}\n")
            docs = type(r.pass_).statistics
            names = list(docs) + [k for k in r.stats if k not in docs]
            if not names:
                continue
            width = max(len(str(r.stats.get(n, 0))) for n in names)
            for n in names:
                desc = f" - {docs[n]}" if docs.get(n) else ""
                lines.append(f"  (S) {r.stats.get(n, 0):>{width}} {n}{desc}\n")
        out = self.stream or sys.stderr
        out.write("".join(lines))
        out.flush()
