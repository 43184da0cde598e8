"""Stimulus of the SIMD engine bench: cases (reference.Case) from compiled programs and random groups.

Random groups are written in assembly and assembled with genesys.isa: DTYPE_CFG (32FXP with random formats,
32FP), iterators (base/stride with every ITERATOR_CONFIG form), IMM (every form), nested and single loop
bodies (1..3 loops, 1..4 instructions, strides of any sign, reductions with stride 0, OBUF sources, MACC and
COND_MOVE reading the destination, DIV/shift with safe or unsafe operands), and VMEM transfers (widths 8/16/32,
base and tile loops, negative strides, partial last rows, tile addresses). `RandomSeq` keeps the groups the
simulator accepts; `ErrorSeq` keeps the ones it rejects (every error cause a SIMD group can raise).
"""

from __future__ import annotations

import random

import numpy as np
from pyuvm import uvm_sequence, uvm_sequence_item

from genesys.isa import assemble_line

from .reference import Case, compiled_cases, expect

DRAM_BYTES = 1 << 16                  # the random cases' DRAM (the DUT sees it at data_base)

ALU2 = ("ADD", "SUB", "MUL", "MACC", "MAX", "MIN", "AND", "OR", "COND_MOVE_TRUE", "COND_MOVE_FALSE")
ALU1 = ("MOVE", "NOT")
CALC = ("RELU", "LEAKY_RELU")
CMP = ("EQUAL", "NEQ", "GT", "GTE", "LT", "LTE")
CASTS = ("FXP32_TO_FXP16", "FXP32_TO_FXP8", "FXP32_TO_FXP4", "FXP16_TO_FXP32", "FXP8_TO_FXP32", "FXP4_TO_FXP32",
         "FP32_TO_FP16", "FP16_TO_FP32", "FLOOR", "CEIL", "FP32_TO_BF16", "BF16_TO_FP32", "FXP32_TO_FP32",
         "FP32_TO_FXP32")


def no_nan(x):
    """Bit patterns with binary32 NaNs made finite: the simulator's NaN + NaN result depends on numpy's loop
    choice (which operand's payload survives changes with the vector shape), so random data avoids NaNs."""
    a = np.asarray(x, dtype=np.int64) & 0xFFFFFFFF
    nan = ((a & 0x7F800000) == 0x7F800000) & ((a & 0x7FFFFF) != 0)
    a = np.where(nan, a & ~0x00800000, a)
    return np.where(a >= 1 << 31, a - (1 << 32), a)


class CaseItem(uvm_sequence_item):
    def __init__(self, name: str, case: Case):
        super().__init__(name)
        self.case = case


