"""ONNX files for command-line tools.

``load_for_opt`` is the ``.onnx`` input format of ``zenith-opt`` (register it with
``LAZY_FORMATS[".onnx"] = ("zenith.frontend.onnx.cli:load_for_opt", "ONNX model",
False)``) and ``write_onnx`` writes a module back as ONNX (for ``-o out.onnx``).
``main`` is a small ONNX-to-ONNX optimizer on top of them:

    python -m zenith.frontend.onnx.cli model.onnx --passes canonicalize,cse,dce -o out.onnx
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import onnx

from zenith.frontend.onnx.exporter import export_onnx
from zenith.frontend.onnx.importer import import_model
from zenith.frontend.onnx.loader import read_model
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module
from zenith.ir.printer import print_module
from zenith.ir.verifier import verify


def load_for_opt(data: bytes, filename: str) -> Module:
    """An input-format loader: ONNX model bytes to a verified module."""
    module = import_model(read_model(data, base_dir=Path(filename).parent if filename else None))
    verify(module)
    return module


def write_onnx(module: Module, path: str) -> None:
    """Write ``module``'s main function as an ONNX model file."""
    try:
        onnx.save(export_onnx(module), path)
    except OSError as e:
        raise ZenithError(f"cannot write '{path}': {e.strerror}") from None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m zenith.frontend.onnx.cli",
                                description="Optimize an ONNX model with a Zenith pass pipeline.")
    p.add_argument("input", help="an .onnx file")
    p.add_argument("--passes", default="", help="pass pipeline, e.g. canonicalize,cse,dce")
    p.add_argument("-o", dest="output", default="-",
                   help="output: an .onnx file, or IR text for any other name ('-': stdout)")
    args = p.parse_args(argv)
    try:
        from zenith.api import run_pipeline

        path = Path(args.input)
        if not path.is_file():
            raise ZenithError(f"no such file '{path}'")
        module = load_for_opt(path.read_bytes(), str(path))
        run_pipeline(module, args.passes)
        if args.output.endswith(".onnx"):
            write_onnx(module, args.output)
        elif args.output == "-":
            sys.stdout.write(print_module(module))
        else:
            Path(args.output).write_text(print_module(module))
    except ZenithError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
