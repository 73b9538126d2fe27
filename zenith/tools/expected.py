"""``--verify-diagnostics``: expected-diagnostic comments, checked against what was emitted.

In the input, a comment names a diagnostic and the line it must point at::

    %y = "zt.add"(%x) ...           // expected-error {{expects 2 operand(s)}}
    // expected-error @+1 {{unknown operation}}
    // expected-error @-2 {{...}}    also @above (= @-1), @below (= @+1), @unknown

The text between ``{{ }}`` must occur in the message. Every expected diagnostic
must be emitted and every emitted one expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zenith.ir.diagnostics import FileLoc, ZenithError

_EXPECTED = re.compile(
    r"//.*?expected-(?P<kind>error|warning|remark)\s*(?:@(?P<where>[+-]\d+|above|below|unknown))?"
    r"\s*\{\{(?P<text>.*?)\}\}")


@dataclass
class Expected:
    kind: str
    line: int | None  # None: @unknown (no location)
    text: str
    comment_line: int
    seen: bool = False


@dataclass
class Emitted:
    kind: str
    error: ZenithError

    @property
    def line(self) -> int | None:
        loc = self.error.loc
        return loc.line if isinstance(loc, FileLoc) else None


def parse_expected(text: str, first_line: int = 1) -> list[Expected]:
    """Expected diagnostics in ``text``, whose first line is line ``first_line`` of its file."""
    out = []
    for i, line in enumerate(text.split("\n")):
        lineno = first_line + i
        for m in _EXPECTED.finditer(line):
            where = m.group("where")
            if where is None:
                target: int | None = lineno
            elif where == "unknown":
                target = None
            elif where == "above":
                target = lineno - 1
            elif where == "below":
                target = lineno + 1
            else:
                target = lineno + int(where)
            out.append(Expected(m.group("kind"), target, m.group("text"), lineno))
    return out


def check(expected: list[Expected], emitted: list[Emitted], filename: str) -> list[str]:
    """Messages for every mismatch (empty when the diagnostics are as expected)."""
    problems = []
    for e in emitted:
        match = next((x for x in expected if not x.seen and x.kind == e.kind and x.line == e.line
                      and x.text in e.error.message), None)
        if match is None:
            problems.append(f"{e.error.loc.prefix()}: error: unexpected {e.kind}: {e.error.message}")
        else:
            match.seen = True
    for x in expected:
        if not x.seen:
            where = f"line {x.line}" if x.line is not None else "an unknown location"
            problems.append(f"{filename}:{x.comment_line}: error: expected {x.kind} at {where} "
                            f"was not produced: {{{{{x.text}}}}}")
    return problems
