"""Instruction emitters: systolic-array and SIMD groups as assembly text, packed into blocks.

Every instruction is produced as one line of the GeneSys compiler's assembly syntax (docs/isa.md) and
assembled with `genesys.isa.assemble_line`, memoised per distinct line (a network repeats the same lines
thousands of times, and the assembler's checks are not free). The meaning of every line is
docs/isa.md (Semantics); the builders below only know which operands each instruction takes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from genesys.errors import GenesysError
from genesys.isa import assemble_line

_WORD_CACHE: dict[str, int] = {}


def word_of(line: str) -> int:
    w = _WORD_CACHE.get(line)
    if w is None:
        w = assemble_line(line)
        _WORD_CACHE[line] = w
    return w


def _halves(value: int) -> tuple[int, int]:
    """Low and high 16 bits of a signed 32-bit value."""
    if not -(1 << 31) <= value < (1 << 32):
        raise GenesysError(f"value {value} does not fit 32 bits")
    v = value & 0xFFFFFFFF
    return v & 0xFFFF, v >> 16


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


# Transfer loop ids of the systolic-array buffers (docs/isa.md, Semantics §3).
TRANSFER_LOOPS = {"WBUF": 16, "IBUF": 20, "OBUF": 24, "BBUF": 28}
REDUCTION_KIND = {"ic": "IC", "kh": "KH", "kw": "KW"}


@dataclass
class Group:
    """One instruction group: its engine, lines (without the START/END pair) and bookkeeping."""

    engine: str  # "SYSTOLIC_ARRAY" or "SIMD"
    lines: list[str] = field(default_factory=list)
    layer: str = ""

    def emit(self, line: str) -> None:
        self.lines.append(line)


class SAGroup(Group):
    """A systolic-array group (docs/isa.md, Semantics §3)."""

    def __init__(self, layer: str = "") -> None:
        super().__init__("SYSTOLIC_ARRAY", [], layer)
        self._next_compute = 0
        self._used_transfer: set[str] = set()

    def dram_base(self, buf: str, addr: int) -> None:
        lo, hi = _halves(addr)
        self.emit(f"SET_BASE_ADDR LOW, BUFFER, {buf}, 0, {lo}")
        if hi:
            self.emit(f"SET_BASE_ADDR HIGH, BUFFER, {buf}, 0, {hi}")

    def chip_base(self, buf: str, row: int) -> None:
        if row:
            lo, hi = _halves(row)
            self.emit(f"SET_BASE_ADDR LOW, IMEM, {buf}, 0, {lo}")
            if hi:
                self.emit(f"SET_BASE_ADDR HIGH, IMEM, {buf}, 0, {hi}")

    def stride(self, kind: str, buf: str, loop: int, value: int) -> None:
        if value == 0:
            return  # every group starts with zero strides
        lo, hi = _halves(value)
        self.emit(f"SET_LOOP_STRIDE LOW, {kind}, {buf}, {loop}, {lo}")
        if hi:
            self.emit(f"SET_LOOP_STRIDE HIGH, {kind}, {buf}, {loop}, {hi}")

    def compute_loop(self, count: int, strides: dict[str, int], reduction: str | None = None,
                     wr: int | None = None) -> None:
        """Next compute loop (nested inside the previous ones): `strides` are on-chip RD row strides per
        buffer; OBUF's WR stride defaults to its RD stride."""
        if count < 1 or count > 65536:
            raise GenesysError(f"compute loop count {count} outside 1..65536")
        loop = self._next_compute
        if loop > 15:
            raise GenesysError("more than 16 compute loops in one group")
        self._next_compute += 1
        self.emit(f"SA_LOOP_CFG 0, {loop}, {count - 1}")
        if reduction:
            self.emit(f"SA_REDUCTION_LOOP 32, {loop}, INNER, {REDUCTION_KIND[reduction]}")
        for buf, s in strides.items():
            self.stride("RD", buf, loop, s)
        obuf_wr = strides.get("OBUF", 0) if wr is None else wr
        self.stride("WR", "OBUF", loop, obuf_wr)

    def outer_reduction(self, kind: str = "ic") -> None:
        self.emit(f"SA_REDUCTION_LOOP 32, 0, OUTER, {REDUCTION_KIND[kind]}")

    def transfer(self, direction: str, buf: str, loops: list[tuple[int, int]], req: int) -> None:
        """The one LD/ST of `buf` in this group: `loops` are (count, DRAM byte stride), outermost first,
        each request `req` bytes. A transfer runs every transfer loop from the one it names to the buffer's
        last, so the loops are taken from the end of the buffer's four."""
        if not 1 <= req <= 65535:
            raise GenesysError(f"{buf} transfer request of {req} bytes outside 1..65535")
        if buf in self._used_transfer:
            raise GenesysError(f"two {buf} transfers in one group")
        self._used_transfer.add(buf)
        loops = [lp for lp in loops if lp[0] > 1] or [(1, 0)]
        if len(loops) > 4:
            raise GenesysError(f"{buf} transfer needs {len(loops)} loops; a buffer has four")
        kind = "LD" if direction == "LD" else "ST"
        first = TRANSFER_LOOPS[buf] + 4 - len(loops)
        for k, (count, stride) in enumerate(loops):
            if count > 1:
                self.emit(f"SA_LOOP_CFG 0, {first + k}, {count - 1}")
            self.stride(kind, buf, first + k, stride)
        self.emit(f"LD_ST {direction}, BUFFER, {buf}, {first}, {req}")


