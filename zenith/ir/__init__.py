"""Zenith's IR core: types, attributes, values, ops, text form and verifier.

This package knows no dialect; dialects register op definitions into it.
"""

from zenith.ir.attributes import DenseAttr, normalize_attr
from zenith.ir.builder import Builder
from zenith.ir.core import Block, BlockArgument, Operation, OpResult, Region, Value
from zenith.ir.diagnostics import (
    UNKNOWN,
    FileLoc,
    Location,
    NameLoc,
    ParseError,
    VerifyError,
    ZenithError,
)
from zenith.ir.dtypes import DTYPES, DType, dtype, from_numpy, promote
from zenith.ir.equality import structurally_equal
from zenith.ir.module import Function, Module
from zenith.ir.opdef import REGISTRY, InferError, OpDef, define_op, lookup
from zenith.ir.parser import parse_module
from zenith.ir.printer import print_module, print_op
from zenith.ir.types import Dim, FunctionType, TensorType
from zenith.ir.verifier import collect_errors, verify

__all__ = [
    "DTYPES", "REGISTRY", "UNKNOWN", "Block", "BlockArgument", "Builder", "DType",
    "DenseAttr", "Dim", "FileLoc", "Function", "FunctionType", "InferError", "Location",
    "Module", "NameLoc", "OpDef", "OpResult", "Operation", "ParseError", "Region",
    "TensorType", "Value", "VerifyError", "ZenithError", "collect_errors", "define_op",
    "dtype", "from_numpy", "lookup", "normalize_attr", "parse_module", "print_module",
    "print_op", "promote", "structurally_equal", "verify",
]
