"""The ONNX frontend: ``ModelProto`` to Zenith IR (importer) and back (exporter).

Importing this package registers every converter; each converter module holds
one family of ONNX ops.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from zenith.frontend.onnx import (  # noqa: F401  (register converters and export rules)
    attention,
    attention_variants,
    control,
    data,
    elementwise,
    export_core,
    export_data,
    export_nn,
    image,
    linalg,
    loss,
    nn,
    norm,
    positional,
    quant,
    reduce,
    rnn,
    sequence,
    shape,
    signal,
    vision,
)
from zenith.frontend.onnx.exporter import export_onnx
from zenith.frontend.onnx.importer import import_model, newest_opset
from zenith.frontend.onnx.loader import ModelSource, read_model
from zenith.ir.module import Module
from zenith.ir.types import Dim


def load_onnx(model: ModelSource, *, input_shapes: Mapping[str, Sequence[Dim]] | None = None,
              static_inputs: Mapping[str, Any] | None = None,
              base_dir: str | os.PathLike | None = None,
              input_structure: Mapping[str, tuple] | None = None) -> Module:
    """Import an ONNX model (a ModelProto, a path or bytes) as a verified Zenith module.

    ``input_shapes`` overrides the declared shapes of named inputs (to fix dynamic
    dims); ``static_inputs`` fixes the values of named inputs (they become constants
    and leave the signature); ``base_dir`` is where external tensor data lives when
    ``model`` is not a path; ``input_structure`` gives sequence and optional inputs their
    shape (``("seq", [shapes])``, ``("none",)`` or ``("tensor", shape)``): a sequence input
    of n elements becomes n arguments ``name[0]`` ... ``name[n-1]``.
    """
    from zenith.ir.verifier import verify

    module = import_model(read_model(model, base_dir), input_shapes=input_shapes,
                          static_inputs=static_inputs, input_structure=input_structure)
    verify(module)
    return module


__all__ = ["export_onnx", "import_model", "load_onnx", "newest_opset", "read_model"]
