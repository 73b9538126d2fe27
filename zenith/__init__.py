"""Zenith: an MLIR-style compiler toolkit for deep-learning models."""

from zenith import dialects  # noqa: F401  (registers every op)
from zenith.interpreter import interpret
from zenith.ir import Builder, Module, parse_module, print_module, verify

__version__ = "0.1.0"

__all__ = ["Builder", "Module", "__version__", "interpret", "parse_module", "print_module",
           "verify"]
