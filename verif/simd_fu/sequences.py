"""Stimulus for the SIMD function unit.

Operands mix every class (binary32 zero/subnormal/normal/inf/NaN with both signs, quiet and signalling
NaNs, +-max, +-min normal; integers 0, +-1, INT32_MIN/MAX, powers of two, random), related pairs (b close
to a, b = -a: cancellation), exact rounding ties (half an ulp added or subtracted, products of odd
integers with 25 significant bits, casts whose dropped bits are exactly one half) and shift amounts
0/31/32/33/64/huge (negative ones in the error sequence).

    FuRandomSeq       random functions of both types, FXP formats plain or random (0..32 integer bits), gaps
    FuCompilerSeq     what the compiler emits: 32FP ADD SUB MUL MACC DIV MAX MIN + FXP32<->FP32 casts, 32FXP
                      (32,32,32) ADD MAX MIN MOVE and casts
    FuCornerSeq       every function x boundary src1 x boundary src2 (packed into lanes), both types
    FuErrorSeq        every error cause, interleaved with good ops; back-to-back DIVs
    FuAbortSeq        random ops with aborts (often while a DIV is running)
"""

from __future__ import annotations

import random

from pyuvm import ConfigDB, uvm_sequence

from genesys.sim import functions as fn

from .common import items_default
from .components import FuItem
from .coverage import valid_functions
from .reference import CODE, NOT_IN_HW, OPCODE, Op

M32 = 0xFFFFFFFF
FP_BOUNDARY = (0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000, 0x80800000,
               0x3F800000, 0xBF800000, 0x3F000000, 0xBFC00000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000,
               0x7FC00000, 0xFFC00001, 0x7F800001, 0xFFA00000, 0x4B000000, 0x4AFFFFFF, 0x4F000000, 0xCF000000,
               0x4EFFFFFF, 0x477FF000, 0x33000000, 0x387FC000)
INT_BOUNDARY = (0, 1, M32, 0x80000000, 0x7FFFFFFF, 0x80000001, 0x7FFFFFFE, 2, 0xFFFFFFFE, 0x8000, 0xFFFF8000,
                0x7FFF, 0x80, 0x7F, 0xFFFFFF80, 0x10000, 0x40000000, 0xC0000000)
SHIFTS = (0, 1, 15, 31, 32, 33, 63, 64, 65, 1000, 0x7FFFFFFF)
COMPILER_FP = ("ADD", "SUB", "MUL", "MACC", "DIV", "MAX", "MIN", "FXP32_TO_FP32", "FP32_TO_FXP32")
COMPILER_FXP = ("ADD", "MAX", "MIN", "MOVE", "FXP32_TO_FXP16", "FXP32_TO_FXP8", "FXP32_TO_FXP4", "FXP16_TO_FXP32",
                "FXP8_TO_FXP32", "FXP4_TO_FXP32", "FXP32_TO_FP32", "FP32_TO_FXP32")


