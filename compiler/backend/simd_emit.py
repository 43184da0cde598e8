"""Elementwise SIMD steps -> loop bodies.

A tile's rows are laid out alike in every space they live in (OBUF accumulators, VMEM1 working rows,
VMEM2 residual rows): row = pixel * oc + channel block. A body runs over (pixel, channel block); every
operand position advances by the tile's strides, except a per-channel vector operand ("ch": one row per
channel block, the same for every pixel) and a per-pixel vector ("pv": one row per pixel, the same for every
channel block). One body's instructions share their loop bindings (docs/isa.md, Semantics §4), so steps
are cut into bodies where the arithmetic mode changes (binary32 / integer) or where source 2 switches
between a tile row and a vector.
"""

from __future__ import annotations

from genesys.compiler.backend.asm import SimdGroup, f32_bits
from genesys.compiler.backend.codelets.base import Step

ROW_OPERANDS = ("acc", "x", "r")
# (stride per pixel, stride per channel block) of each kind of source-2 operand, as multiples of
# (oc, 1) for tile rows: a tile row moves with both, the channel vector with the block only, the pixel
# vector with the pixel only.
KIND_STRIDES = {"row": lambda oc: (oc, 1), "ch": lambda oc: (0, 1), "pv": lambda oc: (1, 0)}


def _src2_kind(s: Step) -> str:
    if s.src2 is None or isinstance(s.src2, tuple):
        return "imm"
    return s.src2 if s.src2 in ("ch", "pv") else "row"


def split_bodies(steps: list[Step]) -> list[list[Step]]:
    bodies: list[list[Step]] = []
    for s in steps:
        if bodies:
            cur = bodies[-1]
            kinds = {_src2_kind(x) for x in cur} - {"imm"}
            k = _src2_kind(s)
            if cur[0].fp == s.fp and (k == "imm" or not kinds or k in kinds):
                cur.append(s)
                continue
        bodies.append([s])
    return bodies


def n_bodies(steps: list[Step]) -> int:
    return len(split_bodies(steps))


def emit_steps(g: SimdGroup, steps: list[Step], bases: dict[str, tuple[str, int]], pix: int, oc: int) -> None:
    """Emit `steps` over a tile of pix x oc rows. `bases` maps "acc"/"x"/"r"/"ch"/"pv" to (namespace, base)."""
    if not steps:
        return
    for body in split_bodies(steps):
        g.dtype("32FP" if body[0].fp else "32FXP")
        kinds = {_src2_kind(s) for s in body} - {"imm"}
        kind = kinds.pop() if kinds else "row"
        instrs = [_instr(g, s, bases) for s in body]
        row = KIND_STRIDES["row"](oc)
        src2 = KIND_STRIDES[kind](oc)
        dims = [(pix, row[0], src2[0]), (oc, row[1], src2[1])]
        dims = [d for d in dims if d[0] > 1]
        if len(dims) == 2 and kind == "row":  # tile rows are dense: one loop over them all
            dims = [(pix * oc, 1, 1)]
        loops = []
        for count, rs, s2 in dims:
            r = ("VMEM1", g.it("VMEM1", 0, rs))
            loops.append((count, r, r, ("VMEM1", g.it("VMEM1", 0, s2))))
        g.body(loops, instrs)


def _operand(g: SimdGroup, op, bases) -> str:
    if isinstance(op, tuple):
        kind, v = op
        k = g.imm(f32_bits(v) if kind == "f" else int(v))
        return f"IMM, {k}"
    ns, base = bases[op]
    return f"{ns}, {g.it(ns, base, 0)}"


def _instr(g: SimdGroup, s: Step, bases) -> str:
    d = _operand(g, s.dst, bases)
    a = _operand(g, s.src1, bases)
    b = _operand(g, s.src2, bases) if s.src2 is not None else "IMM, 0"
    return f"{s.func} {d}, {a}, {b}"