class RandomGroup:
    """One random SIMD group (assembly lines) for an architecture."""

    def __init__(self, arch, rng: random.Random, wild: bool = False):
        self.arch, self.rng, self.wild = arch, rng, wild
        self.L = arch.SIMD_LANES
        self.vd = arch.buffers["VMEM"].depth
        self.od = arch.buffers["OBUF"].depth
        self.lines: list[str] = []
        self.tags: set[str] = set()
        self.iters: dict[str, list[int]] = {"VMEM1": [], "VMEM2": [], "OBUF": []}

    def r(self, a, b):
        return self.rng.randint(a, b)

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def set32(self, what: str, ns: str, idx: int, value: int) -> None:
        """An iterator field or IMM entry by one of its write forms."""
        value = int(no_nan(value)) & 0xFFFFFFFF
        signed = value - (1 << 32) if value >> 31 else value
        prefix = {"BASE": "BASE", "STRIDE": "STRIDE", "IMM": "IMM"}[what]
        if what == "IMM":
            if -32768 <= signed <= 32767 and self.rng.random() < 0.5:
                self.emit(f"IMM_SIGN_EXT IMM, {idx}, {signed}")
            else:
                self.emit(f"SET_IMM_LOW IMM, {idx}, {value & 0xFFFF}")
                self.emit(f"SET_IMM_HIGH IMM, {idx}, {value >> 16}")
            self.tags.add("imm")
            return
        if 0 <= value <= 0xFFFF and self.rng.random() < 0.3:
            self.emit(f"{prefix}_ZERO_FILL {ns}, {idx}, {value}")
        elif -32768 <= signed <= 32767 and self.rng.random() < 0.6:
            self.emit(f"{prefix}_SIGN_EXT {ns}, {idx}, {signed}")
        else:
            self.emit(f"{prefix}_LOW {ns}, {idx}, {value & 0xFFFF}")
            self.emit(f"{prefix}_HIGH {ns}, {idx}, {value >> 16}")

    def dtype(self) -> str:
        k = self.rng.random()
        if k < 0.45:
            self.emit("DTYPE_CFG 32FXP, 32, 32, 32")
            return "int"
        if k < 0.75:
            self.emit(f"DTYPE_CFG 32FXP, {self.r(8, 32)}, {self.r(8, 32)}, {self.r(8, 32)}")
            self.tags.add("fxp_formats")
            return "fxp"
        self.emit("DTYPE_CFG 32FP, 32, 32, 32")
        self.tags.add("fp")
        return "fp"

    def body(self, kind: str) -> None:
        rng = self.rng
        nloops = rng.choice((0, 1, 1, 2, 2, 3))
        counts = [self.r(1, 6) for _ in range(nloops)]
        span = int(np.prod(counts)) if counts else 1
        # iterators: VMEM rows in range for every iteration (mostly), OBUF sources sometimes
        for ns in ("VMEM1", "VMEM2", "OBUF"):
            for idx in range(self.r(1, 3)):
                depth = self.od if ns == "OBUF" else self.vd
                stride = rng.choice((0, 1, 1, 2, -1, self.r(-5, 9)))
                if self.wild and rng.random() < 0.2:
                    stride = self.r(-70000, 70000)
                lo_margin = max(0, -stride) * (span + 1)
                hi_margin = max(0, stride) * (span + 1)
                base = self.r(lo_margin, max(lo_margin, min(depth - 1 - hi_margin, 40 + lo_margin)))
                if self.wild and rng.random() < 0.1:
                    base = rng.choice((depth - 1, depth, -1, 1 << 20))
                self.set32("BASE", ns, idx, base)
                if stride:
                    self.set32("STRIDE", ns, idx, stride)
                self.iters[ns].append(idx)
        for k in range(8):
            if rng.random() < 0.4:
                self.set32("IMM", "IMM", k, rng.choice((0, 1, 2, 3, -1, -7, 0x7FFFFFFF, rng.getrandbits(32), 0x7F7FFFFF,
                                                      0x3F800000, 0xC0200000)))

        def operand(dst: bool) -> str:
            if not dst and rng.random() < 0.2:
                return f"IMM, {self.r(0, 7)}"
            pool = ("VMEM1", "VMEM2") if dst else ("VMEM1", "VMEM2", "VMEM1", "VMEM2", "OBUF")
            ns = rng.choice(pool)
            if self.wild and rng.random() < 0.05:
                ns = rng.choice(("IBUF", "OBUF", "IMM"))
            if ns == "OBUF":
                self.tags.add("obuf_src")
            return f"{ns}, {rng.choice(self.iters.get(ns) or [0])}"

        for k in range(nloops):
            if self.wild and rng.random() < 0.05:
                counts[k] = 0
            self.emit(f"SET_ITER {k}, 0, {counts[k]}")
            if rng.random() < 0.9:
                self.emit(f"SET_INDEX {operand(True)}, {operand(False)}, {operand(False)}")
        n = self.r(1, 4)
        ins = []
        for _ in range(n):
            k = rng.random()
            if k < 0.45:
                f = rng.choice(ALU2)
            elif k < 0.55:
                f = rng.choice(ALU1 + CALC)
            elif k < 0.7:
                f = rng.choice(CMP)
            elif k < 0.85:
                f = rng.choice(CASTS if kind != "int" else CASTS[:6] + CASTS[12:])
                self.tags.add("cast")
            elif k < 0.93:
                f = "DIV"
            else:
                f = rng.choice(("RSHIFT", "LSHIFT")) if kind != "fp" else "NOP"
            if f == "NOP":
                ins.append("NOP 0, 0, 0, 0, 0, 0")
            elif f in ("DIV", "RSHIFT", "LSHIFT") and self.wild and rng.random() < 0.5 and kind != "fp":
                # a zero divisor / negative shift amount in some lane
                self.set32("IMM", "IMM", 29, 0 if f == "DIV" else -self.r(1, 9))
                ins.append(f"{f} {operand(True)}, {operand(False)}, IMM, 29")
            elif f in ("DIV", "RSHIFT", "LSHIFT") and not self.wild:
                # a nonzero / non-negative IMM divisor or shift amount keeps the group legal
                self.set32("IMM", "IMM", 30, rng.choice((1, 3, -5, 7)) if f == "DIV" else self.r(0, 40))
                ins.append(f"{f} {operand(True)}, {operand(False)}, IMM, 30")
            else:
                ins.append(f"{f} {operand(True)}, {operand(False)}, {operand(False)}")
            if f == "MACC":
                self.tags.add("macc")
            if f == "DIV":
                self.tags.add("div")
        if nloops == 0 and rng.random() < 0.5:
            for line in ins:  # compute words outside a body
                self.emit(line)
            return
        nested = 1 if rng.random() < 0.7 else 0
        self.emit(f"SET_INST {nested}, 0, {n}")
        for line in ins:
            self.emit(line)
        self.tags.add(f"loops{nloops}" + ("_single" if not nested and nloops > 1 else ""))

    def transfer(self) -> None:
        rng = self.rng
        load = rng.random() < 0.55
        p = "LD" if load else "ST"
        ns = rng.choice(("VMEM1", "VMEM2"))
        w = rng.choice((8, 16, 32))
        eb = w // 8
        nb, nt = self.r(0, 2), self.r(0, 1)
        counts = [self.r(1, 4) for _ in range(nb + nt)]
        req = eb * self.r(1, 3 * self.L)
        elems = int(np.prod(counts)) * req // eb if counts else req // eb
        rows = -(-elems // self.L)
        tile = self.r(0, self.vd - rows)
        if self.wild and rng.random() < 0.15:
            tile = self.vd - rows + self.r(1, 3)
        strides = [rng.choice((req, req + self.r(0, 40), -req - self.r(0, 8), 0 if load else req, 256))
                   for _ in counts]
        span_lo = sum(min(0, (c - 1) * s) for c, s in zip(counts, strides, strict=True))
        span_hi = sum(max(0, (c - 1) * s) for c, s in zip(counts, strides, strict=True)) + req
        base = self.r(-span_lo, DRAM_BYTES - span_hi - 1)
        self.emit(f"{p}_CONFIG_BASE_ADDR LSB, {ns}, 0, {base & 0xFFFF}")
        if base >> 16 or rng.random() < 0.2:
            self.emit(f"{p}_CONFIG_BASE_ADDR MSB, {ns}, 0, {base >> 16}")
        for k in range(nb + nt):
            kind = "BASE" if k < nb else "TILE"
            kk = k if k < nb else k - nb
            self.emit(f"{p}_CONFIG_{kind}_LOOP_ITER 0, {ns}, {kk}, {counts[k] - 1}")
            s = strides[k] & 0xFFFFFFFF
            self.emit(f"{p}_CONFIG_{kind}_LOOP_STRIDE LSB, {ns}, {kk}, {s & 0xFFFF}")
            if s >> 16:
                self.emit(f"{p}_CONFIG_{kind}_LOOP_STRIDE MSB, {ns}, {kk}, {s >> 16}")
        self.emit(f"{p}_CONFIG_TILE_ADDR LSB, {ns}, 0, {tile}")
        self.emit(f"{p}_START 0, {ns}, {w - 1}, {req}")
        self.tags.update({f"{p.lower()}_w{w}", f"{p.lower()}_{ns.lower()}"})
        if nt:
            self.tags.add("tile_loops")
        if elems % self.L:
            self.tags.add(f"{p.lower()}_partial_row")

    def build(self) -> list[int]:
        kind = self.dtype()
        for _ in range(self.r(1, 4)):
            if self.rng.random() < 0.35:
                self.transfer()
            else:
                self.body(kind)
            if self.rng.random() < 0.2:
                kind = self.dtype()
        if self.wild:
            self.corrupt()
        return [assemble_line(line) for line in self.lines]

    def corrupt(self) -> None:
        """One rule break (besides the wild operands and ranges above)."""
        k = self.rng.random()
        pos = self.r(0, len(self.lines))
        bad = [
            "DTYPE_CFG 16FXP, 16, 16, 16", "DTYPE_CFG 16FP, 0, 0, 0", "DTYPE_CFG 32FXP, 33, 0, 0",
            "PERM_START VMEM1, 0, VMEM2, 0, NO_SHUFFLE", "SET_INDEX VMEM1, 0, VMEM1, 0, VMEM1, 0",
            "LD_START 0, VMEM1, 23, 12", "ST_START 0, VMEM2, 15, 3", "LD_CONFIG_BASE_ADDR LSB, OBUF, 0, 0",
            "SET_IMM_LOW VMEM1, 0, 3", "BASE_LOW IMM, 0, 4", "SET_INST 1, 0, 0",
        ]  # (a transfer loop index >= XFER_*_LOOPS is a documented hardware limit, not generated)
        if k < 0.15:
            self.lines.insert(pos, f"BASE_LOW OBUF, 31, {self.od - self.r(0, 2)}")
            self.lines.insert(pos + 1, "STRIDE_SIGN_EXT OBUF, 31, 1")
            self.lines.insert(pos + 2, "SET_ITER 7, 0, 4")
            self.lines.insert(pos + 3, "SET_INDEX VMEM1, 0, OBUF, 31, VMEM1, 0")
            self.lines.insert(pos + 4, "SET_INST 0, 0, 1")
            self.lines.insert(pos + 5, "MOVE VMEM1, 0, OBUF, 31, VMEM1, 0")
        elif k < 0.7:
            self.lines.insert(pos, self.rng.choice(bad))
        elif k < 0.85:
            self.lines.insert(pos, "SET_ITER 2, 0, 3")
            self.lines.insert(pos, "SET_ITER 2, 0, 3")
        else:
            self.lines.insert(pos, "SET_INST 1, 0, 2")
            self.lines.insert(pos + 1, "ADD VMEM1, 0, VMEM1, 0, VMEM1, 0")
            self.lines.insert(pos + 2, "IMM_SIGN_EXT IMM, 0, 1")


def random_case(arch, rng: random.Random, name: str, wild: bool) -> Case:
    g = RandomGroup(arch, rng, wild)
    words = g.build()
    L, vd, od = arch.SIMD_LANES, arch.buffers["VMEM"].depth, arch.buffers["OBUF"].depth
    nrng = np.random.default_rng(rng.getrandbits(32))

    def vals(shape):
        pick = nrng.random(shape)
        small = nrng.integers(-300, 300, shape)
        big = nrng.integers(-(1 << 31), 1 << 31, shape)
        fp = np.asarray(nrng.normal(0, 50, shape), np.float32).view(np.int32)
        return no_nan(np.where(pick < 0.4, small, np.where(pick < 0.7, big, fp))).astype(np.int32)

    case = Case(name, words, vals(32), vals((vd, L)), vals((vd, L)),
                no_nan(nrng.integers(-(1 << 31), 1 << 31, (od, arch.ARRAY_M))).astype(np.int64),
                nrng.integers(0, 256, DRAM_BYTES, dtype=np.uint8), tags={"random"} | g.tags)
    return expect(arch, case)


class CompiledSeq(uvm_sequence):
    """The SIMD groups of a tiny CNN compiled for the preset, with the simulator's state at each."""

    async def body(self):
        from pyuvm import ConfigDB
        arch, n = ConfigDB().get(None, "", "ARCH"), ConfigDB().get(None, "", "ITEMS")
        for c in compiled_cases(arch, max(n, 8)):
            item = CaseItem(c.name, c)
            await self.start_item(item)
            await self.finish_item(item)


class RandomSeq(uvm_sequence):
    """Random legal groups (the simulator accepts them)."""

    wild = False

    async def body(self):
        from pyuvm import ConfigDB
        arch, n, seed = (ConfigDB().get(None, "", k) for k in ("ARCH", "ITEMS", "SEED"))
        rng = random.Random(seed * 7919 + int(self.wild))
        made = tries = 0
        while made < n and tries < 50 * n:
            tries += 1
            c = random_case(arch, rng, f"{'error' if self.wild else 'random'}_{made}", self.wild)
            if (c.error is not None) != self.wild:
                continue
            if self.wild and c.error[0] == 14:   # outside DRAM: not checkable against an AXI RAM
                continue
            made += 1
            item = CaseItem(c.name, c)
            await self.start_item(item)
            await self.finish_item(item)


FU_ERROR_GROUPS = (
    # FU errors in flight: the write-backs before them land, the named instruction is the failing one
    ["IMM_SIGN_EXT IMM, 1, 0", "STRIDE_SIGN_EXT VMEM1, 0, 1", "SET_ITER 0, 0, 6",
     "SET_INDEX VMEM1, 0, VMEM1, 0, VMEM1, 0", "SET_INST 1, 0, 3", "ADD VMEM1, 0, VMEM1, 0, IMM, 1",
     "MUL VMEM2, 0, VMEM1, 0, IMM, 1", "DIV VMEM2, 1, VMEM1, 0, IMM, 1"],
    ["IMM_SIGN_EXT IMM, 2, -3", "BASE_SIGN_EXT VMEM2, 3, 7", "RSHIFT VMEM2, 3, VMEM2, 3, IMM, 2"],
    ["DTYPE_CFG 32FXP, 32, 32, 32", "EXP VMEM1, 0, VMEM1, 0, VMEM1, 0"],
    ["DTYPE_CFG 32FP, 32, 32, 32", "LSHIFT VMEM1, 0, VMEM1, 0, VMEM1, 0"],
)


class ErrorSeq(RandomSeq):
    """Random groups the simulator rejects (after a few fixed FU-error groups): the DUT must name the same
    cause and instruction."""

    wild = True

    async def body(self):
        from pyuvm import ConfigDB
        arch = ConfigDB().get(None, "", "ARCH")
        rng = np.random.default_rng(5)
        L, vd, od = arch.SIMD_LANES, arch.buffers["VMEM"].depth, arch.buffers["OBUF"].depth
        for k, lines in enumerate(FU_ERROR_GROUPS):
            c = expect(arch, Case(f"fu_error_{k}", [assemble_line(x) for x in lines], np.zeros(32, np.int32),
                                  rng.integers(-99, 99, (vd, L)).astype(np.int32),
                                  rng.integers(-99, 99, (vd, L)).astype(np.int32),
                                  np.zeros((od, arch.ARRAY_M), np.int64), np.zeros(4096, np.uint8),
                                  tags={"random"}))
            assert c.error is not None, lines
            item = CaseItem(c.name, c)
            await self.start_item(item)
            await self.finish_item(item)
        await super().body()
