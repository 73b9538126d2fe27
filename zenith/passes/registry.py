"""The pass registry: kebab-case name -> pass class. The registry is the list of passes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from zenith.passes.base import Pass

_KEBAB = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")


class PassRegistry:
    """Pass classes by name; ``PASSES`` is the one every tool uses."""

    def __init__(self) -> None:
        self._passes: dict[str, type[Pass]] = {}

    def register(self, cls: type[Pass]) -> type[Pass]:
        name = cls.name
        if not _KEBAB.match(name):
            raise ValueError(f"pass name '{name}' must be kebab-case")
        if not cls.description:
            raise ValueError(f"pass '{name}' needs a one-line description")
        if name in self._passes and self._passes[name] is not cls:
            raise ValueError(f"pass '{name}' is registered twice")
        cls.options()  # checks the option types now, not at first use
        self._passes[name] = cls
        return cls

    def get(self, name: str) -> type[Pass] | None:
        return self._passes.get(name)

    def names(self) -> list[str]:
        return sorted(self._passes)

    def __contains__(self, name: str) -> bool:
        return name in self._passes

    def __iter__(self) -> Iterator[type[Pass]]:
        return iter(self._passes[n] for n in self.names())

    def copy(self) -> PassRegistry:
        new = PassRegistry()
        new._passes = dict(self._passes)
        return new


PASSES = PassRegistry()


def register_pass(cls: type[Pass]) -> type[Pass]:
    """Class decorator: add a pass to ``PASSES``."""
    return PASSES.register(cls)
