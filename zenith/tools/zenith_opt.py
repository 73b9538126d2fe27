"""``zenith-opt``: read IR, run a pass pipeline, print IR (like ``mlir-opt``).

    zenith-opt model.zir --passes canonicalize,cse,dce -o out.zir
    zenith-opt --list-passes

Every error is a diagnostic on stderr (``file:line:col: error: ...``) and a
non-zero exit status; see docs/zenith-opt.md for each flag.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from zenith.ir.diagnostics import UnknownLoc, ZenithError
from zenith.ir.module import Module
from zenith.ir.printer import print_module
from zenith.ir.verifier import collect_errors
from zenith.passes import PASSES, PassManager, Pipeline, parse_pipeline
from zenith.passes.instrument import IRPrinter, StatisticsReport, TimingReport
from zenith.passes.manager import Instrumentation
from zenith.passes.semantics import SemanticsCheck
from zenith.tools.expected import Emitted, check, parse_expected
from zenith.tools.inputs import INPUT_FORMATS, LAZY_FORMATS, InputFormat, input_format, output_writer

SPLIT_MARKER = "// -----"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zenith-opt",
        description="Run a Zenith pass pipeline on IR and print the result.")
    p.add_argument("input", nargs="?", default="-", help="input file ('-' or none: stdin)")
    p.add_argument("-o", dest="output", default="-", help="output file (default: stdout)")
    p.add_argument("--passes", default="", metavar="PIPELINE",
                   help="pass pipeline, e.g. 'canonicalize,cse,dce'")
    p.add_argument("--list-passes", action="store_true", help="list passes and their options, then exit")
    p.add_argument("--load-plugin", action="append", default=[], metavar="FILE.py",
                   help="import a Python file first (it may register passes or input formats)")
    p.add_argument("--input-format", metavar="SUFFIX",
                   help="read the input as this format (e.g. .zir); default: from the file suffix")
    p.add_argument("--print-ir-after-all", action="store_true", help="print the IR after every pass")
    p.add_argument("--print-ir-after-change", action="store_true",
                   help="print the IR after each pass that changed it")
    p.add_argument("--print-ir-after-failure", action="store_true",
                   help="print the IR after a pass that failed")
    p.add_argument("--timing", action="store_true", help="report the time taken by each pass")
    p.add_argument("--statistics", action="store_true", help="report each pass's statistics")
    p.add_argument("--no-verify", action="store_true",
                   help="do not verify the input nor the IR after each pass")
    p.add_argument("--allow-unregistered-dialect", action="store_true",
                   help="accept ops that no dialect defines (kept as they are)")
    p.add_argument("--split-input-file", action="store_true",
                   help=f"process each chunk between '{SPLIT_MARKER}' lines separately")
    p.add_argument("--verify-diagnostics", action="store_true",
                   help="check emitted diagnostics against 'expected-error' comments")
    p.add_argument("--print-debuginfo", action="store_true", help="print op locations")
    p.add_argument("--check-semantics", action="store_true",
                   help="interpret before and after each pass on random inputs; name the first "
                        "pass that changes the results")
    p.add_argument("--check-semantics-seed", type=int, default=0, metavar="N",
                   help="seed of the random inputs (default 0)")
    p.add_argument("--check-semantics-trials", type=int, default=3, metavar="N",
                   help="random inputs per function and pass (default 3)")
    return p


def list_passes(out: TextIO) -> None:
    out.write("Passes:\n")
    for cls in PASSES:
        out.write(f"  {cls.name:<16} {cls.description}\n")
        for o in cls.options():
            default = str(o.default).lower() if o.type is bool else repr(o.default) \
                if o.type is str else str(o.default)
            out.write(f"      {o.name}={default} ({o.type.__name__})  {o.doc}\n")
    out.write("Input formats:\n")
    for suffix in sorted(set(INPUT_FORMATS) | set(LAZY_FORMATS)):
        desc = INPUT_FORMATS[suffix].description if suffix in INPUT_FORMATS else LAZY_FORMATS[suffix][1]
        out.write(f"  {suffix:<16} {desc}\n")


@dataclass
class Chunk:
    data: bytes
    first_line: int = 1
    text: str | None = None


@dataclass
class ChunkResult:
    output: str | None = None
    module: Module | None = None
    emitted: list[Emitted] = field(default_factory=list)


def split_chunks(text: str) -> list[Chunk]:
    """Split at lines that are exactly the marker; chunks keep their file line numbers."""
    chunks, current, start = [], [], 1
    for i, line in enumerate(text.split("\n"), start=1):
        if line.strip() == SPLIT_MARKER:
            chunks.append((start, current))
            current, start = [], i + 1
        else:
            current.append(line)
    chunks.append((start, current))
    out = []
    for first, lines in chunks:
        body = "\n".join(lines)
        padded = "\n" * (first - 1) + body  # so locations are lines of the whole file
        out.append(Chunk(padded.encode(), first, body))
    return out


class Opt:
    """One invocation: options, then chunks processed one by one."""

    def __init__(self, args: argparse.Namespace, pipeline: Pipeline) -> None:
        self.args = args
        self.pipeline = pipeline

    def instrumentations(self) -> list[Instrumentation]:
        a = self.args
        out: list[Instrumentation] = []
        if a.print_ir_after_all or a.print_ir_after_change or a.print_ir_after_failure:
            out.append(IRPrinter(a.print_ir_after_all, a.print_ir_after_change, a.print_ir_after_failure,
                                 debug_info=a.print_debuginfo))
        if a.check_semantics:
            out.append(SemanticsCheck(a.check_semantics_seed, a.check_semantics_trials))
        if a.statistics:
            out.append(StatisticsReport())
        if a.timing:
            out.append(TimingReport())
        return out

    def run_chunk(self, fmt: InputFormat, chunk: Chunk, filename: str) -> ChunkResult:
        res = ChunkResult()
        try:
            unregistered = self.args.allow_unregistered_dialect
            module = fmt.read(chunk.data, filename, unregistered)
            if not self.args.no_verify:
                errors = collect_errors(module, unregistered)
                if errors:
                    res.emitted.extend(Emitted("error", e) for e in errors)
                    return res
            pm = PassManager(self.pipeline, verify_each=not self.args.no_verify,
                             instrumentations=self.instrumentations(), allow_unregistered=unregistered)
            pm.run(module)
        except ZenithError as e:
            res.emitted.append(Emitted("error", e))
            return res
        res.module = module
        res.output = print_module(module, debug_info=self.args.print_debuginfo)
        return res


def format_error(e: ZenithError) -> str:
    """The diagnostic text; errors with no location are the tool's own."""
    if isinstance(e.loc, UnknownLoc):
        return "\n".join([f"zenith-opt: error: {e.message}"] + [f"note: {n}" for n in e.notes])
    return str(e)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ZenithError(f"cannot read '{path}': {e.strerror}") from None


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(path).write_text(text)
    except OSError as e:
        raise ZenithError(f"cannot write '{path}': {e.strerror}") from None


