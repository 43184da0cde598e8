"""QAdd on the SIMD (when not fused into a convolution): both operands are loaded into VMEM, dequantized
to binary32, added, and quantized to the output's parameters."""

from __future__ import annotations

from genesys.compiler.backend import quant
from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.base import BackendError, Epilogue, SimdCodelet, Step, scalar


def _qp(graph, t, node):
    q = graph.tensors[t].quant
    return int(scalar(q.zero_point, f"zero point of '{t}'", node)), scalar(q.scale, f"scale of '{t}'", node)


@register("QAdd")
def lower_add(graph, node, ctx) -> SimdCodelet:
    return lower_binary(graph, node, "ADD")


def lower_binary(graph, node, func: str) -> SimdCodelet:
    """Elementwise a (func) b on dequantized operands, quantized to the output."""
    a, b = node.inputs
    y = node.outputs[0]
    sa_, sb_ = graph.tensors[a].shape, graph.tensors[b].shape
    if tuple(sa_) != tuple(sb_):
        raise BackendError(node, f"operand shapes {list(sa_)} and {list(sb_)} differ; broadcasting is not lowered",
                           "give both operands the same shape")
    za, sa = _qp(graph, a, node)
    zb, sb = _qp(graph, b, node)
    zy, sy = _qp(graph, y, node)
    steps = quant.dequantize("x", "x", za, sa)
    if func == "ADD":  # x + f32((r - zb) * sb) in one MACC
        steps += quant.centred("r", "r", zb) + quant.add_dequantized("x", "r", sb)
    else:
        steps += quant.dequantize("r", "r", zb, sb) + [Step(func, "x", "x", "r")]
    steps += quant.quantize_tail("x", sy, zy, int(node.attrs["act_min"]), int(node.attrs["act_max"]))
    return SimdCodelet(layer=node.name, kind="eltwise", nodes=[node.name], inputs=[a, b], y=y,
                       epilogue=Epilogue(steps, residual=b))
