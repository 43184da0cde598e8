"""Components of the DMA environment: sequence item, driver (command + stream side), the pin monitor
(descriptor, AXI channels, stream side, status), the AXI burst-rule checker, scoreboard and coverage.

Timing discipline: the testbench drives just after a falling edge; the monitor samples in the read-only
phase after the falling edge, where every valid/ready pair shows the handshake of the next rising edge
(the AxiRam model and the DUT both change their outputs only after rising edges).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cocotb.triggers import FallingEdge, ReadOnly
from pyuvm import ConfigDB, uvm_analysis_port, uvm_component, uvm_driver, uvm_sequence_item, uvm_subscriber

from . import coverage as cov
from .common import ERROR_PAGE, write_report
from .reference import (
    BOUNDARY,
    LOOPS,
    Burst,
    Descriptor,
    bursts,
    footprint,
    load_stream,
    request_addresses,
    store,
    stream_addresses,
)

HANG_CYCLES = 200_000  # a transfer that has not reported status after this many cycles is a hang


class DmaItem(uvm_sequence_item):
    """One transfer descriptor, the bytes a store streams in, and the stream backpressure to apply."""

    def __init__(self, name: str = "dma_item", desc: Descriptor | None = None, data: bytes = b"",
                 ready_prob: float = 1.0):
        super().__init__(name)
        self.desc = desc
        self.data = data              # stores: the on-chip byte stream
        self.ready_prob = ready_prob  # probability the stream side is ready/valid in a cycle
        self.status: tuple[int, int, int] | None = None  # (error, resp, addr) reported by the DUT

    def __str__(self) -> str:
        d = self.desc
        return (f"{'ST' if d.store else 'LD'} addr=0x{d.addr:x} iters={d.iters} strides={d.strides} "
                f"req={d.req}")


def _pack_loops(values: list[int], width: int) -> int:
    out = 0
    for k, v in enumerate(values):
        out |= (v & ((1 << width) - 1)) << (k * width)
    return out


class DmaDriver(uvm_driver):
    """Drives the command port and plays the on-chip side: a store's producer, a load's consumer."""

    def build_phase(self):
        self.dut = ConfigDB().get(self, "", "DUT")
        self.p = ConfigDB().get(self, "", "PARAMS")
        self.rng = random.Random(ConfigDB().get(self, "", "SEED"))

    async def run_phase(self):
        dut, p = self.dut, self.p
        while True:
            item = await self.seq_item_port.get_next_item()
            d = item.desc
            await FallingEdge(dut.clk)
            dut.cmd_store.value = int(d.store)
            dut.cmd_addr.value = d.addr & ((1 << p.ADDR_WIDTH) - 1)
            dut.cmd_iters_m1.value = _pack_loops([i - 1 for i in d.iters], p.ITER_WIDTH)
            dut.cmd_strides.value = _pack_loops(d.strides, p.STRIDE_WIDTH)
            dut.cmd_req_bytes.value = d.req
            dut.cmd_valid.value = 1
            while not int(dut.cmd_ready.value):
                await FallingEdge(dut.clk)
            await FallingEdge(dut.clk)  # the command was taken at the rising edge in between
            dut.cmd_valid.value = 0
            pos, cycles = 0, 0
            while True:
                if int(dut.sts_valid.value):
                    item.status = (int(dut.sts_error.value), int(dut.sts_err_resp.value),
                                   int(dut.sts_err_addr.value))
                    break
                go = self.rng.random() < item.ready_prob
                if d.store:
                    n = bin(int(dut.st_keep.value)).count("1")
                    chunk = item.data[pos:pos + n]
                    dut.st_data.value = int.from_bytes(chunk, "little") if chunk else 0
                    dut.st_valid.value = int(go and len(chunk) == n and n > 0)
                    if go and n and len(chunk) == n and int(dut.st_ready.value):
                        pos += n
                else:
                    dut.ld_ready.value = int(go)
                cycles += 1
                if cycles > HANG_CYCLES:
                    raise AssertionError(f"DMA hang: no status {HANG_CYCLES} cycles after the command {item}")
                await FallingEdge(dut.clk)
            dut.st_valid.value = 0
            dut.ld_ready.value = 0
            if d.store and pos != len(item.data):
                raise AssertionError(f"the engine took {pos} of the {len(item.data)} stream bytes of {item}")
            self.seq_item_port.item_done()


@dataclass
class DmaObserved:
    """One transfer as seen on the pins."""

    desc: Descriptor
    ax: list[tuple[int, int, int, int]] = field(default_factory=list)  # (addr, len, size, burst) AR or AW
    w: list[tuple[int, int, int]] = field(default_factory=list)        # (wdata, wstrb, wlast)
    stream: bytearray = field(default_factory=bytearray)
    stream_beats: int = 0
    last_flags: list[int] = field(default_factory=list)                 # ld_last/st_last per stream beat
    violations: list[str] = field(default_factory=list)
    crossings: int = 0           # requests of the transfer that cross a 4 KiB boundary
    stream_stalls: int = 0
    max_outstanding: int = 0
    sts_error: int = 0
    sts_resp: int = 0
    sts_addr: int = 0
    cycles: int = 0


def check_burst_rules(addr: int, length: int, size: int, burst: int, bytes_per_beat: int,
                      max_beats: int) -> list[str]:
    """The AXI4 rules every burst of the engine keeps (independent of the reference model)."""
    out = []
    beats = length + 1
    if burst != 1:
        out.append(f"burst at 0x{addr:x}: type {burst}, expected INCR (1)")
    if (1 << size) != bytes_per_beat:
        out.append(f"burst at 0x{addr:x}: size {1 << size} bytes, expected the full bus ({bytes_per_beat})")
    if beats > min(256, max_beats):
        out.append(f"burst at 0x{addr:x}: {beats} beats, more than {min(256, max_beats)}")
    aligned = addr - addr % bytes_per_beat
    if aligned // BOUNDARY != (aligned + beats * bytes_per_beat - 1) // BOUNDARY:
        out.append(f"burst at 0x{addr:x} of {beats} beats crosses the 4 KiB boundary at "
                   f"0x{(aligned // BOUNDARY + 1) * BOUNDARY:x}")
    return out


class DmaMonitor(uvm_component):
    """Samples the command, AXI and stream pins every cycle; publishes one DmaObserved per transfer."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = ConfigDB().get(self, "", "DUT")
        self.p = ConfigDB().get(self, "", "PARAMS")
        self.transfers = 0

    def _desc(self) -> Descriptor:
        dut, p = self.dut, self.p
        it, st = int(dut.cmd_iters_m1.value), int(dut.cmd_strides.value)
        iters = [((it >> (k * p.ITER_WIDTH)) & ((1 << p.ITER_WIDTH) - 1)) + 1 for k in range(LOOPS)]
        strides = []
        for k in range(LOOPS):
            s = (st >> (k * p.STRIDE_WIDTH)) & ((1 << p.STRIDE_WIDTH) - 1)
            strides.append(s - (1 << p.STRIDE_WIDTH) if s >> (p.STRIDE_WIDTH - 1) else s)
        return Descriptor(bool(int(dut.cmd_store.value)), int(dut.cmd_addr.value), iters, strides,
                          int(dut.cmd_req_bytes.value))

    def _rules(self, ax) -> None:
        """A broken AXI rule stops the test at once (before the memory model sees the burst)."""
        bad = check_burst_rules(*ax, self.p.bytes_per_beat, self.p.MAX_BURST_BEATS)
        if bad:
            raise AssertionError("AXI burst rule broken: " + "; ".join(bad))

    async def run_phase(self):
        dut, p = self.dut, self.p
        bpb = p.bytes_per_beat
        obs: DmaObserved | None = None
        outstanding = 0
        while True:
            await FallingEdge(dut.clk)
            await ReadOnly()
            if not int(dut.rst_n.value):
                continue
            if obs is None:
                if int(dut.cmd_valid.value) and int(dut.cmd_ready.value):
                    obs = DmaObserved(self._desc())
                    d = obs.desc
                    if d.req:
                        a = request_addresses(d)
                        obs.crossings = int(((a % BOUNDARY) + d.req > BOUNDARY).sum())
                    outstanding = 0
                continue
            obs.cycles += 1
            if obs.desc.store:
                if int(dut.m_axi_awvalid.value) and int(dut.m_axi_awready.value):
                    ax = (int(dut.m_axi_awaddr.value), int(dut.m_axi_awlen.value), int(dut.m_axi_awsize.value),
                          int(dut.m_axi_awburst.value))
                    obs.ax.append(ax)
                    self._rules(ax)
                if int(dut.m_axi_wvalid.value) and int(dut.m_axi_wready.value):
                    obs.w.append((int(dut.m_axi_wdata.value), int(dut.m_axi_wstrb.value),
                                  int(dut.m_axi_wlast.value)))
                sv, sr = int(dut.st_valid.value), int(dut.st_ready.value)
                if sv and sr:
                    keep = int(dut.st_keep.value)
                    n = _low_mask_bytes(keep, obs, "st_keep")
                    obs.stream += int(dut.st_data.value).to_bytes(bpb, "little")[:n]
                    obs.stream_beats += 1
                    obs.last_flags.append(int(dut.st_last.value))
                elif sr and not sv:
                    obs.stream_stalls += 1
            else:
                if int(dut.m_axi_arvalid.value) and int(dut.m_axi_arready.value):
                    ax = (int(dut.m_axi_araddr.value), int(dut.m_axi_arlen.value), int(dut.m_axi_arsize.value),
                          int(dut.m_axi_arburst.value))
                    obs.ax.append(ax)
                    self._rules(ax)
                    outstanding += 1
                    obs.max_outstanding = max(obs.max_outstanding, outstanding)
                lv, lr = int(dut.ld_valid.value), int(dut.ld_ready.value)
                if lv and lr:
                    keep = int(dut.ld_keep.value)
                    n = _low_mask_bytes(keep, obs, "ld_keep")
                    obs.stream += int(dut.ld_data.value).to_bytes(bpb, "little")[:n]
                    obs.stream_beats += 1
                    obs.last_flags.append(int(dut.ld_last.value))
                    if int(dut.m_axi_rlast.value):
                        outstanding -= 1
                elif lv and not lr:
                    obs.stream_stalls += 1
            if int(dut.sts_valid.value):
                obs.sts_error = int(dut.sts_error.value)
                obs.sts_resp = int(dut.sts_err_resp.value)
                obs.sts_addr = int(dut.sts_err_addr.value)
                self.transfers += 1
                self.ap.write(obs)
                obs = None


