"""QClamp: a standalone Relu/Clip in the quantized domain. With the same quantization in and out it is an
integer MAX/MIN; otherwise the input is dequantized and quantized with the clamp bounds."""

from __future__ import annotations

from genesys.compiler.backend import quant
from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.add import _qp
from genesys.compiler.backend.codelets.base import Epilogue, SimdCodelet, Step


@register("QClamp")
def lower_clamp(graph, node, ctx) -> SimdCodelet:
    x, y = node.inputs[0], node.outputs[0]
    zx, sx = _qp(graph, x, node)
    zy, sy = _qp(graph, y, node)
    lo, hi = int(node.attrs["act_min"]), int(node.attrs["act_max"])
    if (zx, sx) == (zy, sy):
        steps = [Step("MAX", "x", "x", ("i", lo), fp=False), Step("MIN", "x", "x", ("i", hi), fp=False)]
    else:
        steps = quant.dequantize("x", "x", zx, sx) + quant.quantize_tail("x", sy, zy, lo, hi)
    return SimdCodelet(layer=node.name, kind="eltwise", nodes=[node.name], inputs=[x], y=y,
                       epilogue=Epilogue(steps))
