"""Reshape: same data in NCHW order, new logical shape. When the DRAM layouts coincide (a [1, C, 1, 1]
tensor and its [1, C] flattening) the output aliases the input and no code is emitted; otherwise the SIMD
gathers the elements in NCHW order (one byte a request) and scatters them in the output's NCHW order."""

from __future__ import annotations

import numpy as np

from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.base import BackendError, SimdCodelet


@register("Reshape")
def lower_reshape(graph, node, ctx) -> SimdCodelet:
    x, y = node.inputs[0], node.outputs[0]
    X, Y = graph.tensors[x], graph.tensors[y]
    if X.size != Y.size:
        raise BackendError(node, f"{X.size} elements reshaped to {list(Y.shape)}")
    qx, qy = X.quant, Y.quant
    if qx is not None and qy is not None and (np.any(np.asarray(qx.scale) != np.asarray(qy.scale))
                                               or np.any(np.asarray(qx.zero_point) != np.asarray(qy.zero_point))):
        raise BackendError(node, "input and output quantization differ")
    return SimdCodelet(layer=node.name, kind="reshape", nodes=[node.name], inputs=[x], y=y)
