"""The foreign group of the concurrency holds (docs/npu.md "Concurrency with the preceding SIMD group"): the
testbench plays the SIMD group that precedes a systolic-array group in program order and still runs.

`Footprint` is what the top would drive on fgn_*: OBUF rows the foreign group still reads, DRAM bytes it
writes and reads (RAM addresses: data_base added). `group_ranges` computes what a group touches (the
simulator's own parse of the group: every LD/ST's DRAM range, the OBUF rows of an LD into OBUF, the nest's
OBUF write rows); `scenario` builds the footprint of one test case. `ForeignGroup` runs one case next to the
group: it drives fgn_* (fgn_valid low for a while in the `invalid` case), plays the foreign group's effects
(it reads its OBUF rows through the engine's obuf_re port every cycle while it runs and checks them against
the OBUF contents before the group; it writes new bytes into its DRAM write range when it finishes, which
the reference applies before the group, as program order says; it checks its DRAM read range is unchanged
when it finishes), and watches the engine: no AXI read burst overlapping the write range, no AXI write burst
overlapping the write or read range, no OBUF write to a foreign row while fgn_active.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from genesys.sim import sa
from genesys.sim.decoder import Decoder
from genesys.sim.decoder import Group as SimGroup

from .reference import group_words

ALIGN = 64                     # foreign DRAM ranges are multiples of this (≥ every AXI beat): a burst's whole
                               # beats overlap an aligned range only if the transfer's bytes do
KINDS = ("ld", "ld_obuf", "nest", "st", "all", "invalid", "disjoint")
NONE_DRAM = (0, 0)             # empty DRAM range (lo >= hi)
NONE_ROWS = (1, 0)             # empty OBUF row range (lo > hi)


@dataclass
class Ranges:
    loads: list[tuple[str, int, int, tuple[int, int] | None]] = field(default_factory=list)  # buf, [lo, hi), OBUF rows
    stores: list[tuple[int, int]] = field(default_factory=list)                              # [lo, hi)
    nest_ow: tuple[int, int] | None = None                                                   # [lo, hi] rows


@dataclass
class Footprint:
    kind: str
    obuf: tuple[int, int] = NONE_ROWS
    wr: tuple[int, int] = NONE_DRAM
    rd: tuple[int, int] = NONE_DRAM
    invalid: bool = False          # fgn_valid low until the engine has waited hold_len cycles
    hold_len: int = 50             # wait cycles the engine must show before the foreign group goes on
    after_done: bool = False       # fgn_active falls once done is seen (disjoint footprints), else after the hold
    expect: str = ""               # the hold that must happen: "ld", "st", "nest", "any"; "" none at all


def _span(counts, strides):
    lo = sum(min(0, (c - 1) * s) for c, s in zip(counts, strides, strict=True))
    hi = sum(max(0, (c - 1) * s) for c, s in zip(counts, strides, strict=True))
    return lo, hi


def group_ranges(geo, body: list[str], data_base: int) -> Ranges:
    """What the group touches, from genesys.sim.sa.parse_group (RAM addresses)."""
    start, words, end = group_words(body)
    ops = Decoder().ops([start, *words, end], 0)
    prog = sa.parse_group(SimGroup("SA", 0, ops[0], ops[-1], ops[1:-1]))
    r = Ranges()
    for t in prog.loads + prog.stores:
        lo, hi = _span(t.counts, t.strides)
        dram = (data_base + t.base_dram + lo, data_base + t.base_dram + hi + t.req)
        if t.load:
            rows = None
            if t.buf == "OBUF":
                total, row = int(np.prod(t.counts)) * t.req, geo.row["OBUF"]
                rows = (t.base_chip, (t.base_chip * row + total - 1) // row)
            r.loads.append((t.buf, *dram, rows))
        else:
            r.stores.append(dram)
    n = prog.nest
    if n is not None:
        active = [k for k in range(sa.N_COMPUTE_LOOPS) if n.counts[k] > 1]
        lo, hi = _span([n.counts[k] for k in active], [n.strides["OW"][k] for k in active])
        r.nest_ow = (n.bases["OBUF"] + lo, n.bases["OBUF"] + hi)
    return r


def _pick(rng: random.Random, lo: int, hi: int) -> int:
    """A point of [lo, hi): the first, the last or any (the edges are where range arithmetic breaks)."""
    return rng.choice((lo, hi - 1, rng.randrange(lo, hi)))


def _rows_at(rng: random.Random, lo: int, hi: int) -> tuple[int, int]:
    """A row range overlapping rows [lo, hi]: ending at lo, starting at hi, or around any row."""
    k = rng.randrange(3)
    return rng.choice(((lo - k, lo), (hi, hi + k), ((a := rng.randrange(lo, hi + 1)) - k, a + rng.randrange(3))))


def _around(rng: random.Random, lo: int, hi: int) -> tuple[int, int]:
    """An ALIGN-multiple range that contains a byte of [lo, hi)."""
    x = _pick(rng, lo, hi)
    a = max(0, x // ALIGN * ALIGN - ALIGN * rng.randrange(3))
    return a, max(a + ALIGN * rng.randrange(1, 8), x // ALIGN * ALIGN + ALIGN)


def _aligned_out(lo: int, hi: int) -> tuple[int, int]:
    return lo // ALIGN * ALIGN, -(-hi // ALIGN) * ALIGN


def _free_dram(rng: random.Random, busy: list[tuple[int, int]], window: tuple[int, int]) -> tuple[int, int]:
    """An ALIGN-multiple range inside window that overlaps none of busy (aligned out)."""
    busy = [_aligned_out(a, b) for a, b in busy]
    for _ in range(1000):
        a = rng.randrange(window[0], window[1] - 4096) // ALIGN * ALIGN
        b = a + ALIGN * rng.randrange(1, 32)
        if all(b <= x or y <= a for x, y in busy):
            return a, b
    return NONE_DRAM


def _free_rows(rng: random.Random, busy: list[tuple[int, int]], depth: int) -> tuple[int, int]:
    used = np.zeros(depth, bool)
    for a, b in busy:
        used[max(0, a):min(depth, b + 1)] = True
    free = np.flatnonzero(~used)
    if free.size == 0:
        return NONE_ROWS
    a = int(rng.choice(free))
    b = a
    while b + 1 < depth and not used[b + 1] and rng.random() < 0.9:
        b += 1
    return a, b


def _dram_hits(rng: tuple[int, int], ranges) -> bool:
    a, b = rng
    return a < b and any(a < y and x < b for x, y in (_aligned_out(lo, hi) for lo, hi in ranges))


def _row_hits(rows: tuple[int, int], ranges) -> bool:
    a, b = rows
    return a <= b and any(a <= y and x <= b for x, y in ranges)


def scenario(kind: str, rng: random.Random, r: Ranges, depth: int, window: tuple[int, int]) -> Footprint | None:
    """The footprint of one case for a group touching r (None: the group does not suit the kind). The single
    kinds overlap exactly one kind of action (so exactly that hold must show); "all" overlaps everything it
    can; "invalid" keeps fgn_valid low first; "invalid" and "disjoint" footprints touch nothing of the group."""
    ld_dram = [(lo, hi) for _, lo, hi, _ in r.loads]
    ld_rows = [x[3] for x in r.loads if x[3] is not None]
    nest_rows = [r.nest_ow] if r.nest_ow is not None else []
    f = Footprint(kind, hold_len=rng.randrange(5, 300))
    if kind == "ld" and ld_dram:
        f.wr = _around(rng, *rng.choice(ld_dram))
        ok = not _dram_hits(f.wr, r.stores)
    elif kind == "ld_obuf" and ld_rows:
        f.obuf = _rows_at(rng, *rng.choice(ld_rows))
        ok = not _row_hits(f.obuf, nest_rows)
    elif kind == "nest" and nest_rows:
        f.obuf = _rows_at(rng, *r.nest_ow)
        ok = not _row_hits(f.obuf, ld_rows)
    elif kind == "st" and r.stores:
        rr = _around(rng, *rng.choice(r.stores))
        if rng.random() < 0.5:
            f.rd = rr
        else:
            f.wr = rr
        ok = not _dram_hits(f.wr, ld_dram)
    elif kind == "all" and (ld_dram or nest_rows or r.stores):
        if ld_dram:
            f.wr = _around(rng, *rng.choice(ld_dram))
        if r.stores:
            f.rd = _around(rng, *rng.choice(r.stores))
        rows = ld_rows + nest_rows
        if rows:
            f.obuf = _rows_at(rng, *rng.choice(rows))
        kind, ok = "any", True
    elif kind in ("invalid", "disjoint"):
        f.wr = _free_dram(rng, ld_dram + r.stores, window)
        f.rd = _free_dram(rng, ld_dram + r.stores, window)
        f.obuf = _free_rows(rng, ld_rows + nest_rows, depth)
        f.after_done = True
        f.invalid = kind == "invalid"
        f.expect = "any" if f.invalid else ""
        return f
    else:
        return None
    f.expect = "ld" if kind == "ld_obuf" else kind
    return f if ok else None


class ForeignGroup:
    """Drives fgn_* and plays the foreign group for one systolic-array group (see the module docstring)."""

    def __init__(self, fp: Footprint, ram, obuf_bytes: np.ndarray, row_bytes: int, depth: int, rng: random.Random):
        self.fp, self.ram, self.rng = fp, ram, rng
        self.obuf0 = obuf_bytes.copy()          # OBUF before the group (the reference's)
        self.row, self.depth = row_bytes, depth
        self.problems: list[str] = []
        self.waits = {"ld": 0, "st": 0, "nest": 0}
        self.obuf_reads = 0
        self.fell_at: int | None = None
        self.done_at: int | None = None
        self.ref_writes: list[tuple[int, bytes]] = []   # RAM address, bytes (the foreign group's stores)
        self.rd0 = b""

    # ---- the foreign group's effects ----
    def _write(self) -> None:
        lo, hi = self.fp.wr
        if lo < hi:
            data = bytes(self.rng.getrandbits(8) for _ in range(hi - lo))
            self.ram.write(lo, data)
            self.ref_writes.append((lo, data))

    def begin(self, dut) -> None:
        """Drive the footprint (called in the cycle the driver pulses start)."""
        fp = self.fp
        lo, hi = fp.rd
        self.rd0 = self.ram.read(lo, hi - lo) if lo < hi else b""
        dut.fgn_active.value = 1
        dut.fgn_valid.value = 0 if fp.invalid else 1
        dut.fgn_obuf_lo.value = fp.obuf[0] & 0xFFFFFFFF
        dut.fgn_obuf_hi.value = fp.obuf[1] & 0xFFFFFFFF
        dut.fgn_wr_lo.value, dut.fgn_wr_hi.value = fp.wr
        dut.fgn_rd_lo.value, dut.fgn_rd_hi.value = fp.rd
        if fp.after_done:
            self._write()    # disjoint from the group: when the foreign group writes does not matter

    def _finish(self, dut, cycle: int) -> None:
        lo, hi = self.fp.rd
        if lo < hi and self.ram.read(lo, hi - lo) != self.rd0:
            self.problems.append(f"the engine wrote DRAM [0x{lo:x}, 0x{hi:x}) before the foreign group read it")
        if not self.fp.after_done:
            self._write()
        dut.fgn_active.value = 0
        dut.fgn_valid.value = 0
        dut.obuf_re.value = 0
        self.fell_at = cycle

    async def run(self, dut, hang: int) -> None:
        """From the start pulse until fgn_active falls: once the engine has waited fp.hold_len cycles, or
        (after_done) once done was seen; at the latest after `hang` cycles (a problem)."""
        fp = self.fp
        axi = [(ifc, len(getattr(dut, f"m_axi_{ifc}_rdata")) // 8) for ifc in ("ibuf", "param", "obuf")]
        rows = [r for r in range(fp.obuf[0], fp.obuf[1] + 1) if 0 <= r < self.depth]
        pending = None
        cycle = 0
        while True:
            await FallingEdge(dut.clk)
            cycle += 1
            # the foreign group's OBUF reads: row asked in the previous cycle, data now
            if pending is not None:
                got = int(dut.obuf_rdata.value).to_bytes(self.row, "little")
                want = bytes(self.obuf0[pending * self.row:(pending + 1) * self.row])
                if got != want:
                    self.problems.append(f"foreign read of OBUF row {pending} at cycle {cycle}: the row changed "
                                         "while the foreign group runs")
                self.obuf_reads += 1
                pending = None
            if self.fell_at is not None:
                return
            waited = sum(self.waits.values())
            if fp.invalid and waited >= fp.hold_len:
                dut.fgn_valid.value = 1
            if cycle > hang:
                self.problems.append(f"fgn_active still high after {hang} cycles: " + (
                    "the engine did not finish (it waited on a footprint it does not touch)" if fp.after_done
                    else f"the engine waited only {waited} cycles (an overlapping action was not held?)"))
                self._finish(dut, cycle)
                continue
            if (self.done_at is not None) if fp.after_done else (waited >= fp.hold_len or self.done_at is not None):
                self._finish(dut, cycle)
                continue
            if rows:
                pending = rows[cycle % len(rows)]
                dut.obuf_re.value, dut.obuf_raddr.value = 1, pending
            await ReadOnly()
            # what the engine does at the next rising edge, with fgn_active high
            for name in ("ld", "st", "nest"):
                self.waits[name] += int(getattr(dut, f"fgn_wait_{name}").value)
            if int(dut.done.value) and self.done_at is None:
                self.done_at = cycle
            self._check(dut, axi)

    def _check(self, dut, axi) -> None:
        fp = self.fp

        def hit(lo, hi, rng):
            return rng[0] < rng[1] and lo < rng[1] and rng[0] < hi

        for ifc, beat in axi:
            if int(getattr(dut, f"m_axi_{ifc}_arvalid").value) and int(getattr(dut, f"m_axi_{ifc}_arready").value):
                a = int(getattr(dut, f"m_axi_{ifc}_araddr").value) // beat * beat
                n = (int(getattr(dut, f"m_axi_{ifc}_arlen").value) + 1) * beat
                if hit(a, a + n, fp.wr):
                    self.problems.append(f"{ifc} read burst [0x{a:x}, 0x{a + n:x}) while the foreign group may "
                                         f"write [0x{fp.wr[0]:x}, 0x{fp.wr[1]:x})")
        if int(dut.m_axi_obuf_awvalid.value) and int(dut.m_axi_obuf_awready.value):
            beat = axi[2][1]
            a = int(dut.m_axi_obuf_awaddr.value) // beat * beat
            n = (int(dut.m_axi_obuf_awlen.value) + 1) * beat
            if hit(a, a + n, fp.wr) or hit(a, a + n, fp.rd):
                self.problems.append(f"obuf write burst [0x{a:x}, 0x{a + n:x}) overlaps the foreign group's DRAM "
                                     "footprint")
        if int(dut.ob_we.value):
            w = int(dut.ob_waddr.value)
            if fp.obuf[0] <= w <= fp.obuf[1]:
                self.problems.append(f"OBUF row {w} written while the foreign group may read rows "
                                     f"{fp.obuf[0]}..{fp.obuf[1]}")

    def verdict(self, perf_stall: int) -> list[str]:
        """Problems after the group: monitor findings, and the holds the case must (not) show."""
        p = list(self.problems)
        fp = self.fp
        if not fp.expect and any(self.waits.values()):
            p.append(f"the engine waited on a disjoint footprint ({self.waits})")
        if fp.expect == "any" and not any(self.waits.values()):
            p.append("no hold although the footprint overlaps the group (or is not valid)")
        if fp.expect in self.waits and not self.waits[fp.expect]:
            p.append(f"no {fp.expect} hold although the footprint overlaps it")
        for name, n in self.waits.items():
            if fp.expect in self.waits and name != fp.expect and n:
                p.append(f"{n} cycles of {name} hold, but the footprint overlaps only {fp.expect} actions")
        if not fp.after_done and self.done_at is not None:
            p.append(f"the group finished at cycle {self.done_at} while the foreign group still ran")
        if perf_stall < self.waits["nest"]:
            p.append(f"perf_array_stall {perf_stall} < nest hold cycles {self.waits['nest']}")
        return p