def _low_mask_bytes(keep: int, obs: DmaObserved, what: str) -> int:
    n = bin(keep).count("1")
    if keep != (1 << n) - 1 or n == 0:
        obs.violations.append(f"{what} 0x{keep:x} is not a non-empty low-aligned byte mask")
    return n


class DmaScoreboard(uvm_subscriber):
    """Checks each observed transfer against the reference model and the AxiRam contents."""

    def build_phase(self):
        self.p = ConfigDB().get(self, "", "PARAMS")
        self.ram = None     # the AxiRam and a numpy uint8 image kept in step with it: set by the test after
        self.shadow = None  # reset (the AxiRam is created only then)
        self.test = ConfigDB().get(self, "", "TEST_NAME")
        self.checked = 0
        self.failed = 0
        self.messages: list[str] = []

    def _fail(self, obs: DmaObserved, msg: str) -> None:
        self.failed += 1
        if len(self.messages) < 20:
            d = obs.desc
            self.messages.append(f"{'ST' if d.store else 'LD'} addr=0x{d.addr:x} iters={d.iters} "
                                 f"strides={d.strides} req={d.req}: {msg}")

    def write(self, obs: DmaObserved) -> None:
        p, d = self.p, obs.desc
        bpb = p.bytes_per_beat
        exp_bursts = bursts(d, bpb, p.MAX_BURST_BEATS)
        errs: list[str] = list(obs.violations)
        got = [(a, ln) for a, ln, _, _ in obs.ax]
        want = [(b.addr, b.beats - 1) for b in exp_bursts]
        if got != want:
            first = next((i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w), min(len(got), len(want)))
            errs.append(f"bursts differ from the reference split at burst {first}: got "
                        f"{got[first:first + 3]}, expected {want[first:first + 3]} ({len(got)} vs {len(want)} bursts)")
        bad_bursts = [b for b in exp_bursts if ERROR_PAGE <= b.addr < ERROR_PAGE + BOUNDARY]
        exp_status = (1, 2, bad_bursts[0].addr) if bad_bursts else (0, 0, 0)
        if (obs.sts_error, obs.sts_resp, obs.sts_addr if obs.sts_error else 0) != exp_status:
            errs.append(f"status (error, resp, addr) = ({obs.sts_error}, {obs.sts_resp}, 0x{obs.sts_addr:x}), "
                        f"expected ({exp_status[0]}, {exp_status[1]}, 0x{exp_status[2]:x})")
        if len(obs.stream) != d.n_bytes:
            errs.append(f"stream carried {len(obs.stream)} bytes, expected {d.n_bytes}")
        if obs.last_flags and (obs.last_flags[-1] != 1 or any(obs.last_flags[:-1])):
            errs.append("the stream's last flag is not exactly on the final beat")
        if d.store:
            strobes = [s for b in exp_bursts for s in b.strobes(bpb)]
            got_strb = [s for _, s, _ in obs.w]
            if got_strb != strobes:
                k = next((i for i, (g, w) in enumerate(zip(got_strb, strobes, strict=False)) if g != w),
                         min(len(got_strb), len(strobes)))
                errs.append(f"WSTRB differs at W beat {k}: got {got_strb[k:k + 2]}, expected {strobes[k:k + 2]}")
            lasts = [wl for _, _, wl in obs.w]
            exp_lasts = [int(i == b.beats - 1) for b in exp_bursts for i in range(b.beats)]
            if lasts != exp_lasts:
                errs.append("WLAST is not on the last beat of every burst")
            if d.req and len(obs.stream) == d.n_bytes:
                lo, hi = footprint(d)
                keep_err = self.shadow[ERROR_PAGE:ERROR_PAGE + BOUNDARY].copy()
                store(d, self.shadow, bytes(obs.stream))
                self.shadow[ERROR_PAGE:ERROR_PAGE + BOUNDARY] = keep_err  # that page refuses writes
                lo, hi = max(0, lo - 64), min(len(self.shadow), hi + 64)
                got_mem = self.ram.read(lo, hi - lo)
                if got_mem != self.shadow[lo:hi].tobytes():
                    k = next(i for i in range(hi - lo) if got_mem[i] != self.shadow[lo + i])
                    errs.append(f"DRAM byte 0x{lo + k:x} is 0x{got_mem[k]:02x}, expected 0x{int(self.shadow[lo + k]):02x}")
        elif d.req and len(obs.stream) == d.n_bytes:
            expect = load_stream(d, self.shadow)
            addrs = stream_addresses(d)
            for s in range(len(expect)):
                if obs.stream[s] != expect[s] and not ERROR_PAGE <= addrs[s] < ERROR_PAGE + BOUNDARY:
                    errs.append(f"stream byte {s} (DRAM 0x{int(addrs[s]):x}) is 0x{obs.stream[s]:02x}, "
                                f"expected 0x{expect[s]:02x}")
                    break
        self.checked += 1
        for e in errs:
            self._fail(obs, e)

    def check_phase(self):
        write_report(self.test, "scoreboard", {"checked": self.checked, "failed": self.failed,
                                               "messages": self.messages})
        assert self.checked > 0, "the scoreboard checked no transfer"
        assert self.failed == 0, self.messages[0]


class DmaCoverage(uvm_subscriber):
    def build_phase(self):
        self.p = ConfigDB().get(self, "", "PARAMS")
        self.test = ConfigDB().get(self, "", "TEST_NAME")
        self.hits: dict[str, int] = {}

    def write(self, obs: DmaObserved) -> None:
        p = self.p
        longest = min(p.MAX_BURST_BEATS, BOUNDARY // p.bytes_per_beat)  # the 4 KiB rule may bind first
        cov.sample(self.hits, obs, bursts(obs.desc, p.bytes_per_beat, p.MAX_BURST_BEATS), p.bytes_per_beat,
                   longest)

    def report_phase(self):
        write_report(self.test, "coverage", cov.summarize(self.hits))


__all__ = ["Burst", "DmaCoverage", "DmaDriver", "DmaItem", "DmaMonitor", "DmaObserved", "DmaScoreboard"]