class SimdGroup(Group):
    """A SIMD group (docs/isa.md, Semantics §4)."""

    def __init__(self, layer: str = "") -> None:
        super().__init__("SIMD", [], layer)
        self._dtype = "32FXP"
        self.iterators: dict[tuple[str, int, int], int] = {}  # (ns, base, stride) -> index
        self._next_iter = {"OBUF": 0, "VMEM1": 0, "VMEM2": 0}
        self._imms: dict[int, int] = {}
        self._xfer: dict[tuple[str, str], dict] = {}
        self.body_cost = 0  # rows x instructions, for the compiler's own bookkeeping

    # ---- types and operands ----------------------------------------------------------------------
    def dtype(self, kind: str) -> None:
        if kind != self._dtype:
            self.emit(f"DTYPE_CFG {kind}, 32, 32, 32")
            self._dtype = kind

    def it(self, ns: str, base: int, stride: int = 0) -> int:
        """An iterator of `ns` with this base row and stride (configured once per group)."""
        key = (ns, base, stride)
        idx = self.iterators.get(key)
        if idx is None:
            idx = self._next_iter[ns]
            if idx > 31:
                raise GenesysError(f"more than 32 {ns} iterators in one SIMD group")
            self._next_iter[ns] += 1
            self.iterators[key] = idx
            self._set_iter_field("BASE", ns, idx, base)
            self._set_iter_field("STRIDE", ns, idx, stride)
        return idx

    def _set_iter_field(self, what: str, ns: str, idx: int, value: int) -> None:
        if value == 0 and what == "STRIDE":
            return  # strides start at zero
        if -32768 <= value <= 32767:
            self.emit(f"{what}_SIGN_EXT {ns}, {idx}, {value}")
        else:
            lo, hi = _halves(value)
            self.emit(f"{what}_LOW {ns}, {idx}, {lo}")
            self.emit(f"{what}_HIGH {ns}, {idx}, {hi}")

    def imm(self, value: int) -> int:
        """An IMM slot holding the 32-bit pattern `value`."""
        value &= 0xFFFFFFFF
        for k, v in self._imms.items():
            if v == value:
                return k
        k = len(self._imms)
        if k > 31:
            raise GenesysError("more than 32 immediates in one SIMD group")
        self._imms[k] = value
        signed = value - (1 << 32) if value >> 31 else value
        if -32768 <= signed <= 32767:
            self.emit(f"IMM_SIGN_EXT IMM, {k}, {signed}")
        else:
            self.emit(f"SET_IMM_LOW IMM, {k}, {value & 0xFFFF}")
            self.emit(f"SET_IMM_HIGH IMM, {k}, {value >> 16}")
        return k

    def imm_f32(self, x: float) -> int:
        return self.imm(f32_bits(x))

    # ---- loops and bodies -------------------------------------------------------------------------
    def body(self, loops: list[tuple[int, tuple[str, int], tuple[str, int], tuple[str, int]]],
             instrs: list[str]) -> None:
        """A loop nest around `instrs`. Each loop is (count, dst iterator, src1 iterator, src2 iterator)
        where an iterator is (ns, index) whose stride advances that operand position in that loop."""
        if not loops:
            loops = [(1, ("VMEM1", self.it("VMEM1", 0)), ("VMEM1", self.it("VMEM1", 0)),
                      ("VMEM1", self.it("VMEM1", 0)))]
        if len(loops) > 8:
            raise GenesysError("more than 8 SIMD loops")
        total = 1
        for k, (count, d, s1, s2) in enumerate(loops):
            if not 1 <= count <= 65535:
                raise GenesysError(f"SIMD loop count {count} outside 1..65535")
            total *= count
            self.emit(f"SET_ITER {k}, 0, {count}")
            self.emit(f"SET_INDEX {d[0]}, {d[1]}, {s1[0]}, {s1[1]}, {s2[0]}, {s2[1]}")
        self.emit(f"SET_INST 1, 0, {len(instrs)}")
        for ins in instrs:
            self.emit(ins)
        self.body_cost += total * len(instrs) + 4

    # ---- transfers ---------------------------------------------------------------------------------
    def transfer(self, direction: str, ns: str, dram: int, loops: list[tuple[int, int]], req: int,
                 vmem_row: int, width: int) -> None:
        """One VMEM transfer: `loops` (count, DRAM byte stride) outermost first, `req` bytes a request
        read/written as `width`-bit elements, starting at VMEM row `vmem_row`."""
        if not 1 <= req <= 65535:
            raise GenesysError(f"{ns} transfer request of {req} bytes outside 1..65535")
        p = "LD" if direction == "LD" else "ST"
        state = self._xfer.setdefault((p, ns), {"loops": {}})
        lo, hi = _halves(dram)
        if state.get("base") != dram:
            if state.get("base") is None or (state["base"] & 0xFFFF) != lo:
                self.emit(f"{p}_CONFIG_BASE_ADDR LSB, {ns}, 0, {lo}")
            if state.get("base") is None and hi or state.get("base") is not None and (state["base"] >> 16) != hi:
                self.emit(f"{p}_CONFIG_BASE_ADDR MSB, {ns}, 0, {hi}")
            state["base"] = dram
        old = state["loops"]
        new = {}
        for k, (count, stride) in enumerate(loops):
            new[k] = (count, stride)
            oc, os_ = old.get(k, (1, 0))
            if oc != count:
                self.emit(f"{p}_CONFIG_BASE_LOOP_ITER 0, {ns}, {k}, {count - 1}")
            if os_ != stride:
                slo, shi = _halves(stride)
                olo, ohi = _halves(os_)
                if slo != olo:
                    self.emit(f"{p}_CONFIG_BASE_LOOP_STRIDE LSB, {ns}, {k}, {slo}")
                if shi != ohi:
                    self.emit(f"{p}_CONFIG_BASE_LOOP_STRIDE MSB, {ns}, {k}, {shi}")
        for k in old:
            if k not in new and old[k] != (1, 0):  # a loop the previous transfer used: neutralise it
                if old[k][0] != 1:
                    self.emit(f"{p}_CONFIG_BASE_LOOP_ITER 0, {ns}, {k}, 0")
                new[k] = (1, old[k][1])
        state["loops"] = new
        if state.get("tile") != vmem_row:
            tlo, thi = _halves(vmem_row)
            self.emit(f"{p}_CONFIG_TILE_ADDR LSB, {ns}, 0, {tlo}")
            if thi or state.get("tile", 0) >> 16:
                self.emit(f"{p}_CONFIG_TILE_ADDR MSB, {ns}, 0, {thi}")
            state["tile"] = vmem_row
        self.emit(f"{p}_START 0, {ns}, {width - 1}, {req}")


