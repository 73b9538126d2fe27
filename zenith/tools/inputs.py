"""Input formats of ``zenith-opt``, keyed by file suffix.

A format is a loader ``load(data: bytes, filename: str) -> Module`` (a format
that can keep unregistered ops, as ``.zir`` can, also takes the keyword
``allow_unregistered`` and says so with ``unregistered=True``). Register one
with :func:`register_input_format`, or, to avoid importing a heavy frontend
until a file of that kind is read, add a ``"module:function"`` string to
``LAZY_FORMATS`` (the ONNX frontend plugs in ``.onnx`` this way). Only text
formats can be split with ``--split-input-file``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module
from zenith.ir.parser import parse_module

Loader = Callable[[bytes, str], Module]


@dataclass(frozen=True)
class InputFormat:
    suffix: str
    load: Loader
    description: str
    text: bool = True  # text formats can be split and carry expected-diagnostic comments
    unregistered: bool = False  # load() accepts allow_unregistered=

    def read(self, data: bytes, filename: str, allow_unregistered: bool = False) -> Module:
        if not allow_unregistered:
            return self.load(data, filename)
        if not self.unregistered:
            raise ZenithError(f"input format '{self.suffix}' cannot keep unregistered ops")
        return self.load(data, filename, allow_unregistered=True)  # type: ignore[call-arg]


INPUT_FORMATS: dict[str, InputFormat] = {}
# suffix -> ("module:function", description, text); imported on first use.
LAZY_FORMATS: dict[str, tuple[str, str, bool]] = {
    ".onnx": ("zenith.frontend.onnx.cli:load_for_opt", "ONNX model", False),
}
# Output suffix -> "module:function(module, path)"; any other suffix gets IR text.
OUTPUT_WRITERS: dict[str, str] = {".onnx": "zenith.frontend.onnx.cli:write_onnx"}


def output_writer(path: str):
    """The writer for a binary output format chosen by ``path``'s suffix, or None for IR text."""
    target = OUTPUT_WRITERS.get(Path(path).suffix) if path != "-" else None
    if target is None:
        return None
    mod, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as e:
        raise ZenithError(f"output format '{Path(path).suffix}' is unavailable: {e}") from None


def register_input_format(suffix: str, load: Loader, description: str, text: bool = True,
                          unregistered: bool = False) -> None:
    """Make ``zenith-opt`` read files ending in ``suffix`` (e.g. ``".onnx"``) with ``load``."""
    if not suffix.startswith("."):
        raise ValueError(f"suffix '{suffix}' must start with '.'")
    INPUT_FORMATS[suffix] = InputFormat(suffix, load, description, text, unregistered)


def _load_zir(data: bytes, filename: str, allow_unregistered: bool = False) -> Module:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ZenithError(f"{filename}: input is not UTF-8 text ({e.reason} at byte {e.start})") from None
    return parse_module(text, filename, allow_unregistered)


register_input_format(".zir", _load_zir, "Zenith IR text", unregistered=True)


def input_format(suffix: str) -> InputFormat:
    """The format for ``suffix``; ZenithError listing the known ones if there is none."""
    fmt = INPUT_FORMATS.get(suffix)
    if fmt is not None:
        return fmt
    lazy = LAZY_FORMATS.get(suffix)
    if lazy is not None:
        target, description, text = lazy
        mod, _, attr = target.partition(":")
        try:
            load = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ZenithError(f"input format '{suffix}' is unavailable: {e}") from None
        register_input_format(suffix, load, description, text)
        return INPUT_FORMATS[suffix]
    known = ", ".join(sorted(set(INPUT_FORMATS) | set(LAZY_FORMATS)))
    raise ZenithError(f"unknown input format '{suffix or '(no suffix)'}'; known formats: {known}")
