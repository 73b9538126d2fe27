"""Pipeline strings: ``canonicalize,cse,fuse{max-group-size=64},dce``.

Grammar::

    pipeline := [entry (',' entry)*]
    entry    := pass-name ['{' [option (' ' option)*] '}']
    option   := option-name '=' value        value: up to a space or '}', or "quoted"

A parsed pipeline prints back to the string it came from (options the user
wrote are kept, in their order; spaces around commas are dropped). Errors point
at a column of the pipeline and list what would have been valid.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from zenith.ir.diagnostics import Location, ZenithError
from zenith.passes.base import OptionInfo, Pass
from zenith.passes.registry import PASSES, PassRegistry

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PLAIN_VALUE = re.compile(r"[^\s{}\"]+\Z")


class PipelineLoc(Location):
    """A column in a pipeline string."""

    def __init__(self, text: str, col: int) -> None:
        self.text = text
        self.col = col

    def prefix(self) -> str:
        return f"<pipeline>:1:{self.col + 1}"

    def snippet(self) -> str:
        return f"{self.text}\n{' ' * self.col}^"


class PipelineError(ZenithError):
    """An invalid pipeline string or option value."""


@dataclass(frozen=True)
class PipelineEntry:
    """One pass of a pipeline and the options written for it (to print them back)."""

    pass_: Pass
    explicit: tuple[tuple[str, str], ...] = ()  # (option, value as written)

    def __str__(self) -> str:
        return format_entry(self.pass_, self.explicit)


@dataclass(frozen=True)
class Pipeline:
    entries: tuple[PipelineEntry, ...]

    @property
    def passes(self) -> list[Pass]:
        return [e.pass_ for e in self.entries]

    def __str__(self) -> str:
        return ",".join(str(e) for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def of(cls, passes: list[Pass]) -> Pipeline:
        return cls(tuple(PipelineEntry(p) for p in passes))


def format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v if _PLAIN_VALUE.match(v) else json.dumps(v)
    return repr(v) if isinstance(v, float) else str(v)


def format_entry(p: Pass, explicit: tuple[tuple[str, str], ...] = ()) -> str:
    """``name{opt=value ...}``: options as written, then any other non-default ones."""
    values = p.option_values()
    written = dict(explicit)
    shown = list(explicit) + [(o.name, format_value(values[o.name])) for o in p.options()
                              if o.name not in written and values[o.name] != o.default]
    if not shown:
        return p.name
    return p.name + "{" + " ".join(f"{k}={v}" for k, v in shown) + "}"


def parse_pipeline(text: str, registry: PassRegistry | None = None) -> Pipeline:
    """Parse a pipeline string into configured passes (PipelineError if invalid)."""
    return _Parser(text, registry or PASSES).parse()


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Parser:
    def __init__(self, text: str, registry: PassRegistry) -> None:
        self.text = text
        self.registry = registry
        self.pos = 0

    def error(self, message: str, col: int | None = None) -> PipelineError:
        return PipelineError(message, PipelineLoc(self.text, self.pos if col is None else col))

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Pipeline:
        entries: list[PipelineEntry] = []
        self.skip_ws()
        if not self.peek():
            return Pipeline(())
        while True:
            self.skip_ws()
            entries.append(self.entry())
            self.skip_ws()
            c = self.peek()
            if not c:
                return Pipeline(tuple(entries))
            if c != ",":
                raise self.error(f"expected ',' between passes, found '{c}'")
            self.pos += 1

    def name(self, what: str) -> tuple[str, int]:
        m = _NAME.match(self.text, self.pos)
        if m is None:
            found = f"'{self.peek()}'" if self.peek() else "end of pipeline"
            raise self.error(f"expected {what}, found {found}")
        self.pos = m.end()
        return m.group(), m.start()

    def entry(self) -> PipelineEntry:
        name, col = self.name("a pass name")
        cls = self.registry.get(name)
        if cls is None:
            names = self.registry.names()
            raise self.error(f"unknown pass '{name}'{_suggest(name, names)}; "
                             f"valid passes: {', '.join(names)}", col)
        values: dict[str, Any] = {}
        explicit: list[tuple[str, str]] = []
        if self.peek() == "{":
            self.pos += 1
            opts = {o.name: o for o in cls.options()}
            while True:
                self.skip_ws()
                if not self.peek():
                    raise self.error(f"expected '}}' to close the options of '{name}', found end of pipeline")
                if self.peek() == "}":
                    self.pos += 1
                    break
                key, kcol = self.name(f"an option of '{name}' or '}}'")
                info = opts.get(key)
                if info is None:
                    valid = ", ".join(opts) or "none"
                    raise self.error(f"unknown option '{key}' of pass '{name}'{_suggest(key, list(opts))}"
                                     f"; valid options: {valid}", kcol)
                if key in values:
                    raise self.error(f"option '{key}' of pass '{name}' given twice", kcol)
                if self.peek() != "=":
                    raise self.error(f"expected '=' after option '{key}'")
                self.pos += 1
                vcol = self.pos
                raw = self.value()
                values[key] = self.convert(name, info, raw, vcol)
                explicit.append((key, self.text[vcol:self.pos]))
                c = self.peek()
                if not c:
                    raise self.error(f"expected '}}' to close the options of '{name}', found end of pipeline")
                if c != "}" and not c.isspace():
                    raise self.error(f"expected ' ' or '}}' after the value of '{key}', found '{c}'")
        kwargs = {opts_field(cls, k): v for k, v in values.items()}
        try:
            p = cls(**kwargs)
        except (ValueError, TypeError) as e:
            raise self.error(f"invalid options for pass '{name}': {e}", col) from None
        return PipelineEntry(p, tuple(explicit))

    def value(self) -> str:
        if self.peek() == '"':
            m = re.compile(r'"(?:[^"\\]|\\.)*"').match(self.text, self.pos)
            if m is None:
                raise self.error("unterminated quoted value")
            self.pos = m.end()
            return json.loads(m.group())
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace() \
                and self.text[self.pos] not in "{}":
            self.pos += 1
        if self.pos == start:
            raise self.error("expected an option value")
        return self.text[start:self.pos]

    def convert(self, pass_name: str, info: OptionInfo, raw: str, col: int) -> Any:
        try:
            return convert_option(info, raw)
        except ValueError as e:
            raise self.error(f"option '{info.name}' of pass '{pass_name}': {e}", col) from None


def opts_field(cls: type[Pass], kebab: str) -> str:
    for o in cls.options():
        if o.name == kebab:
            return o.field
    raise KeyError(kebab)


def convert_option(info: OptionInfo, raw: str) -> Any:
    """The typed value of an option written as ``raw`` (ValueError if it does not fit)."""
    t = info.type
    if t is bool:
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0"):
            return False
        raise ValueError(f"expected true or false, got '{raw}'")
    if t is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got '{raw}'") from None
    if t is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got '{raw}'") from None
    return raw
