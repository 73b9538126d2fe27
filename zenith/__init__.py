"""Zenith: an MLIR-style compiler toolkit for deep-learning models."""

from zenith import dialects  # noqa: F401  (registers every op)
from zenith.api import CompiledModel, compile
from zenith.frontend.onnx import load_onnx
from zenith.interpreter import interpret
from zenith.ir import Builder, Module, ZenithError, parse_module, print_module, verify

__version__ = "0.1.0"

__all__ = ["Builder", "CompiledModel", "Module", "ZenithError", "__version__", "compile",
           "interpret", "load_onnx", "parse_module", "print_module", "verify"]
