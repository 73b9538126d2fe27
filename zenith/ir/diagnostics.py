"""Source locations and the one error type every layer raises.

A :class:`ZenithError` carries a message and a location; ``str(err)`` is the
diagnostic a user sees: ``file:line:col: error: message`` followed by the source
line and a caret when the location points into text, or ``<node 'name'>: error:``
when it names an ONNX or FX node.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SourceBuffer:
    """The text a location points into, kept to show the offending line."""

    __slots__ = ("_lines", "name", "text")

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self._lines: list[str] | None = None

    def line(self, lineno: int) -> str:
        if self._lines is None:
            self._lines = self.text.split("\n")
        if 1 <= lineno <= len(self._lines):
            return self._lines[lineno - 1]
        return ""


class Location:
    """Base of all locations."""

    def prefix(self) -> str:
        return "<unknown>"

    def snippet(self) -> str:
        return ""


@dataclass(frozen=True)
class UnknownLoc(Location):
    def prefix(self) -> str:
        return "<unknown>"


@dataclass(frozen=True)
class FileLoc(Location):
    """A point in a text file (1-based line and column)."""

    filename: str
    line: int
    col: int
    buffer: SourceBuffer | None = field(default=None, compare=False, hash=False, repr=False)

    def prefix(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}"

    def snippet(self) -> str:
        if self.buffer is None:
            return ""
        text = self.buffer.line(self.line)
        return f"{text}\n{' ' * (self.col - 1)}^"


@dataclass(frozen=True)
class NameLoc(Location):
    """A named place outside text: an ONNX node, an FX node, a generated op."""

    name: str

    def prefix(self) -> str:
        return f"<node '{self.name}'>"


UNKNOWN = UnknownLoc()


class ZenithError(Exception):
    """An error with a location, formatted as a compiler diagnostic."""

    def __init__(self, message: str, loc: Location | None = None, notes: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc or UNKNOWN
        self.notes = notes or []

    def __str__(self) -> str:
        out = f"{self.loc.prefix()}: error: {self.message}"
        snip = self.loc.snippet()
        if snip:
            out += "\n" + snip
        for note in self.notes:
            out += f"\nnote: {note}"
        return out


class ParseError(ZenithError):
    """Invalid IR text."""


class VerifyError(ZenithError):
    """A module that breaks an IR invariant or an op's rules."""
