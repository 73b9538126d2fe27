"""ONNX ``ModelProto`` to a Zenith module.

The importer checks the opsets, collects every node without a converter (so an
unsupported model fails once, listing them all, before anything is built),
then walks the graph in order: initializers become ``zt.constant`` ops, graph
inputs become function arguments (``dim_param`` dims stay symbolic), each node
is converted by its registered converter with a ``NameLoc`` naming it.
Model-local functions are inlined. Sequences and optionals whose structure is
known at import time are tracked in the importer and flattened to tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from zenith.frontend.onnx.context import NodeContext, OnnxValue, OptionalValue, SequenceValue
from zenith.frontend.onnx.dtypes import tensor_to_array, to_dtype
from zenith.frontend.onnx.folding import SHAPE_QUERIES, const_value
from zenith.frontend.onnx.registry import find_converter
from zenith.interpreter import check_value
from zenith.ir.attributes import DenseAttr
from zenith.ir.builder import Builder
from zenith.ir.core import Block, BlockArgument, Region, Value
from zenith.ir.diagnostics import UNKNOWN, Location, NameLoc, ZenithError
from zenith.ir.module import Function, Module
from zenith.ir.opdef import NONDETERMINISTIC, PURE
from zenith.ir.types import Dim, TensorType, dims_compatible

MIN_OPSET = 7
DEFAULT_FOLD_LIMIT = 1 << 16


def newest_opset() -> int:
    """The newest default-domain opset the installed ``onnx`` package knows."""
    return onnx.defs.onnx_opset_version()


@dataclass
class ImportOptions:
    input_shapes: Mapping[str, Sequence[Dim]] | None = None
    static_inputs: Mapping[str, Any] | None = None
    fold_limit: int = DEFAULT_FOLD_LIMIT
    name: str = "main"
    # Sequence and optional inputs: name -> ("seq", [shapes]) | ("none",) | ("tensor", shape)
    input_structure: Mapping[str, tuple] | None = None


@dataclass
class InputPlan:
    """The function arguments one graph input becomes, and how to rebuild its value."""

    args: list[tuple[str, TensorType]]
    build: Any  # (list of argument values) -> OnnxValue


def _tensor_elem(tp: onnx.TypeProto, name: str, loc: Location):
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        return tp.tensor_type.elem_type, "tensor"
    if kind == "sequence_type":
        return tp.sequence_type.elem_type.tensor_type.elem_type, "seq"
    raise ZenithError(f"input '{name}' has {kind} type, which Zenith cannot take", loc)


def input_plan(vi: onnx.ValueInfoProto, shape: Sequence[Dim] | None, structure: tuple | None
               ) -> InputPlan:
    """Plan the arguments of a graph input: one for a tensor, one per element of a
    sequence (its length and shapes given by ``structure``), none for an absent optional."""
    loc = NameLoc(vi.name)
    kind = vi.type.WhichOneof("value")
    if kind == "tensor_type":
        return InputPlan([(vi.name, value_type(vi, loc, shape))], lambda vs: vs[0])
    if structure is None:
        raise ZenithError(f"input '{vi.name}' is a {kind.replace('_type', '')}; give its "
                          "structure with input_structure={name: ('seq', [shapes]) | ('none',) "
                          "| ('tensor', shape)}", loc)
    if kind == "optional_type":
        elem_tp = vi.type.optional_type.elem_type
        if structure[0] == "none":
            return InputPlan([], lambda vs: OptionalValue(None, elem_tp))
        inner_shape = structure[1] if structure[0] == "tensor" else shape
        inner = input_plan(onnx.helper.make_value_info(vi.name, elem_tp), inner_shape, structure)
        return InputPlan(inner.args, lambda vs: OptionalValue(inner.build(vs)))
    if kind != "sequence_type" or structure[0] != "seq":
        raise ZenithError(f"input '{vi.name}' ({kind}) does not match the structure {structure[0]!r}",
                          loc)
    elem, _ = _tensor_elem(vi.type.sequence_type.elem_type, vi.name, loc)
    dt = to_dtype(elem, loc)
    args = [(f"{vi.name}[{j}]", TensorType(dt, tuple(s))) for j, s in enumerate(structure[1])]
    return InputPlan(args, lambda vs: SequenceValue(list(vs), dt))


def value_type(vi: onnx.ValueInfoProto, loc: Location, shape: Sequence[Dim] | None = None
               ) -> TensorType:
    """The tensor type of a graph input or output (``shape`` overrides the declared one)."""
    tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
    if tt is None:
        kind = vi.type.WhichOneof("value") or "no"
        raise ZenithError(f"'{vi.name}' has {kind.replace('_', ' ')} type; only tensors can be "
                          "passed in or out of a compiled model", loc)
    dt = to_dtype(tt.elem_type, loc)
    if shape is not None:
        return TensorType(dt, tuple(shape))
    if not tt.HasField("shape"):
        raise ZenithError(f"'{vi.name}' has no shape (unknown rank); give its shape with "
                          "input_shapes={name: shape}", loc)
    dims: list[Dim] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return TensorType(dt, tuple(dims))


class ModelImporter:
    """Imports one model; holds what all its graphs share (opsets, local functions)."""

    def __init__(self, model: onnx.ModelProto, options: ImportOptions) -> None:
        self.model = model
        self.options = options
        self.opsets: dict[str, int] = {}
        for o in model.opset_import:
            self.opsets["" if o.domain == "ai.onnx" else o.domain] = int(o.version)
        self.functions = {(f.domain, f.name): f for f in model.functions}
        self.main_args: dict[Value, str] = {}

    @staticmethod
    def const_of(v: Any) -> np.ndarray | None:
        """The value of ``v`` when it is a tensor known at import time."""
        return const_value(v) if isinstance(v, Value) else None

    def feeding_inputs(self, v: Value) -> tuple[list[str], list[str]] | None:
        """The model inputs ``v`` is computed from by pure ops alone: those whose values it
        reads and those whose (dynamic) shapes it reads. None if anything else feeds it,
        such as a subgraph argument or a random op."""
        values: set[str] = set()
        shapes: set[str] = set()
        stack, seen = [(v, False)], set()
        while stack:
            x, shape_only = stack.pop()
            if (x, shape_only) in seen:
                continue
            seen.add((x, shape_only))
            if isinstance(x, BlockArgument):
                if x not in self.main_args:
                    return None
                (shapes if shape_only else values).add(self.main_args[x])
                continue
            op = x.op
            if op.regions or not op.has_trait(PURE) or op.has_trait(NONDETERMINISTIC):
                return None
            reads_shape = shape_only or op.name in SHAPE_QUERIES
            stack.extend((o, reads_shape) for o in op.operands)
        return sorted(values), sorted(shapes)

    def version(self, domain: str) -> int | None:
        return self.opsets.get("" if domain == "ai.onnx" else domain)

    # -- checks ---------------------------------------------------------
    def check_opsets(self) -> None:
        v = self.opsets.get("")
        if v is None:
            if any(n.domain in ("", "ai.onnx") for n in self.model.graph.node):
                raise ZenithError("model imports no default ONNX opset")
            return
        if v > newest_opset():
            raise ZenithError(f"model uses opset {v}; the installed onnx knows opsets up to "
                              f"{newest_opset()}")

    def check_supported(self) -> None:
        """Raise one error listing every op type that has no converter."""
        missing: dict[tuple[str, str, int | None], list[str]] = {}
        self._collect_missing(self.model.graph.node, missing, set())
        if not missing:
            return
        lines = []
        for (domain, op_type, version), names in sorted(missing.items(), key=lambda kv: kv[0][:2]):
            full = f"{domain}.{op_type}" if domain else op_type
            where = f"opset {version}" if version is not None else f"domain '{domain}' not imported"
            shown = ", ".join(repr(n) for n in names[:8]) + (" ..." if len(names) > 8 else "")
            lines.append(f"  {full} ({where}): {len(names)} node(s) {shown}")
        kinds = ", ".join(dict.fromkeys(
            (f"{d}.{t}" if d else t) + (f"-{v}" if v is not None else "") for d, t, v in missing))
        raise ZenithError(f"model has {len(missing)} unsupported op type(s): {kinds}\n"
                          + "\n".join(lines))

    def _collect_missing(self, nodes: Sequence[onnx.NodeProto], missing: dict,
                         seen_functions: set) -> None:
        for i, node in enumerate(nodes):
            key = (node.domain, node.op_type)
            if key in self.functions:
                if key not in seen_functions:
                    seen_functions.add(key)
                    self._collect_missing(self.functions[key].node, missing, seen_functions)
            else:
                version = self.version(node.domain)
                if version is None or find_converter(node.domain, node.op_type, version) is None:
                    name = node_name(node, i)
                    missing.setdefault((node.domain, node.op_type, version), []).append(name)
            for a in node.attribute:
                for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                    self._collect_missing(g.node, missing, seen_functions)

    # -- import ---------------------------------------------------------
    def run(self) -> Module:
        self.check_opsets()
        self.check_supported()
        graph = self.model.graph
        module = Module()
        inits = {t.name for t in graph.initializer}
        shapes = dict(self.options.input_shapes or {})
        static = dict(self.options.static_inputs or {})
        inputs = [vi.name for vi in graph.input if vi.name not in inits]
        for what, given in (("input_shapes", shapes), ("static_inputs", static)):
            unknown = set(given) - set(inputs)
            if unknown:
                raise ZenithError(f"{what} names unknown input(s) {sorted(unknown)}; the model's "
                                  f"inputs are {inputs}")
        arg_vis = [vi for vi in graph.input if vi.name not in inits and vi.name not in static]
        structure = dict(self.options.input_structure or {})
        plans = [input_plan(vi, shapes.get(vi.name), structure.get(vi.name)) for vi in arg_vis]
        arg_names = [n for p in plans for n, _ in p.args]
        fn = Function(self.options.name, [t for p in plans for _, t in p.args], [],
                      loc=NameLoc(graph.name or "graph"))
        module.add_function(fn)
        conv = GraphConverter(self, None, fn.body)
        args = iter(fn.args)
        for vi, plan in zip(arg_vis, plans):
            mine = [next(args) for _ in plan.args]
            for (name, _), arg in zip(plan.args, mine):
                arg.name_hint = name
                self.main_args[arg] = name
            conv.define(vi.name, plan.build(mine))
        conv.add_static_inputs([vi for vi in graph.input if vi.name in static], static)
        conv.add_initializers(graph)
        conv.run_nodes(graph.node)
        results, names, layout = [], [], []
        for vi in graph.output:
            v = conv.lookup(vi.name, NameLoc(vi.name))
            results_of, kind = flatten_output(v, vi.name)
            names.extend(vi.name if kind == "tensor" else f"{vi.name}[{j}]"
                         for j in range(len(results_of)))
            results.extend(results_of)
            layout.append(kind)
            if kind == "tensor":
                check_output_type(vi, results_of[0])
        Builder.at_end(fn.body).create("func.return", results, loc=fn.loc)
        fn.attributes["arg_names"] = tuple(arg_names)
        fn.attributes["result_names"] = tuple(names)
        if any(k != "tensor" for k in layout):
            fn.attributes["output_layout"] = tuple(layout)
        fn.sync_signature()
        return module


def node_name(node: onnx.NodeProto, index: int) -> str:
    """A name for a node in messages and locations: its name, else its first output."""
    if node.name:
        return node.name
    outs = [o for o in node.output if o]
    return f"{node.op_type}:{outs[0]}" if outs else f"{node.op_type}#{index}"


def flatten_output(v: OnnxValue | None, name: str) -> tuple[list[Value], str]:
    """The tensors a graph output stands for, and its layout tag."""
    if isinstance(v, Value):
        return [v], "tensor"
    if isinstance(v, SequenceValue):
        return list(v.items), f"seq:{len(v.items)}"
    if isinstance(v, OptionalValue):
        if v.value is None:
            return [], "opt:none"
        inner, kind = flatten_output(v.value, name)
        return inner, f"opt:{kind}"
    raise ZenithError(f"graph output '{name}' is not computed by any node", NameLoc(name))


def check_output_type(vi: onnx.ValueInfoProto, v: Value) -> None:
    """A converter bug shows here: the declared output type disagrees with ours."""
    if not vi.type.HasField("tensor_type"):
        return
    tt = vi.type.tensor_type
    if tt.elem_type:
        want = to_dtype(tt.elem_type, NameLoc(vi.name))
        if want is not v.type.dtype:
            raise ZenithError(f"output '{vi.name}' is declared {want} but computes {v.type.dtype}",
                              NameLoc(vi.name))
    if tt.HasField("shape"):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if len(dims) != v.type.rank or not all(dims_compatible(a, b) for a, b in zip(dims, v.type.shape)):
            shown = ["?" if d is None else d for d in dims]
            raise ZenithError(f"output '{vi.name}' is declared with shape {shown} but computes "
                              f"{v.type}", NameLoc(vi.name))


class GraphConverter:
    """Converts the nodes of one graph (or subgraph, or inlined function) into a block."""

    def __init__(self, importer: ModelImporter, parent: GraphConverter | None, block: Block) -> None:
        self.importer = importer
        self.parent = parent
        self.block = block
        self.values: dict[str, OnnxValue] = {}
        self.fold_limit = importer.options.fold_limit

    def define(self, name: str, v: OnnxValue) -> None:
        self.values[name] = v

    def lookup(self, name: str, loc: Location = UNKNOWN) -> OnnxValue:
        g: GraphConverter | None = self
        while g is not None:
            if name in g.values:
                return g.values[name]
            g = g.parent
        raise ZenithError(f"value '{name}' is used before any node computes it", loc)

    def add_static_inputs(self, vis: Sequence[onnx.ValueInfoProto], values: Mapping[str, Any]
                          ) -> None:
        """Model inputs whose values are fixed at compile time become constants."""
        b = Builder.at_end(self.block)
        for vi in vis:
            loc = NameLoc(vi.name)
            arr = np.asarray(values[vi.name])
            want = value_type(vi, loc)
            check_value(want, arr, f"static input '{vi.name}'")
            c = b.create("zt.constant", [], {"value": DenseAttr(arr)}, loc=loc).result
            c.name_hint = vi.name
            self.define(vi.name, c)

    def add_initializers(self, graph: onnx.GraphProto) -> None:
        b = Builder.at_end(self.block)
        for t in graph.initializer:
            loc = NameLoc(t.name)
            arr = tensor_to_array(t, loc)
            c = b.create("zt.constant", [], {"value": DenseAttr(arr, to_dtype(t.data_type, loc))},
                         loc=loc).result
            c.name_hint = t.name
            self.define(t.name, c)
        for st in graph.sparse_initializer:
            from zenith.frontend.onnx.context import _sparse_to_array

            name = st.values.name
            arr = _sparse_to_array(st, NameLoc(name))
            c = b.create("zt.constant", [], {"value": DenseAttr(arr)}, loc=NameLoc(name)).result
            self.define(name, c)

    def run_nodes(self, nodes: Sequence[onnx.NodeProto]) -> None:
        for i, node in enumerate(nodes):
            self.convert_node(node, i)

    def convert_node(self, node: onnx.NodeProto, index: int) -> None:
        loc = NameLoc(node_name(node, index))
        inputs = [self.lookup(n, loc) if n else None for n in node.input]
        key = (node.domain, node.op_type)
        if key in self.importer.functions:
            outs = self.inline_function(self.importer.functions[key], node, inputs, loc)
        else:
            version = self.importer.version(node.domain)
            conv = find_converter(node.domain, node.op_type, version or 0)
            if conv is None:  # check_supported ran first; only subgraph edge cases get here
                raise ZenithError(f"no converter for {node.op_type} at opset {version}", loc)
            ctx = NodeContext(self, node, inputs, version or 0, loc, Builder(self.block, loc=loc))
            try:
                outs = conv.fn(ctx)
            except ZenithError:
                raise
            except Exception as e:
                raise ZenithError(f"{node.op_type}: internal error in its converter: "
                                  f"{type(e).__name__}: {e}", loc) from e
        self.bind_outputs(node, outs, loc)

    def bind_outputs(self, node: onnx.NodeProto, outs: Any, loc: Location) -> None:
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        for i, name in enumerate(node.output):
            if not name:
                continue
            if i >= len(outs) or outs[i] is None:
                raise ZenithError(f"{node.op_type}: output #{i} ('{name}') is not supported",
                                  loc)
            v = outs[i]
            if isinstance(v, Value) and v.name_hint is None:
                v.name_hint = name
            self.define(name, v)

    def inline_function(self, fn: onnx.FunctionProto, node: onnx.NodeProto,
                        inputs: list[OnnxValue | None], loc: Location) -> list[OnnxValue]:
        """Convert a call of a model-local function by converting its body in place."""
        sub = GraphConverter(self.importer, None, self.block)
        for name, v in zip(fn.input, inputs):
            if v is not None:
                sub.define(name, v)
        attrs = {a.name: a for a in node.attribute}
        defaults = {a.name: a for a in fn.attribute_proto}
        body = []
        for n in fn.node:
            m = onnx.NodeProto()
            m.CopyFrom(n)
            if any(a.ref_attr_name for a in n.attribute):
                del m.attribute[:]
                for a in n.attribute:
                    if not a.ref_attr_name:
                        m.attribute.append(a)
                        continue
                    src = attrs.get(a.ref_attr_name) or defaults.get(a.ref_attr_name)
                    if src is not None:
                        c = onnx.AttributeProto()
                        c.CopyFrom(src)
                        c.name = a.name
                        m.attribute.append(c)
            body.append(m)
        for i, n in enumerate(body):
            sub.convert_node(n, i)
        return [sub.lookup(o, loc) for o in fn.output]

    def region(self, graph: onnx.GraphProto, arg_types: Sequence[TensorType], loc: Location
               ) -> tuple[Region, list[OnnxValue]]:
        """Convert a subgraph into a one-block region whose arguments are its inputs.

        Returns the region and the subgraph's outputs (the caller adds the terminator)."""
        block = Block(list(arg_types))
        region = Region([block])
        sub = GraphConverter(self.importer, self, block)
        if len(arg_types) != len(graph.input):
            raise ZenithError(f"subgraph '{graph.name}' takes {len(graph.input)} inputs, "
                              f"{len(arg_types)} given", loc)
        for vi, arg in zip(graph.input, block.args):
            arg.name_hint = vi.name
            sub.define(vi.name, arg)
        sub.add_initializers(graph)
        sub.run_nodes(graph.node)
        outs = [sub.lookup(vi.name, loc) for vi in graph.output]
        return region, outs


def import_model(model: onnx.ModelProto, input_shapes: Mapping[str, Sequence[Dim]] | None = None,
                 static_inputs: Mapping[str, Any] | None = None,
                 fold_limit: int = DEFAULT_FOLD_LIMIT, name: str = "main",
                 input_structure: Mapping[str, tuple] | None = None) -> Module:
    """Import an ONNX model into a new module with one function ``name``.

    ``input_shapes`` overrides declared input shapes; ``static_inputs`` fixes the
    values of some inputs, which become constants (and leave the signature)."""
    options = ImportOptions(input_shapes, static_inputs, fold_limit, name, input_structure)
    return ModelImporter(model, options).run()
