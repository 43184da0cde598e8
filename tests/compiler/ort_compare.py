"""Compare the IR interpreter with ONNX Runtime tensor by tensor, and explain every difference.

ONNX Runtime is run on a copy of the QDQ model whose every QuantizeLinear (and QLinear op) output is also a
graph output, so each int8 tensor of the IR that has an ONNX twin is compared. Each IR node is evaluated on
*ONNX Runtime's* values of its inputs (where ORT has them), so a difference is pinned to the node that
causes it instead of being counted again in everything downstream.

A difference is *explained* only if it is ±1, the node is one ORT computes in float (QConv, QGemm, average
pools — DequantizeLinear → float op → QuantizeLinear), and the exact real value of the output before
rounding lies within the float32 error bound of ORT's accumulation from a rounding tie (k + ½):
`(K + 3)·2⁻²⁴·Σ|terms| + 2⁻²²·(|t| + 1)` in output units, K the number of accumulated terms. Anything
else is a bug and is reported as unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx

from genesys.compiler.ir import Graph, Node
from genesys.compiler.reference import conv2d_int, interpret, ort_reference, pool_counts, run_node, windows

EPS = 2.0**-24
FLOAT_PATH = ("QConv", "QGemm", "QAveragePool", "QGlobalAveragePool")


@dataclass
class Comparison:
    elements: int = 0  # int8 elements compared (every node's output with an ORT twin)
    tensors: int = 0
    flips: list[tuple[str, int]] = field(default_factory=list)  # (node, count) of explained ±1 rounding flips
    unexplained: list[str] = field(default_factory=list)
    outputs: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # free-running: (mismatches, size, max |diff|)

    @property
    def n_flips(self) -> int:
        return sum(c for _, c in self.flips)

    def summary(self) -> str:
        outs = ", ".join(f"{k}: {m}/{n} differ (max {d:.3g})" for k, (m, n, d) in self.outputs.items())
        return (f"{self.tensors} tensors / {self.elements} int8 values compared node by node: {self.n_flips} "
                f"explained ±1 float-rounding flips {self.flips or ''}, {len(self.unexplained)} unexplained; "
                f"free-running outputs: {outs}")


def with_all_outputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of the model that also outputs every int8 tensor produced by a (QLinear) quantizing node."""
    out = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v for v in out.graph.value_info}
    have = {o.name for o in out.graph.output}
    for n in model.graph.node:
        if n.op_type in ("QuantizeLinear", "QLinearConv", "QLinearMatMul") and n.output[0] not in have:
            out.graph.output.append(types[n.output[0]])
    return out


def _tie_distance_and_bound(g: Graph, n: Node, env) -> tuple[np.ndarray, np.ndarray]:
    """Per output element: distance of the exact pre-rounding value from k + ½, and ORT's float error bound."""
    x = g.tensors[n.inputs[0]]
    yq = g.tensors[n.outputs[0]].quant
    xi = env[x.name].astype(np.int64) - int(np.ravel(x.quant.zero_point)[0])
    sx, sy = float(np.ravel(x.quant.scale)[0]), float(np.ravel(yq.scale)[0])
    if n.op in ("QConv", "QGemm"):
        w, b = g.tensors[n.inputs[1]], g.tensors[n.inputs[2]]
        sw = np.broadcast_to(np.asarray(w.quant.scale, np.float64), (b.data.size,))
        if n.op == "QConv":
            a = n.attrs
            args = (a["strides"], a["pads"], a["dilations"], a["group"])
            acc = conv2d_int(xi, w.data, *args) + b.data.reshape(1, -1, 1, 1)
            mag = conv2d_int(np.abs(xi), np.abs(w.data.astype(np.int64)), *args) + np.abs(b.data).reshape(1, -1, 1, 1)
            unit = (sx * sw / sy).reshape(1, -1, 1, 1)
            k = int(np.prod(w.shape[1:]))
        else:
            acc = xi @ w.data.astype(np.int64) + b.data.reshape(1, -1)
            mag = np.abs(xi) @ np.abs(w.data.astype(np.int64)) + np.abs(b.data).reshape(1, -1)
            unit = (sx * sw / sy).reshape(1, -1)
            k = w.shape[0]
    else:
        if n.op == "QGlobalAveragePool":
            acc, mag = xi.sum(axis=(2, 3), keepdims=True), np.abs(xi).sum(axis=(2, 3), keepdims=True)
            counts = np.full((1, 1), x.shape[2] * x.shape[3])
        else:
            a = n.attrs
            win = lambda v: windows(v, a["kernel_shape"], a["strides"], a["pads"], ceil_mode=bool(a["ceil_mode"]))  # noqa: E731
            acc, mag = win(xi).sum(axis=(4, 5)), win(np.abs(xi)).sum(axis=(4, 5))
            counts = pool_counts(x.shape, a)
        unit = sx / counts[None, None] / sy
        k = int(counts.max())
    t = acc * unit
    dist = np.abs(t - (np.floor(t) + 0.5))
    bound = (k + 3) * EPS * mag * unit + 4 * EPS * (np.abs(t) + 1)
    return dist, bound


def compare(model: onnx.ModelProto, graph: Graph, feeds: dict[str, np.ndarray]) -> Comparison:
    ort = ort_reference(with_all_outputs(model), feeds)
    ours = interpret(graph, feeds)
    cmp = Comparison()
    for name in graph.outputs:
        a, b = ours[name], ort[name]
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        cmp.outputs[name] = (int((a != b).sum()), a.size, float(diff.max(initial=0)))
    env = {k: t.data for k, t in graph.tensors.items() if t.is_const}
    env.update({k: np.asarray(v) for k, v in feeds.items()})
    for n in graph.nodes:
        out = run_node(graph, n, env)
        name = n.outputs[0]
        if name in ort and out.dtype == np.int8:
            ref = ort[name]
            if ref.dtype == np.uint8:  # the IR holds uint8 tensors shifted to int8
                ref = (ref.astype(np.int16) - 128).astype(np.int8)
            cmp.tensors += 1
            cmp.elements += out.size
            bad = out != ref
            if bad.any():
                d = np.abs(out.astype(np.int16) - ref.astype(np.int16))
                explained = False
                if n.op in FLOAT_PATH and d.max() == 1:
                    dist, bound = _tie_distance_and_bound(graph, n, env)
                    explained = bool(np.all(dist[bad] <= bound[bad]))
                if explained:
                    cmp.flips.append((n.name, int(bad.sum())))
                else:
                    cmp.unexplained.append(f"node '{n.name}' ({n.op}): {int(bad.sum())} of {out.size} values differ "
                                           f"from ONNX Runtime (max {int(d.max())})")
            out = ref  # downstream nodes see ORT's values: each difference is counted where it arises
        env[name] = out
    return cmp
