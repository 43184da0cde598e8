"""QConcat along channels: each input is copied (requantized when its parameters differ from the
output's) into its channel range of the output. Loads and stores use one request per pixel of the
input's real channels, so the data keeps its dense order through VMEM whatever the channel offsets."""

from __future__ import annotations

from genesys.compiler.backend import quant
from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.add import _qp
from genesys.compiler.backend.codelets.base import BackendError, Epilogue, SimdCodelet


@register("QConcat")
def lower_concat(graph, node, ctx) -> SimdCodelet:
    y = node.outputs[0]
    ys = graph.tensors[y].shape
    axis = int(node.attrs["axis"]) % len(ys)
    if axis != 1:
        raise BackendError(node, f"concatenation along axis {axis}: only the channel axis (1) is lowered")
    zy, sy = _qp(graph, y, node)
    parts, off = [], 0
    for t in node.inputs:
        zt, st = _qp(graph, t, node)
        steps = [] if (zt, st) == (zy, sy) else \
            quant.dequantize("x", "x", zt, st) + quant.quantize_tail("x", sy, zy, -128, 127)
        c = graph.tensors[t].shape[1]
        parts.append({"tensor": t, "offset": off, "channels": c, "epilogue": Epilogue(steps)})
        off += c
    return SimdCodelet(layer=node.name, kind="concat", nodes=[node.name], inputs=list(node.inputs), y=y,
                       params={"parts": parts})
