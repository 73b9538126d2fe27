"""What a pass is: a frozen dataclass with a kebab-case name, typed options and ``run``.

    @register_pass
    @dataclass(frozen=True)
    class Canonicalize(Pass):
        name = "canonicalize"
        description = "Apply folders and canonical patterns to a fixpoint"
        max_iterations: int = option(10, "cap on greedy sweeps")

        def run(self, module: Module, ctx: PassContext) -> None: ...

Options are the dataclass fields (``int``, ``float``, ``bool`` or ``str``); in a
pipeline string the field ``max_iterations`` is the option ``max-iterations``.
A pass reports what it did through ``ctx.stats``; it signals failure by raising
a ``ZenithError`` (with the location of the op at fault).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from zenith.ir.diagnostics import Location, ZenithError
from zenith.ir.module import Module

OPTION_TYPES = (int, float, bool, str)


def option(default: Any, doc: str) -> Any:
    """A pass option: a dataclass field with a default and a one-line doc."""
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class OptionInfo:
    """One option of a pass, as the pipeline parser and ``--list-passes`` see it."""

    name: str  # kebab-case
    field: str  # snake_case
    type: type
    default: Any
    doc: str


def to_kebab(name: str) -> str:
    return name.replace("_", "-")


class PassFailure(ZenithError):
    """A pass failed, or left IR that does not verify; names the pass."""

    def __init__(self, message: str, loc: Location | None = None, notes: list[str] | None = None,
                 pass_name: str = "") -> None:
        super().__init__(message, loc, notes)
        self.pass_name = pass_name


class PassContext:
    """Handed to ``Pass.run``: where a pass counts its statistics."""

    def __init__(self) -> None:
        self.stats: dict[str, int] = {}

    def add(self, stat: str, n: int = 1) -> None:
        """Add ``n`` to statistic ``stat`` (created at zero)."""
        self.stats[stat] = self.stats.get(stat, 0) + n


@dataclass(frozen=True)
class Pass:
    """Base of all passes; subclasses are frozen dataclasses whose fields are options."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # statistic name -> one-line description (shown by --statistics).
    statistics: ClassVar[dict[str, str]] = {}

    def run(self, module: Module, ctx: PassContext) -> None:
        raise NotImplementedError

    def numerics_dtype(self) -> str | None:
        """The dtype a pass deliberately computes floats in (None: it keeps the module's
        precision). Semantic checks compare float results at that dtype's tolerance."""
        return None

    @classmethod
    def options(cls) -> list[OptionInfo]:
        """The pass's options in declaration order."""
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            t = hints[f.name]
            if t not in OPTION_TYPES:
                raise TypeError(f"pass '{cls.name}': option '{f.name}' has type {t}; "
                                f"options are int, float, bool or str")
            out.append(OptionInfo(to_kebab(f.name), f.name, t, f.default, f.metadata.get("doc", "")))
        return out

    def option_values(self) -> dict[str, Any]:
        """kebab-case option name -> this instance's value."""
        return {o.name: getattr(self, o.field) for o in self.options()}

    def __str__(self) -> str:
        from zenith.passes.pipeline import format_entry

        return format_entry(self)
