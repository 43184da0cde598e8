"""QGemm: x [1, K] x w [K, N] + b, requantized. A 1x1 convolution of a 1x1 image with K input channels:
the same nest, with the output-channel blocks innermost so that consecutive accumulations of one OBUF row
are far enough apart for the array's pipeline (see tiling.py)."""

from __future__ import annotations

import numpy as np

from genesys.compiler.backend import quant
from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.base import ArrayCodelet, BackendError, Epilogue, array_quant
from genesys.compiler.backend.codelets.conv import to_blocks
from genesys.compiler.backend.layout import ceil_to


@register("QGemm")
def lower_gemm(graph, node, ctx) -> ArrayCodelet:
    x, w, b = node.inputs
    y = node.outputs[0]
    X, W, B, Y = (graph.tensors[t] for t in (x, w, b, y))
    if not W.is_const or not B.is_const:
        raise BackendError(node, "the weight matrix and bias must be constants (a product of two activations "
                                 "is not lowered)")
    if len(X.shape) != 2 or X.shape[0] != 1 or W.data.ndim != 2:
        raise BackendError(node, f"input {list(X.shape)} x weight {list(W.data.shape)}: only [1, K] x [K, N] "
                                 "is lowered")
    k, nout = W.data.shape
    if X.shape[1] != k:
        raise BackendError(node, f"input has {X.shape[1]} features, the weight expects {k}")
    arch = ctx.arch
    wd = np.ascontiguousarray(W.data.astype(np.int8).T)  # [N, K]
    zx, sx, sy, zy, sw, bias = array_quant(node, X, W, B, Y, wd)
    a = ctx.A
    ocp = ceil_to(nout, a)
    mult = np.zeros(ocp, dtype=np.float32)
    mult[:nout] = quant.node_multiplier(node, sx, sw, sy)
    bias_p = np.zeros(ocp, dtype=np.int32)
    bias_p[:nout] = bias
    blocks = to_blocks(wd.reshape(nout, k, 1, 1), arch.ARRAY_N, arch.ARRAY_M, a)
    ocb, icb = blocks.shape[:2]
    epi = Epilogue(quant.requant_acc(zy, int(node.attrs["act_min"]), int(node.attrs["act_max"])),
                   channel_vector=mult)
    return ArrayCodelet(
        layer=node.name, op="gemm", nodes=[node.name], x=x, y=y, IH=1, IW=1, OH=1, OW=1, KH=1, KW=1,
        SH=1, SW=1, DH=1, DW=1, pads=(0, 0, 0, 0), ICB=icb, OCB=ocb, P=ocb, S=0, R=icb, wblocks=blocks,
        bias=bias_p, epilogue=epi, macs=k * nout, attrs={"in_features": k, "out_features": nout})
