"""The compiler's one IR: a quantized dataflow graph.

The front end turns an ONNX model (float, QDQ or QLinear) into this graph; every later pass reads and
rewrites it; the back end lowers its nodes to codelets. Shapes are ONNX's logical shapes (NCHW for
images); the DRAM layout (NHWC, channels padded) is the back end's business.

`verify(graph)` checks the invariants below and runs between passes (see `compiler.pipeline`).

Op vocabulary after QDQ recognition (`OPS` holds the attribute schema of each):

| op | inputs | output | meaning |
| --- | --- | --- | --- |
| Quantize | x float32 | int8 | host side: saturate(round_half_even(x / s) + zp) |
| Dequantize | x int8 | float32 | host side: (x - zp) * s |
| QConv | x int8, w int8 (const), b int32 (const) | int8 | int32 conv (w per-channel, zp_w = 0), requantize, clamp |
| QGemm | x int8 [1, K], w int8 [K, N] (const), b int32 (const) | int8 | int32 matmul, requantize, clamp |
| QAdd, QMul | a int8, b int8 | int8 | elementwise on dequantized values, requantized, clamp |
| MaxPool | x int8 | int8 | max over windows (same quantization in and out) |
| QAveragePool, QGlobalAveragePool | x int8 | int8 | mean over windows, requantized |
| QClamp | x int8 | int8 | clamp in the quantized domain (a standalone Relu/Clip) |
| QConcat | int8... | int8 | concatenate (inputs requantized to the output's parameters) |
| Reshape | x int8 | int8 | new logical shape, same data order (NCHW semantics) |

Every int8 tensor carries `QParams`. `act_min`/`act_max` on ops that requantize are the quantized clamp
bounds after a fused activation (Relu: zp..127; Clip(a, b): their quantized images; none: -128..127).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genesys.errors import GenesysError

INT_TYPES = ("int8", "uint8", "int32", "int64")
DTYPES = ("float32", *INT_TYPES, "bool")


class IRError(GenesysError):
    """The graph broke an invariant (names the node or tensor)."""


@dataclass
class QParams:
    """Affine quantization: real = (q - zero_point) * scale, per tensor (axis None) or per `axis`."""

    scale: np.ndarray  # float32, shape () or (C,)
    zero_point: np.ndarray  # int32 values, same shape as scale
    axis: int | None = None
    dtype: str = "int8"

    @property
    def per_channel(self) -> bool:
        return self.axis is not None and self.scale.ndim == 1


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QParams | None = None
    data: np.ndarray | None = None  # set for constants (initializers)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


@dataclass
class Node:
    op: str
    name: str  # the ONNX node name (or a derived one), used in every error message
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    name: str
    tensors: dict[str, Tensor]
    nodes: list[Node]
    inputs: list[str]
    outputs: list[str]

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]


@dataclass(frozen=True)
class OpSchema:
    inputs: int | tuple[int, int]  # exact count or (min, max)
    attrs: tuple[str, ...] = ()  # required attributes


_REQ = ("act_min", "act_max")
OPS: dict[str, OpSchema] = {
    "Quantize": OpSchema(1),
    "Dequantize": OpSchema(1),
    "QConv": OpSchema(3, ("strides", "pads", "dilations", "group", *_REQ)),
    "QGemm": OpSchema(3, _REQ),
    "QAdd": OpSchema(2, _REQ),
    "QMul": OpSchema(2, _REQ),
    "MaxPool": OpSchema(1, ("kernel_shape", "strides", "pads", "dilations", "ceil_mode")),
    "QAveragePool": OpSchema(1, ("kernel_shape", "strides", "pads", "count_include_pad", "ceil_mode")),
    "QGlobalAveragePool": OpSchema(1),
    "QClamp": OpSchema(1, _REQ),
    "QConcat": OpSchema((1, 1 << 16), ("axis",)),
    "Reshape": OpSchema(1, ("shape",)),
}


def verify(g: Graph, stage: str = "") -> None:
    """Check the graph's invariants; raise IRError naming the node/tensor and the stage."""
    where = f" (after {stage})" if stage else ""
    defined = {n for n, t in g.tensors.items() if t.is_const} | set(g.inputs)
    for name in g.inputs:
        if name not in g.tensors:
            raise IRError(f"graph input '{name}' has no tensor{where}")
    for node in g.nodes:
        schema = OPS.get(node.op)
        if schema is None:
            raise IRError(f"node '{node.name}': unknown IR op '{node.op}'{where}")
        lo, hi = (schema.inputs, schema.inputs) if isinstance(schema.inputs, int) else schema.inputs
        if not lo <= len(node.inputs) <= hi:
            raise IRError(f"node '{node.name}' ({node.op}): {len(node.inputs)} inputs, expected {schema.inputs}{where}")
        missing = [a for a in schema.attrs if a not in node.attrs]
        if missing:
            raise IRError(f"node '{node.name}' ({node.op}): missing attribute(s) {', '.join(missing)}{where}")
        for t in node.inputs:
            if t not in defined:
                raise IRError(f"node '{node.name}' ({node.op}): input '{t}' is not produced before it{where}")
        for t in node.outputs:
            if t not in g.tensors:
                raise IRError(f"node '{node.name}' ({node.op}): output '{t}' has no tensor{where}")
            if t in defined:
                raise IRError(f"node '{node.name}' ({node.op}): output '{t}' is produced twice{where}")
            tensor = g.tensors[t]
            if tensor.dtype in ("int8", "uint8") and tensor.quant is None:
                raise IRError(f"tensor '{t}' ({tensor.dtype}) has no quantization parameters{where}")
            defined.add(t)
    for name in g.outputs:
        if name not in defined:
            raise IRError(f"graph output '{name}' is never produced{where}")
    for t in g.tensors.values():
        if t.dtype not in DTYPES:
            raise IRError(f"tensor '{t.name}' has unsupported dtype {t.dtype}{where}")
        if t.is_const and tuple(t.data.shape) != tuple(t.shape):
            raise IRError(f"constant '{t.name}': data shape {t.data.shape} != declared {t.shape}{where}")
