"""The loop-nest descriptions codelets produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from genesys.errors import GenesysError


class BackendError(GenesysError):
    """A node the back end cannot lower: names the node, its op and the reason."""

    def __init__(self, node, reason: str, hint: str = ""):
        name = getattr(node, "name", node)
        op = getattr(node, "op", "")
        msg = f"node '{name}' ({op}): {reason}" if op else f"layer '{name}': {reason}"
        super().__init__(msg + (f"; {hint}" if hint else ""))


# An operand of an elementwise SIMD step:
#   "acc"  the OBUF accumulator row of the tile (read-only)
#   "x"    the working row (VMEM1)
#   "r"    the second operand's row (VMEM2): a residual / the other input
#   "ch"   the per-channel vector (VMEM2, one row per channel block): requantization scales
#   ("f", v) a binary32 constant, ("i", v) an integer constant (IMM)
Operand = Any


@dataclass(frozen=True)
class Step:
    """One SIMD instruction applied to every row of a tile: dst = func(src1, src2)."""

    func: str  # an ALU / CALCULUS / DATATYPE_CAST mnemonic
    dst: str
    src1: Operand
    src2: Operand = None
    fp: bool = True  # DTYPE_CFG 32FP (True) or 32FXP (False)


@dataclass
class Epilogue:
    """What the SIMD does to every output row: `steps` in order, then the row `x` is stored as int8."""

    steps: list[Step]
    channel_vector: np.ndarray | None = None  # binary32 per output channel, for "ch" operands
    residual: str | None = None  # tensor loaded into "r" (same layout and tile as the output)

    @property
    def n_instr(self) -> int:
        return len(self.steps)


@dataclass
class ArrayCodelet:
    """A convolution-shaped nest on the systolic array (conv, depthwise/grouped conv, gemm).

    Blocks: input channels in blocks of N (array rows), output channels in blocks of M (columns). For
    output block `ocb` the reduction runs over input blocks `lo(ocb) + j`, j < R, and kernel taps, where
    lo(ocb) = (ocb // P) * S (dense: P = OCB, S = 0, R = ICB; depthwise: P = 1, S = R = 1 when N = M).
    `wblocks[ocb, j, kh, kw]` is the N x M int8 block for that step ([i][j] = weight of input i, output j).
    """

    layer: str
    op: str  # "conv" | "gemm"
    nodes: list[str]
    x: str
    y: str
    IH: int
    IW: int
    OH: int
    OW: int
    KH: int
    KW: int
    SH: int
    SW: int
    DH: int
    DW: int
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    ICB: int  # input-channel blocks the input tensor holds (per pixel, or per packed output pixel)
    OCB: int
    P: int
    S: int
    R: int
    wblocks: np.ndarray  # [OCB, R, KH, KW, N, M] int8
    bias: np.ndarray  # int32 [OCB * M]
    epilogue: Epilogue
    macs: int  # real multiply-accumulates of the layer (unpadded)
    packed: dict | None = None  # input gathered per output pixel (see conv.py: small-channel stem)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def fused(self) -> list[str]:
        return self.nodes[1:]


@dataclass
class SimdCodelet:
    """A nest on the SIMD unit; `kind` selects the emitter in codegen (see codelets/pool.py etc.)."""

    layer: str
    kind: str  # "eltwise" | "pool" | "copy" | "gather"
    nodes: list[str]
    inputs: list[str]
    y: str
    params: dict[str, Any] = field(default_factory=dict)
    epilogue: Epilogue | None = None
    macs: int = 0

    @property
    def fused(self) -> list[str]:
        return self.nodes[1:]


def scalar(a, what: str, node) -> float:
    """The one value of a per-tensor quantization parameter (a per-channel one here is an error)."""
    a = np.asarray(a)
    if a.size != 1:
        raise BackendError(node, f"{what} must be per-tensor (got {a.size} values)")
    return a.reshape(-1)[0].item()


class ArrayQuant(NamedTuple):
    """Quantization of an array layer (conv, gemm): what the requantization epilogue needs."""

    zx: int  # input zero point
    sx: float  # input scale
    sy: float  # output scale
    zy: int  # output zero point
    sw: np.ndarray  # per-output-channel weight scales, float32 [OC]
    bias: np.ndarray  # int64 [OC]: the bias with the input zero point folded in


def array_quant(node, X, W, B, Y, wd: np.ndarray) -> ArrayQuant:
    """Quantization parameters of a conv/gemm whose dense int8 weights are ``wd`` ([OC, ...]).

    The array multiplies raw int8 inputs, so the input zero point moves into the bias:
    Σ (x − zx)·w + b = Σ x·w + (b − zx·Σ w).
    """
    oc = wd.shape[0]
    wq = W.quant
    if wq is not None and np.any(np.asarray(wq.zero_point) != 0):
        raise BackendError(node, "weight zero points must be 0 (symmetric weights)")
    zx = int(scalar(X.quant.zero_point, "input zero point", node))
    sx = scalar(X.quant.scale, "input scale", node)
    sy = scalar(Y.quant.scale, "output scale", node)
    zy = int(scalar(Y.quant.zero_point, "output zero point", node))
    sw = np.broadcast_to(np.asarray(wq.scale if wq is not None else 1.0, dtype=np.float32).reshape(-1), (oc,))
    bias = B.data.astype(np.int64).reshape(-1) - zx * wd.reshape(oc, -1).astype(np.int64).sum(axis=1)
    if np.any(np.abs(bias) >= 2**31):
        raise BackendError(node, "the bias with the input zero point folded in does not fit int32")
    return ArrayQuant(zx, sx, sy, zy, sw, bias)
