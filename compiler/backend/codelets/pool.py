"""Window reductions on the SIMD (shared by maxpool.py, averagepool.py, globalaveragepool.py).

An input tile (whole bordered rows, so windows hanging over the edge read the border) is loaded into
VMEM2; the output rows in VMEM1 are initialised (MOVE from an immediate) and reduced over the kernel taps
with MAX or ADD in a five-deep loop (output row, column, channel block, kernel row, kernel column), then
requantized for an average (an integer sum, as compiler.reference.interpret defines it). The border holds
-128 for a max pool (never the maximum of a window that has a real element) and the zero point for an
average (a padded tap adds zero to the sum of x - zx).
"""

from __future__ import annotations

import numpy as np

from genesys.compiler.backend import quant
from genesys.compiler.backend.codelets.add import _qp
from genesys.compiler.backend.codelets.base import BackendError, SimdCodelet, Step
from genesys.compiler.reference import pool_counts


def _window_params(graph, node, global_: bool) -> dict:
    x, y = node.inputs[0], node.outputs[0]
    xs, ys = graph.tensors[x].shape, graph.tensors[y].shape
    if len(xs) != 4 or xs[0] != 1:
        raise BackendError(node, f"input shape {list(xs)}: only batch-1 2-D pooling is lowered")
    _, c, ih, iw = xs
    if global_:
        return dict(C=c, IH=ih, IW=iw, OH=1, OW=1, KH=ih, KW=iw, SH=1, SW=1, DH=1, DW=1, pads=(0, 0, 0, 0))
    a = node.attrs
    kh, kw = a["kernel_shape"]
    sh, sw = a["strides"]
    dh, dw = a.get("dilations", [1, 1])
    pads = tuple(a["pads"])
    oh, ow = ys[2], ys[3]
    return dict(C=c, IH=ih, IW=iw, OH=oh, OW=ow, KH=kh, KW=kw, SH=sh, SW=sw, DH=dh, DW=dw, pads=pads)


def average(graph, node, glob: bool) -> SimdCodelet:
    """Integer window sum S = sum(x) - KH*KW*zx (border taps hold zx, so they add nothing), requantized with
    the multiplier of the window's divisor: one constant, or one value per output pixel when the divisor
    varies (padding excluded from the count, ceil_mode windows)."""
    p = _window_params(graph, node, glob)
    x, y = node.inputs[0], node.outputs[0]
    zx, sx = _qp(graph, x, node)
    zy, sy = _qp(graph, y, node)
    if glob:
        counts = np.full((1, 1), p["IH"] * p["IW"], dtype=np.int64)
    else:
        counts = pool_counts(graph.tensors[x].shape, node.attrs)
        if counts.shape != (p["OH"], p["OW"]):
            raise BackendError(node, f"window divisors {counts.shape} do not match the output {p['OH']}x{p['OW']}")
    mult = quant.pool_multiplier(sx, counts, sy)
    uniform = bool(np.all(mult == mult.reshape(-1)[0]))
    taps = p["KH"] * p["KW"]
    post = [Step("SUB", "x", "x", ("i", taps * zx), fp=False)] if zx else []
    post += quant.requant_acc(zy, -128, 127, src="x", mult=("f", float(mult.reshape(-1)[0])) if uniform else "pv")
    p.update(reduce="ADD", init=0, fp=False, pad_value=zx, pre=[], post=post,
             pixel_vector=None if uniform else mult.reshape(-1))
    return SimdCodelet(layer=node.name, kind="pool", nodes=[node.name], inputs=[x], y=y, params=p)
