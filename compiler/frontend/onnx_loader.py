"""Load an ONNX model (a path or a ModelProto), check it, infer shapes, and import it as a graph.

`load` returns a checked `ModelProto` with inferred shapes. `import_model` turns it into a `Graph` whose
nodes are still ONNX ops (op names prefixed `onnx:`, attributes as Python values): the passes in
`compiler.frontend.passes` rewrite that graph into the IR vocabulary of `compiler.ir`. `export_model` is the
inverse for graphs that are still all ONNX (the quantizer hands a cleaned float graph to ONNX Runtime).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from genesys.compiler.ir import Graph, Node, Tensor
from genesys.errors import GenesysError

ONNX_PREFIX = "onnx:"
MIN_OPSET = 10  # QuantizeLinear/DequantizeLinear exist from opset 10 (per-axis from 13)
MAX_IR_VERSION = 10  # what we write (ONNX Runtime 1.31 refuses newer); any IR version ≥ 3 loads

_DTYPES = {
    onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "uint8",
    onnx.TensorProto.INT32: "int32", onnx.TensorProto.INT64: "int64", onnx.TensorProto.BOOL: "bool",
}
_ONNX_DTYPES = {v: k for k, v in _DTYPES.items()}


def _describe(model) -> str:
    return f"'{model}'" if isinstance(model, str | os.PathLike) else "the model"


def load(model: str | os.PathLike | onnx.ModelProto) -> onnx.ModelProto:
    """A checked ModelProto with shapes inferred; GenesysError for a missing file or a non-ONNX file."""
    where = _describe(model)
    if isinstance(model, str | os.PathLike):
        path = Path(model)
        if not path.is_file():
            raise GenesysError(f"model file '{path}' not found")
        try:
            proto = onnx.load(str(path))
        except Exception as e:  # protobuf raises DecodeError and friends
            raise GenesysError(f"'{path}' is not an ONNX model ({type(e).__name__}: {e})") from None
        if not proto.graph.node and not proto.graph.input:
            raise GenesysError(f"'{path}' is not an ONNX model (no graph in it)")
    elif isinstance(model, onnx.ModelProto):
        proto = model
    else:
        raise GenesysError(f"expected an ONNX file path or an onnx.ModelProto, got {type(model).__name__}")
    if proto.ir_version < 3:
        raise GenesysError(f"{where} has IR version {proto.ir_version}; the compiler needs IR version 3 or newer")
    opset = default_opset(proto, where)
    if opset < MIN_OPSET:
        raise GenesysError(f"{where} uses opset {opset}; the compiler needs opset {MIN_OPSET} or newer "
                           f"(upgrade it with onnx.version_converter.convert_version)")
    for imp in proto.opset_import:
        if imp.domain not in ("", "ai.onnx"):
            raise GenesysError(f"{where} imports operator domain '{imp.domain}'; only the default ONNX domain is supported")
    try:
        # inference first: it also fills graph outputs declared without a shape, which the checker rejects
        proto = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True, data_prop=True)
        onnx.checker.check_model(proto)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GenesysError(f"{where} is not a valid ONNX model: {first}") from None
    return proto


def default_opset(model: onnx.ModelProto, where: str = "the model") -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    raise GenesysError(f"{where} imports no default-domain opset")


def _dtype(elem_type: int, what: str) -> str:
    if elem_type not in _DTYPES:
        name = onnx.TensorProto.DataType.Name(elem_type) if elem_type in onnx.TensorProto.DataType.values() else elem_type
        raise GenesysError(f"{what} has element type {name}; supported: {', '.join(_DTYPES.values())}")
    return _DTYPES[elem_type]


def _shape(value_info) -> tuple[int, ...] | None:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return None if any(d is None for d in dims) else tuple(int(d) for d in dims)


def _attr_value(a: onnx.AttributeProto):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [s.decode() for s in v]
    return v


def import_model(model: onnx.ModelProto) -> Graph:
    """The ONNX graph as a Graph of `onnx:` nodes; constants carry their data, activations their shapes.

    A graph input whose batch dimension is symbolic is fixed to 1 (the accelerator runs batch 1); any other
    unknown dimension of an input is an error. Shapes of intermediate tensors come from shape inference
    and are `()` where it could not tell (the op builders recompute every IR shape from the inputs).
    """
    g = model.graph
    tensors: dict[str, Tensor] = {}
    for init in g.initializer:
        data = numpy_helper.to_array(init)
        dtype = _dtype(init.data_type, f"initializer '{init.name}'")
        tensors[init.name] = Tensor(init.name, tuple(data.shape), dtype, data=data.astype(dtype, copy=False))
    inputs = []
    for vi in g.input:
        if vi.name in tensors:
            continue  # old IR versions list initializers as inputs too
        tt = vi.type.tensor_type
        dims = []
        for i, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            elif i == 0:
                dims.append(1)
            else:
                raise GenesysError(f"graph input '{vi.name}' has a dynamic dimension {i} ('{d.dim_param}'); "
                                   f"the compiler needs static shapes (only the batch dimension may be symbolic)")
        if dims and dims[0] != 1:
            raise GenesysError(f"graph input '{vi.name}' has batch {dims[0]}; the accelerator runs batch 1")
        tensors[vi.name] = Tensor(vi.name, tuple(dims), _dtype(tt.elem_type, f"graph input '{vi.name}'"))
        inputs.append(vi.name)
    for vi in [*g.value_info, *g.output]:
        if vi.name not in tensors:
            tensors[vi.name] = Tensor(vi.name, _shape(vi) or (), _dtype(vi.type.tensor_type.elem_type, f"tensor '{vi.name}'"))
    nodes = []
    for i, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{i}"
        if n.domain not in ("", "ai.onnx"):
            raise GenesysError(f"node '{name}' ({n.op_type}) is in operator domain '{n.domain}'; "
                               f"only the default ONNX domain is supported")
        for out in n.output:
            if out and out not in tensors:
                tensors[out] = Tensor(out, (), "float32")  # refined by the passes
        nodes.append(Node(ONNX_PREFIX + n.op_type, name, list(n.input), [o for o in n.output if o],
                          {a.name: _attr_value(a) for a in n.attribute}))
    _unique_names(nodes)
    return Graph(g.name or "model", tensors, nodes, inputs, [o.name for o in g.output])


def _unique_names(nodes: list[Node]) -> None:
    seen: dict[str, int] = {}
    for n in nodes:
        if n.name in seen:
            seen[n.name] += 1
            n.name = f"{n.name}_{seen[n.name]}"
        else:
            seen[n.name] = 0


def node_proto(node: Node) -> onnx.NodeProto:
    """The ONNX NodeProto of an `onnx:` node (for evaluation and export)."""
    attrs = {k: (numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v) for k, v in node.attrs.items()}
    return helper.make_node(node.op[len(ONNX_PREFIX):], node.inputs, node.outputs, name=node.name, **attrs)


def export_model(graph: Graph, opset: int) -> onnx.ModelProto:
    """An all-ONNX graph back to a ModelProto (ir_version 10, the given default-domain opset)."""
    foreign = [n for n in graph.nodes if not n.op.startswith(ONNX_PREFIX)]
    if foreign:
        raise GenesysError(f"cannot export graph '{graph.name}' to ONNX: node '{foreign[0].name}' is IR op {foreign[0].op}")
    used = {i for n in graph.nodes for i in n.inputs} | set(graph.outputs)
    inits = [numpy_helper.from_array(t.data, name) for name, t in graph.tensors.items() if t.is_const and name in used]

    def vi(name: str, shape=True):
        t = graph.tensors[name]
        return helper.make_tensor_value_info(name, _ONNX_DTYPES[t.dtype], list(t.shape) if (shape and t.shape) else None)

    g = helper.make_graph([node_proto(n) for n in graph.nodes], graph.name, [vi(i) for i in graph.inputs],
                          [vi(o) for o in graph.outputs], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=MAX_IR_VERSION,
                             producer_name="genesys.compiler")