class Stimulus:
    """Operand words (uint32) of every class, related pairs and rounding ties."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def fp(self) -> int:
        r = self.rng
        s = r.getrandbits(1) << 31
        c = r.random()
        if c < 0.50:
            return s | (r.randint(1, 254) << 23) | r.getrandbits(23)
        if c < 0.60:
            return s | (r.randint(100, 154) << 23) | r.getrandbits(23)  # near 1: casts, FP16 range
        if c < 0.68:
            return s
        if c < 0.78:
            return s | r.randint(1, 0x7FFFFF)
        if c < 0.84:
            return s | 0x7F800000
        if c < 0.90:
            return s | 0x7F800000 | r.randint(1, 0x7FFFFF)
        return r.choice(FP_BOUNDARY)

    def int(self) -> int:
        r = self.rng
        c = r.random()
        if c < 0.45:
            return r.getrandbits(32)
        if c < 0.60:
            return r.randint(-64, 64) & M32
        if c < 0.75:
            return ((1 << r.randint(0, 31)) * r.choice((1, -1)) + r.choice((0, 0, 1, -1))) & M32
        if c < 0.85:
            return r.getrandbits(r.randint(1, 20)) * r.choice((1, -1)) & M32
        return r.choice(INT_BOUNDARY)

    def shift(self) -> int:
        r = self.rng
        return r.choice(SHIFTS) if r.random() < 0.5 else r.randint(0, 40)

    def related_fp(self, a: int) -> int:
        """b close to a: same or nearby exponent, maybe the opposite sign (cancellation), or a rounding tie."""
        r = self.rng
        e = (a >> 23) & 0xFF
        if e in (0, 0xFF):
            return self.fp()
        c = r.random()
        if c < 0.3 and e > 25:  # a +- half an ulp, a +- 1.5 ulp: exact ties
            return (r.getrandbits(1) << 31) | ((e - 24) << 23 if r.random() < 0.5 else ((e - 23) << 23) | 0x400000)
        if c < 0.6:
            return (a ^ 0x80000000) ^ r.getrandbits(r.randint(0, 23))  # -a, low bits changed
        e2 = min(254, max(1, e + r.randint(-30, 30)))
        return (r.getrandbits(1) << 31) | (e2 << 23) | r.getrandbits(23)

    def product_tie(self) -> tuple[int, int]:
        """Two binary32 words whose exact product has 25 significant bits ending in 1 (a tie)."""
        import struct
        r = self.rng
        p = r.randrange(1 << 12, 1 << 13) | 1
        q = r.randrange(((1 << 24) // p) | 1, (1 << 25) // p) | 1
        if p * q >= 1 << 25 or p * q < 1 << 24:
            q = ((1 << 24) // p) | 1
        sa, sb = r.randint(-60, 40), r.randint(-60, 40)

        def word(v: float) -> int:
            return struct.unpack("<I", struct.pack("<f", v))[0]

        return (word(p * 2.0 ** sa) | (r.getrandbits(1) << 31), word(q * 2.0 ** sb) | (r.getrandbits(1) << 31))

    def cast_tie(self, name: str, f1: int) -> int:
        r = self.rng
        if name == "FP32_TO_FP16":
            e = r.randint(102, 142)
            sh = 13 if e >= 113 else 13 + 113 - e
            return (r.getrandbits(1) << 31) | (e << 23) | ((r.getrandbits(23) >> sh << sh) | (1 << (sh - 1)))
        if name == "FP32_TO_BF16":
            return (r.getrandbits(16) << 16) | 0x8000
        if name == "FXP32_TO_FP32":
            v = ((r.getrandbits(24) | (1 << 24) | 1) << r.randint(0, 6))
            return (v * r.choice((1, -1))) & M32
        if name in ("FP32_TO_FXP32", "FLOOR", "CEIL"):
            import struct
            v = r.randint(-(1 << 22), 1 << 22) + 0.5
            return struct.unpack("<I", struct.pack("<f", v * 2.0 ** -r.randint(0, 8)))[0]
        if name.startswith("FXP32_TO_FXP") and f1:
            k = 1 << max(31 - f1, 0)
            return ((r.randint(-k, k - 1) << f1) | (1 << (f1 - 1))) & M32
        return self.int()


class FuBaseSeq(uvm_sequence):
    default_items = 2000

    def setup(self):
        self.p = ConfigDB().get(None, "", "PARAMS")
        self.rng = random.Random(ConfigDB().get(None, "", "SEED") + hash(type(self).__name__) % 1000)
        self.stim = Stimulus(self.rng)
        self.n_items = items_default(self.default_items)

    def formats(self, plain_prob: float = 0.5) -> tuple[int, int, int]:
        r = self.rng
        if r.random() < plain_prob:
            return 32, 32, 32
        if r.random() < 0.3:
            n = r.randint(0, 32)
            return n, n, n
        return r.randint(0, 32), r.randint(0, 32), r.randint(0, 32)

    def make(self, name: str, fp: bool, fmt=(32, 32, 32), tie_prob: float = 0.15) -> Op:
        """An op of function `name` with operands drawn for it, lane by lane."""
        r, st, lanes = self.rng, self.stim, self.p.LANES
        s1, s2, _ = fn.OPERANDS.get(name, (1, 1, 1))
        a, b, d = [], [], []
        f1 = 0 if fp else 32 - fmt[1]
        for _ in range(lanes):
            how = "f32" if fp else "i32"
            if name in ("FP32_TO_FP16", "FLOOR", "CEIL", "FP32_TO_BF16", "FP32_TO_FXP32"):
                how = "f32"
            elif name in ("FP16_TO_FP32", "BF16_TO_FP32"):
                how = "h16"
            elif name.startswith("FXP") or name in ("NOT", "AND", "OR"):
                how = "i32"
            if how == "f32":
                x = st.fp()
                y = st.related_fp(x) if r.random() < 0.3 else st.fp()
                if name in ("MUL", "MACC", "LEAKY_RELU") and r.random() < tie_prob:
                    x, y = st.product_tie()
                    if name == "LEAKY_RELU":
                        x |= 0x80000000
            elif how == "h16":
                x = r.getrandbits(16) if r.random() < 0.7 else r.choice((0, 0x8000, 0x7C00, 0xFC00, 0x7C01, 0x7E00,
                                                                          0x0001, 0x83FF, 0x0400, 0x7BFF))
                x |= r.choice((0, 0, r.getrandbits(16) << 16))  # the high half is ignored
                y = st.int()
            else:
                x = st.int()
                y = st.int() if r.random() < 0.7 else (x + r.randint(-3, 3)) & M32
            if r.random() < tie_prob and name in ("FP32_TO_FP16", "FP32_TO_BF16", "FXP32_TO_FP32", "FP32_TO_FXP32",
                                                  "FLOOR", "CEIL") or (name.startswith("FXP32_TO_FXP") and
                                                                      r.random() < tie_prob):
                x = st.cast_tie(name, f1)
            if not fp and name in fn.FXP_ONLY:
                y = st.shift() << (32 - fmt[2]) & 0x7FFFFFFF if fmt[2] < 32 else st.shift()
            if not fp and name == "DIV" and y == 0:
                y = 1
            if not fp and name in ("COND_MOVE_TRUE", "COND_MOVE_FALSE") and r.random() < 0.4:
                y = 0
            if fp and name in ("COND_MOVE_TRUE", "COND_MOVE_FALSE") and r.random() < 0.3:
                y = r.choice((0, 0x80000000))
            a.append(x if s1 else r.getrandbits(32))
            b.append(y if s2 else r.getrandbits(32))
            d.append((st.fp() if fp else st.int()) if r.random() < 0.8 else r.getrandbits(32))
        opcode, func = CODE[name]
        return Op(opcode, func, fp, *fmt, a, b, d)

    async def send(self, op: Op, gap: int | None = None, abort: bool = False) -> None:
        if gap is None:
            gap = 0 if self.rng.random() < 0.8 else self.rng.randint(1, 3)
        item = FuItem("item", op, gap, abort)
        await self.start_item(item)
        await self.finish_item(item)


class FuRandomSeq(FuBaseSeq):
    async def body(self):
        self.setup()
        r = self.rng
        for _ in range(self.n_items):
            fp = r.random() < 0.5
            name = r.choice(valid_functions(fp))
            fmt = (32, 32, 32) if fp else self.formats()
            await self.send(self.make(name, fp, fmt))


class FuCompilerSeq(FuBaseSeq):
    async def body(self):
        self.setup()
        r = self.rng
        for _ in range(self.n_items):
            fp = r.random() < 0.6
            name = r.choice(COMPILER_FP if fp else COMPILER_FXP)
            await self.send(self.make(name, fp, (32, 32, 32), tie_prob=0.3))


class FuCornerSeq(FuBaseSeq):
    """Boundary src1 x boundary src2 for every function and type, LANES pairs per item."""

    async def body(self):
        self.setup()
        r, lanes = self.rng, self.p.LANES
        items = []
        for fp in (False, True):
            for name in valid_functions(fp):
                s1, s2, _ = fn.OPERANDS[name]
                if name in ("FP16_TO_FP32", "BF16_TO_FP32"):
                    avals = [0, 0x8000, 0x7C00, 0xFC00, 0x7C01, 0xFE00, 0x0001, 0x83FF, 0x0400, 0x7BFF, 0x3C00,
                             0x7F80, 0xFF81, 0x0080, 0x807F]
                elif (fp and not name.startswith("FXP") and name not in ("NOT", "AND", "OR")) or name in (
                        "FP32_TO_FP16", "FLOOR", "CEIL", "FP32_TO_BF16", "FP32_TO_FXP32"):
                    avals = list(FP_BOUNDARY)
                else:
                    avals = list(INT_BOUNDARY)
                if not s2:
                    bvals = [0]
                elif not fp and name in fn.FXP_ONLY:
                    bvals = list(SHIFTS)
                elif fp and name not in ("AND", "OR"):
                    bvals = list(FP_BOUNDARY)
                else:
                    bvals = [v for v in INT_BOUNDARY if not (name == "DIV" and v == 0)]
                pairs = [(x, y) for x in avals for y in bvals]
                r.shuffle(pairs)
                for k in range(0, len(pairs), lanes):
                    chunk = pairs[k:k + lanes]
                    chunk += [r.choice(pairs) for _ in range(lanes - len(chunk))]
                    op = self.make(name, fp)
                    op.a = [x for x, _ in chunk]
                    op.b = [y for _, y in chunk]
                    items.append(op)
        r.shuffle(items)
        for op in items[: 4 * self.n_items]:  # the whole cross product unless items is small (Icarus)
            await self.send(op, gap=0)


class FuErrorSeq(FuBaseSeq):
    """Every error cause (lowest cause wins), interleaved with good ops, and DIVs back to back."""

    async def body(self):
        self.setup()
        r, lanes = self.rng, self.p.LANES
        unknown = [(OPCODE["CALCULUS"], f) for f in range(16) if (OPCODE["CALCULUS"], f) not in _codes()] + \
                  [(OPCODE["COMPARISON"], f) for f in range(16) if (OPCODE["COMPARISON"], f) not in _codes()] + \
                  [(OPCODE["DATATYPE_CAST"], f) for f in range(16) if (OPCODE["DATATYPE_CAST"], f) not in _codes()] + \
                  [(o, r.randrange(16)) for o in range(16) if o not in OPCODE.values()]
        for i in range(max(self.n_items // 4, 40)):
            kind = i % 8
            fp = r.random() < 0.5
            if kind == 0:
                opcode, func = r.choice(unknown)
                op = self.make("ADD", fp)
                op.opcode, op.func = opcode, func
            elif kind == 1:
                op = self.make(r.choice(NOT_IN_HW), fp)
            elif kind == 2:
                op = self.make(r.choice(fn.FXP_ONLY), True)
            elif kind == 3:
                op = self.make("DIV", False, self.formats())
                op.b[r.randrange(lanes)] = 0
            elif kind == 4:
                op = self.make(r.choice(fn.FXP_ONLY), False, self.formats())
                op.b[r.randrange(lanes)] = r.choice((M32, 0x80000000, r.getrandbits(31) | 0x80000000))
            elif kind == 5:
                op = self.make(r.choice([n for n in valid_functions(False) if n not in ("NOP", "NOT", "AND", "OR")]),
                               False, (r.randint(33, 63), r.randint(0, 32), r.randint(0, 63)))
            elif kind == 6:  # several causes at once: the lowest is reported
                op = self.make("DIV", False, (40, 32, 32))
                op.b[0] = 0
            else:  # DIVs back to back, then a fast op right behind
                for _ in range(2):
                    await self.send(self.make("DIV", r.random() < 0.5, self.formats()), gap=0)
                op = self.make(r.choice(valid_functions(fp)), fp)
            await self.send(op, gap=0 if r.random() < 0.7 else 1)
            await self.send(self.make(r.choice(valid_functions(fp)), fp, (32, 32, 32) if fp else self.formats()))


class FuAbortSeq(FuBaseSeq):
    async def body(self):
        self.setup()
        r = self.rng
        for _ in range(max(self.n_items // 2, 40)):
            fp = r.random() < 0.5
            name = "DIV" if r.random() < 0.3 else r.choice(valid_functions(fp))
            await self.send(self.make(name, fp, (32, 32, 32) if fp else self.formats()))
            if r.random() < 0.25:
                for _ in range(r.randint(0, 2)):
                    await self.send(self.make(r.choice(valid_functions(fp)), fp), gap=0)
                await self.send(self.make("ADD", fp), gap=r.randint(0, 8), abort=True)


def _codes():
    return set(CODE.values())
