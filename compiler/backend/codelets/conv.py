"""QConv (stride, padding, dilation, groups incl. depthwise), optionally with a fused residual QAdd.

The array computes acc = sum (x - zx) * w + b as sum x * w + (b - zx * sum w): the zero point is folded
into the bias and the input's border holds zx, so padded taps contribute nothing. The SIMD epilogue
requantizes each output tile (see backend/quant.py) and, when an Add is fused, adds the dequantized
residual and quantizes the sum.

Small-channel stem (`packed`): when the input is a graph input with fewer channels than a block (an RGB
image), the host lays it out unpadded and each output pixel's IBUF rows are gathered by the DMA: for each
of KHp kernel rows, X contiguous bytes (KW pixels x C channels and a few unused bytes, multiplied by zero
weights). The nest then is a 1x1 convolution over K' = KHp * X packed channels: 11 blocks instead of 49
for a 7x7x3 kernel on a 16-row array.
"""

from __future__ import annotations

import numpy as np

from genesys.compiler.backend import quant
from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.base import ArrayCodelet, BackendError, Epilogue, Step, array_quant, scalar
from genesys.compiler.backend.layout import cdiv, ceil_to


def conv_geometry(node, x_shape, w_shape):
    a = node.attrs
    _, ic, ih, iw = x_shape
    oc, icg, kh, kw = w_shape
    sh, sw = a["strides"]
    dh, dw = a["dilations"]
    pt, pl, pb, pr = a["pads"]
    oh = (ih + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (iw + pl + pr - dw * (kw - 1) - 1) // sw + 1
    return dict(IC=ic, IH=ih, IW=iw, OC=oc, ICg=icg, KH=kh, KW=kw, SH=sh, SW=sw, DH=dh, DW=dw,
                pads=(pt, pl, pb, pr), OH=oh, OW=ow)


def block_map(dense_nonzero: np.ndarray, ocb_n: int, icb_n: int) -> tuple[int, int, int]:
    """(P, S, R) with lo(ocb) = (ocb // P) * S covering every non-zero block of the [OCB, ICB] mask."""
    lo = np.zeros(ocb_n, dtype=np.int64)
    r = 1
    for o in range(ocb_n):
        nz = np.flatnonzero(dense_nonzero[o])
        if nz.size:
            lo[o], r = nz[0], max(r, int(nz[-1] - nz[0] + 1))
    if r >= icb_n or not lo.any():
        return ocb_n, 0, icb_n
    # P must divide OCB so every oc tile holds whole groups of P blocks
    for p in range(1, ocb_n + 1):
        s = int(lo[p]) if p < ocb_n else 0
        if s and ocb_n % p == 0 and all(lo[o] == (o // p) * s and lo[o] + r <= icb_n for o in range(ocb_n)) \
                and ((ocb_n - 1) // p) * s + r <= icb_n:
            return p, s, r
    return ocb_n, 0, icb_n


def dense_weights(w: np.ndarray, ic: int, groups: int) -> np.ndarray:
    """[OC, IC, KH, KW] int8 with the group structure expanded (zeros between groups)."""
    oc, icg = w.shape[:2]
    if groups == 1:
        return w
    d = np.zeros((oc, ic, *w.shape[2:]), dtype=np.int8)
    cpg_out = oc // groups
    for o in range(oc):
        g = o // cpg_out
        d[o, g * icg:(g + 1) * icg] = w[o]
    return d


def to_blocks(wd: np.ndarray, n: int, m: int, a: int) -> np.ndarray:
    """[OC, IC, KH, KW] -> [OCB, ICB, KH, KW, N, M] with channels padded to multiples of A."""
    oc, ic, kh, kw = wd.shape
    ocp, icp = ceil_to(oc, a), ceil_to(ic, a)
    full = np.zeros((ocp, icp, kh, kw), dtype=np.int8)
    full[:oc, :ic] = wd
    b = full.reshape(ocp // m, m, icp // n, n, kh, kw)
    return np.ascontiguousarray(b.transpose(0, 2, 4, 5, 3, 1))


def pack_geometry(kh: int, kw: int, c: int, n: int) -> tuple[int, int]:
    """(KHp, X): per output pixel KHp requests of X bytes, KHp * X a multiple of N, KHp * X smallest."""
    best = None
    for khp in range(kh, kh + n + 1):
        for x in range(kw * c, kw * c + n + 1):
            if (khp * x) % n == 0:
                key = (khp * x, x)
                if best is None or key < best[0]:
                    best = (key, khp, x)
                break
    return best[1], best[2]


@register("QConv")
def lower_conv(graph, node, ctx) -> ArrayCodelet:
    x, w, b = node.inputs
    y = node.outputs[0]
    X, W, B, Y = (graph.tensors[t] for t in (x, w, b, y))
    if not W.is_const or not B.is_const:
        raise BackendError(node, "weights and bias must be constants")
    if len(X.shape) != 4 or X.shape[0] != 1:
        raise BackendError(node, f"input shape {list(X.shape)}: only batch-1 2-D convolutions are lowered")
    geo = conv_geometry(node, X.shape, W.data.shape)
    groups = int(node.attrs["group"])
    arch = ctx.arch
    n, m, a = arch.ARRAY_N, arch.ARRAY_M, ctx.A
    oc, ic = geo["OC"], geo["IC"]
    wd = dense_weights(W.data.astype(np.int8), ic, groups)
    zx, sx, sy, zy, sw, bias = array_quant(node, X, W, B, Y, wd)
    ocp = ceil_to(oc, a)
    mult = np.zeros(ocp, dtype=np.float32)
    mult[:oc] = quant.node_multiplier(node, sx, sw, sy)
    bias_p = np.zeros(ocp, dtype=np.int32)
    bias_p[:oc] = bias
    lo_act, hi_act = int(node.attrs["act_min"]), int(node.attrs["act_max"])
    epi = conv_epilogue(graph, node, ctx, zy, lo_act, hi_act, sy, mult)
    macs = oc * geo["ICg"] * geo["KH"] * geo["KW"] * geo["OH"] * geo["OW"]

    packed = None
    if ctx.packs_input(node, geo, groups):
        khp, xb = pack_geometry(geo["KH"], geo["KW"], ic, n)
        kp = khp * xb
        wk = np.zeros((oc, kp), dtype=np.int8)
        for kh in range(geo["KH"]):
            for kw in range(geo["KW"]):
                wk[:, kh * xb + kw * ic: kh * xb + kw * ic + ic] = wd[:, :, kh, kw]
        blocks = to_blocks(wk.reshape(oc, kp, 1, 1), n, m, n)
        ocb = ocp // m
        wblocks = np.zeros((ocb, kp // n, 1, 1, n, m), dtype=np.int8)
        wblocks[: blocks.shape[0]] = blocks[:ocb]
        packed = {"KHp": khp, "X": xb, "C": ic}
        P, S, R, icb = ocb, 0, kp // n, kp // n
        kh_, kw_, sh_, sw_, dh_, dw_ = 1, 1, 1, 1, 1, 1
    else:
        blocks = to_blocks(wd, n, m, a)
        ocb, icb = blocks.shape[:2]
        nonzero = np.zeros((ocb, icb), dtype=bool)
        cpg_out = oc // groups
        for o in range(oc):  # structural non-zeros (from the group structure, not the values)
            g = o // cpg_out
            nonzero[o // m, (g * geo["ICg"]) // n: cdiv((g + 1) * geo["ICg"], n)] = True
        P, S, R = block_map(nonzero, ocb, icb)
        idx = (np.arange(ocb) // P * S)[:, None] + np.arange(R)[None, :]
        wblocks = blocks[np.arange(ocb)[:, None], idx]
        kh_, kw_, sh_, sw_, dh_, dw_ = geo["KH"], geo["KW"], geo["SH"], geo["SW"], geo["DH"], geo["DW"]
    return ArrayCodelet(
        layer=node.name, op="conv", nodes=[node.name] + ([ctx.fused_add[node.name].name]
                                                         if node.name in ctx.fused_add else []),
        x=x, y=ctx.final_output(node), IH=geo["IH"], IW=geo["IW"], OH=geo["OH"], OW=geo["OW"],
        KH=kh_, KW=kw_, SH=sh_, SW=sw_, DH=dh_, DW=dw_, pads=geo["pads"], ICB=icb, OCB=ocb, P=P, S=S, R=R,
        wblocks=wblocks, bias=bias_p, epilogue=epi, macs=macs, packed=packed,
        attrs={"kernel": [geo["KH"], geo["KW"]], "strides": [geo["SH"], geo["SW"]], "pads": list(geo["pads"]),
               "dilations": [geo["DH"], geo["DW"]], "group": groups, "in_channels": ic, "out_channels": oc,
               "out_hw": [geo["OH"], geo["OW"]]})


def conv_epilogue(graph, node, ctx, zy, lo, hi, sy, mult) -> Epilogue:
    """Requantization, or requantization + fused residual add (the conv's int8 output never stored)."""
    add = ctx.fused_add.get(node.name)
    if add is None:
        return Epilogue(quant.requant_acc(zy, lo, hi), channel_vector=mult)
    y1 = node.outputs[0]
    other = add.inputs[1] if add.inputs[0] == y1 else add.inputs[0]
    R, Z = graph.tensors[other], graph.tensors[add.outputs[0]]
    zr = int(scalar(R.quant.zero_point, "residual zero point", add))
    sr = scalar(R.quant.scale, "residual scale", add)
    zz = int(scalar(Z.quant.zero_point, "output zero point", add))
    sz = scalar(Z.quant.scale, "output scale", add)
    steps: list[Step] = quant.requant_acc_dequantized(zy, lo, hi, sy)
    steps += quant.centred("r", "r", zr) + quant.add_dequantized("x", "r", sr)  # x + f32((r - zr) * sr)
    steps += quant.quantize_tail("x", sz, zz, int(add.attrs["act_min"]), int(add.attrs["act_max"]))
    return Epilogue(steps, channel_vector=mult, residual=other)