@dataclass
class Program:
    """Groups in program order, packed into blocks of at most IMEM_DEPTH words."""

    imem_words: int
    groups: list[Group] = field(default_factory=list)

    def add(self, g: Group) -> None:
        self.groups.append(g)

    def assemble(self) -> tuple[list[str], list[int], list[tuple[int, int]]]:
        """(text lines, words, per-group (first, last) word index). Blocks are closed with BLOCK_END."""
        lines: list[str] = []
        spans: list[tuple[int, int]] = []
        block_words = 0
        numbers = {"SYSTOLIC_ARRAY": 0, "SIMD": 0}
        for g in self.groups:
            n = len(g.lines)
            size = n + 2
            if size + 1 > self.imem_words:
                raise GenesysError(f"layer {g.layer}: one {g.engine} group has {size} instructions, more than "
                                   f"the instruction memory's {self.imem_words - 1} words per block")
            if block_words + size + 1 > self.imem_words:
                lines.append("BLOCK_END 0")
                block_words = 0
            num = numbers[g.engine] % 64
            numbers[g.engine] += 1
            first = len(lines)
            lines.append(f"SYNC_INST {g.engine}, START, EXEC, 0, {num}, {n}")
            lines.extend(g.lines)
            lines.append(f"SYNC_INST {g.engine}, END, EXEC, 0, {num}, 0")
            spans.append((first, len(lines) - 1))
            block_words += size
        lines.append("BLOCK_END 1")
        words = [word_of(ln) for ln in lines]
        return lines, words, spans
