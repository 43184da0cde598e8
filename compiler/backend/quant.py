"""The arithmetic of every requantization, as SIMD steps. One home for the formulas, which are those of
`compiler.reference.interpret` (and ONNX Runtime's kernels), operation for operation in binary32:

- requantize an int32 accumulator (QConv, QGemm; and an average pool's integer window sum S with the
  multiplier f32(f32(sx / n) / sy) of its window size n):
      y = clamp(rne(f32(acc) * m[c]), act_min - zp, act_max - zp) + zp,   m[c] = f32(f32(sx * sw[c]) / sy)
  (clamping before or after rounding is the same because the bounds are integers);
- dequantize an int8 operand: f32(q - zp) * s (the subtraction is exact in binary32);
- quantize a binary32 value: clamp(rne(v / s), act_min - zp, act_max - zp) + zp.

`rne` is round-half-to-even: FP32_TO_FXP32, or, to stay in binary32, adding and subtracting 1.5 * 2**23
(exact for |v| < 2**22, which the clamp guarantees).
"""

from __future__ import annotations

import numpy as np

from genesys.compiler.backend.codelets.base import Step

MAGIC = float(np.float32(1.5 * 2**23))


def multiplier(sx: float, sw: np.ndarray, sy: float) -> np.ndarray:
    """The per-channel requantization multiplier, rounded as the reference rounds it."""
    sw = np.atleast_1d(np.asarray(sw, dtype=np.float32))
    return (np.float32(sx) * sw / np.float32(sy)).astype(np.float32)


def node_multiplier(node, sx: float, sw: np.ndarray, sy: float) -> np.ndarray:
    """The node's own multiplier attribute (the front end's), else computed the same way."""
    if "multiplier" in node.attrs:
        m = np.asarray(node.attrs["multiplier"], dtype=np.float32).reshape(-1)
        return np.broadcast_to(m, np.shape(sw)).astype(np.float32) if m.size == 1 else m
    return multiplier(sx, sw, sy)


def pool_multiplier(sx: float, n, sy: float) -> np.ndarray:
    """f32(f32(sx / n) / sy): an average pool's requantization factor for a window of n values."""
    return ((np.float32(sx) / np.asarray(n, dtype=np.float32)) / np.float32(sy)).astype(np.float32)


def f32(v) -> float:
    return float(np.float32(v))


def requant_acc(zp: int, act_min: int, act_max: int, src: str = "acc", mult="ch") -> list[Step]:
    """An int32 row (the OBUF accumulator by default) -> int8 in x; `mult` names the multiplier operand: the
    per-channel vector "ch", a per-pixel vector "pv", or a constant ("f", m)."""
    return [
        Step("FXP32_TO_FP32", "x", src),
        Step("MUL", "x", "x", mult),
        *quantize_tail("x", None, zp, act_min, act_max),
    ]


def quantize_tail(v: str, scale: float | None, zp: int, act_min: int, act_max: int) -> list[Step]:
    """Binary32 v -> clamp(rne(v / scale) + zp) as an integer in v (scale None: already divided)."""
    steps = []
    if scale is not None:
        steps.append(Step("DIV", v, v, ("f", f32(scale))))
    steps += [
        Step("MAX", v, v, ("f", float(act_min - zp))),
        Step("MIN", v, v, ("f", float(act_max - zp))),
        Step("FP32_TO_FXP32", v, v),
    ]
    if zp:
        steps.append(Step("ADD", v, v, ("i", int(zp)), fp=False))
    return steps


def exact_round(v: str) -> list[Step]:
    """v := rne(v) in binary32 (v already clamped to a small range)."""
    return [Step("ADD", v, v, ("f", MAGIC)), Step("SUB", v, v, ("f", MAGIC))]


def dequantize(dst: str, src: str, zp: int, scale: float) -> list[Step]:
    """dst := f32(src - zp) * scale, src an int8 row (loaded sign-extended)."""
    return centred(dst, src, zp) + [Step("MUL", dst, dst, ("f", f32(scale)))]


def centred(dst: str, src: str, zp: int) -> list[Step]:
    """dst := f32(src - zp), exact (small integers)."""
    steps = [Step("FXP32_TO_FP32", dst, src)]
    if zp:
        steps.append(Step("SUB", dst, dst, ("f", float(zp))))
    return steps


def add_dequantized(acc: str, src: str, scale: float) -> list[Step]:
    """acc := acc + f32(src * scale) with src already centred: one MACC (its product is rounded to binary32
    before the sum, docs/isa.md, Semantics §4), i.e. exactly the MUL and ADD it replaces."""
    return [Step("MACC", acc, src, ("f", f32(scale)))]


def requant_acc_dequantized(zp: int, act_min: int, act_max: int, scale: float) -> list[Step]:
    """acc -> the binary32 value the int8 result stands for, f32(q - zp) * scale, without storing q:
    used when a conv's output feeds a fused residual add."""
    return [
        Step("FXP32_TO_FP32", "x", "acc"),
        Step("MUL", "x", "x", "ch"),
        Step("MAX", "x", "x", ("f", float(act_min - zp))),
        Step("MIN", "x", "x", ("f", float(act_max - zp))),
        *exact_round("x"),
        Step("MUL", "x", "x", ("f", f32(scale))),
    ]
