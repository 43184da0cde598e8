"""The front end as one explicit pipeline: ONNX model in, verified quantized IR out.

`frontend(model)` loads and checks the model (`compiler.frontend.onnx_loader.load`), imports it as a graph
of `onnx:` nodes, then runs the named passes of `PASSES` in order, verifying the graph after each one
(`ir.verify` once the graph is pure IR). `passes()` lists them (for the docs and `--dump-ir`).
`clean_float(model)` runs the float-graph passes only and returns a ModelProto (the quantizer's input).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import onnx

from genesys.compiler.frontend import passes as P
from genesys.compiler.frontend.onnx_loader import default_opset, export_model, import_model, load
from genesys.compiler.ir import Graph

Pass = Callable[[Graph, P.PassContext], Graph]

PASSES: tuple[tuple[str, Pass], ...] = (
    ("fold_constants", P.fold_constants),
    ("fold_batchnorm", P.fold_batchnorm),
    ("remove_dead", P.remove_dead),
    ("import_qlinear", P.import_qlinear),
    ("recognise_qdq", P.recognise_qdq),
    ("fuse_activations", P.fuse_activations),
    ("normalise_reshape", P.normalise_reshape),
    ("remove_dead", P.remove_dead),
)
FLOAT_PASSES = PASSES[:3]


def passes() -> list[tuple[str, str]]:
    """(name, first line of its docstring row) for every pass, in order."""
    table = {}
    for line in (P.__doc__ or "").splitlines():
        if line.startswith("| ") and not line.startswith("| pass") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            table[cells[0]] = cells[1]
    return [(name, table.get(name, "")) for name, _ in PASSES]


def format_graph(graph: Graph, stage: str = "") -> str:
    """A readable listing of a graph (for `--dump-ir`): one line per node with its tensors' shapes and
    quantization, the attributes after it."""

    def tensor(name: str) -> str:
        t = graph.tensors.get(name)
        if t is None:
            return name
        q = ""
        if t.quant is not None:
            s, z = np.ravel(t.quant.scale), np.ravel(t.quant.zero_point)
            q = f" s={s[0]:.6g} zp={z[0]}" if s.size == 1 else f" s[{s.size}] axis={t.quant.axis}"
        return f"{name}:{t.dtype}{list(t.shape)}{q}{' const' if t.is_const else ''}"

    def attr(v) -> str:
        if isinstance(v, np.ndarray):
            return f"array{list(v.shape)}" if v.size > 4 else np.array2string(v, separator=",")
        return repr(v)

    lines = [f"graph {graph.name}" + (f" (after {stage})" if stage else "")]
    lines.append("  inputs: " + ", ".join(tensor(i) for i in graph.inputs))
    for n in graph.nodes:
        attrs = " ".join(f"{k}={attr(v)}" for k, v in n.attrs.items())
        lines.append(f"  {n.op} '{n.name}': {', '.join(tensor(i) for i in n.inputs if i)} -> "
                     f"{', '.join(tensor(o) for o in n.outputs)}" + (f"  [{attrs}]" if attrs else ""))
    lines.append("  outputs: " + ", ".join(graph.outputs))
    return "\n".join(lines)


def _run(graph: Graph, opset: int, steps, dump: Callable[[str, Graph], None] | None) -> Graph:
    ctx = P.PassContext(opset=opset)
    P.verify(graph, "import")
    if dump:
        dump("import", graph)
    for name, fn in steps:
        graph = fn(graph, ctx)
        P.verify(graph, name)
        if dump:
            dump(name, graph)
    return graph


def frontend(model: onnx.ModelProto | str | os.PathLike, dump: Callable[[str, Graph], None] | None = None) -> Graph:
    """A quantized ONNX model (QDQ or QLinear) as a verified IR graph. `dump(stage, graph)` sees every stage."""
    proto = load(model)
    return _run(import_model(proto), default_opset(proto), PASSES, dump)


def clean_float(model: onnx.ModelProto | str | os.PathLike) -> onnx.ModelProto:
    """A float model with constants folded, BatchNormalization folded into its Conv, dead nodes removed."""
    proto = load(model)
    opset = default_opset(proto)
    graph = _run(import_model(proto), opset, FLOAT_PASSES, None)
    return load(export_model(graph, opset))
