"""Reading ONNX models from a ModelProto, a path or bytes, with clear errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import external_data_helper

from zenith.ir.diagnostics import ZenithError

ModelSource = onnx.ModelProto | str | os.PathLike | bytes | bytearray


def _tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t
            yield from a.tensors
            for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                yield from _tensors(g)


def _has_external_data(model: onnx.ModelProto) -> bool:
    return any(external_data_helper.uses_external_data(t) for t in _tensors(model.graph))


def read_model(src: ModelSource, base_dir: str | os.PathLike | None = None) -> onnx.ModelProto:
    """Load a model; external data is read from the model's folder (or ``base_dir``)."""
    if isinstance(src, onnx.ModelProto):
        model = src
        if _has_external_data(model):
            if base_dir is None:
                raise ZenithError("the model keeps tensors in external files; load it from its "
                                  "path, or pass base_dir= (the folder holding those files)")
            model = onnx.ModelProto()
            model.CopyFrom(src)
            _load_external(model, Path(base_dir))
    elif isinstance(src, (bytes, bytearray)):
        model = _parse(bytes(src), "<bytes>")
        if _has_external_data(model):
            if base_dir is None:
                raise ZenithError("the model keeps tensors in external files; pass base_dir=")
            _load_external(model, Path(base_dir))
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.is_file():
            raise ZenithError(f"no ONNX model at '{path}'")
        model = _parse(path.read_bytes(), str(path))
        if _has_external_data(model):
            _load_external(model, Path(base_dir) if base_dir is not None else path.parent)
    else:
        raise ZenithError(f"cannot load an ONNX model from a {type(src).__name__}; pass a "
                          "ModelProto, a path or bytes")
    if not model.HasField("graph"):
        raise ZenithError("the ONNX model has no graph")
    return model


def _parse(data: bytes, where: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError as e:
        raise ZenithError(f"{where} is not a valid ONNX model (truncated or corrupt protobuf: "
                          f"{e})") from None
    if not data or not model.HasField("graph"):
        raise ZenithError(f"{where} is not a valid ONNX model (no graph found; truncated or "
                          "not an ONNX file?)")
    return model


def _load_external(model: onnx.ModelProto, base: Path) -> None:
    try:
        external_data_helper.load_external_data_for_model(model, str(base))
    except (OSError, ValueError) as e:
        raise ZenithError(f"cannot read the model's external data from '{base}': {e}") from None
