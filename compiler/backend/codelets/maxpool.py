"""MaxPool on the SIMD: a window reduction with MAX over int8 values (see pool.py); the input's border
holds -128."""

from __future__ import annotations

from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.base import SimdCodelet
from genesys.compiler.backend.codelets.pool import _window_params


@register("MaxPool")
def lower_maxpool(graph, node, ctx) -> SimdCodelet:
    p = _window_params(graph, node, False)
    p.update(reduce="MAX", init=-128, fp=False, pad_value=-128, pre=[], post=[], pixel_vector=None)
    return SimdCodelet(layer=node.name, kind="pool", nodes=[node.name], inputs=[node.inputs[0]],
                       y=node.outputs[0], params=p)