def load_plugin(path: str) -> None:
    """Import the Python file ``path`` (under a private module name)."""
    spec = importlib.util.spec_from_file_location(f"zenith_opt_plugin_{Path(path).stem}", path)
    if spec is None or spec.loader is None or not Path(path).is_file():
        raise ZenithError(f"cannot load plugin '{path}': not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ZenithError:
        raise
    except Exception as e:
        raise ZenithError(f"plugin '{path}' failed to load: {type(e).__name__}: {e}") from None


def run(args: argparse.Namespace) -> int:
    for plugin in args.load_plugin:
        load_plugin(plugin)
    if args.list_passes:
        list_passes(sys.stdout)
        return 0
    pipeline = parse_pipeline(args.passes)
    if args.check_semantics_trials < 1:
        raise ZenithError("--check-semantics-trials must be at least 1")
    suffix = args.input_format or (Path(args.input).suffix if args.input != "-" else ".zir")
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    fmt = input_format(suffix)
    filename = "<stdin>" if args.input == "-" else args.input
    data = _read(args.input)
    if (args.split_input_file or args.verify_diagnostics) and not fmt.text:
        raise ZenithError(f"--split-input-file and --verify-diagnostics need a text input, "
                          f"not '{fmt.suffix}'")
    if args.split_input_file:
        chunks = split_chunks(data.decode("utf-8", errors="replace"))
    else:
        chunks = [Chunk(data, 1, data.decode("utf-8", errors="replace") if fmt.text else None)]
    writer = output_writer(args.output)
    if writer is not None and (args.split_input_file or args.verify_diagnostics):
        raise ZenithError(f"-o {args.output}: a binary output holds one module; drop "
                          "--split-input-file and --verify-diagnostics")
    opt = Opt(args, pipeline)
    outputs: list[str] = []
    modules: list[Module] = []
    failed = False
    for chunk in chunks:
        res = opt.run_chunk(fmt, chunk, filename)
        if args.verify_diagnostics:
            expected = parse_expected(chunk.text or "", chunk.first_line)
            problems = check(expected, res.emitted, filename)
            for msg in problems:
                sys.stderr.write(msg + "\n")
            failed |= bool(problems)
        else:
            for e in res.emitted:
                sys.stderr.write(format_error(e.error) + "\n")
            failed |= bool(res.emitted)
        if res.output is not None:
            outputs.append(res.output)
            modules.append(res.module)
    sys.stderr.flush()
    if writer is not None:
        if modules:
            writer(modules[0], args.output)
    else:
        _write(args.output, (SPLIT_MARKER + "\n").join(outputs))
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ZenithError as e:
        sys.stderr.write(format_error(e) + "\n")
        return 1
    except Exception as e:  # a bug: still no traceback unless asked for
        if os.environ.get("ZENITH_TRACEBACK"):
            raise
        sys.stderr.write(f"zenith-opt: internal error: {type(e).__name__}: {e} "
                         f"(set ZENITH_TRACEBACK=1 for the traceback)\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
