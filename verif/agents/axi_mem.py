"""The AXI4 memory agent: one shared DRAM behind any number of AXI4 master ports of a DUT.

    dram = SharedDram(1 << 20)
    mem = AxiMemAgent.create("mem", env)                     # a pyuvm component; ConfigDB: DUT
    mem.attach(dut, [("ibuf", "m_axi_ibuf"), ...], dram, clock_period_ps, seed)   # after reset is asserted
    mem.set_mode("random")                                   # MODES: ideal, random, slow, bursty
    dram.errors.append(ErrorRange(0x8000, 0x9000, SLVERR))   # answer bursts touching the range with SLVERR
    mem.stall("ibuf", "r")                                   # stop a channel (AXI timeout tests); mem.release()

Per port a responder (:class:`AxiMemPort`) serves reads and writes in order (the DUTs use one ID) from the
shared :class:`SharedDram`, through cocotbext-axi's channel models (AR/AW/W sinks, R/B sources). Timing
comes from a :class:`TimingMode`: per-channel pause densities (AR/AW/W ready low, R/B valid low), pause run
lengths (bursty backpressure) and random read latency (AR handshake to first R beat) and write latency
(last W beat to B). One coroutine drives every channel's pause flag (nothing runs per cycle in the ideal
mode). A burst that touches an :class:`ErrorRange` is answered with its response (SLVERR or DECERR) on
every beat (reads, data zero) or on B (writes, the data is dropped); a burst outside the memory gets DECERR.

A passive monitor per port (:class:`AxiPortMonitor`, on cocotbext-axi's channel monitors, independent of
the responder) rebuilds every burst from the pins, checks the AXI4 rules the GeneSys masters keep (INCR,
full-width beats, at most MAX_BEATS beats, no 4 KiB crossing, WLAST on the last beat, W beats = AWLEN + 1)
and counts bursts, beats, strobed bytes, error responses, outstanding bursts and the burst-length classes.
Every completed burst is published as a :class:`BurstObs` on the agent's analysis port.
"""

from __future__ import annotations

import logging
import os
import random
from collections import deque
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, Event, RisingEdge
from cocotbext.axi import AxiBus
from cocotbext.axi.axi_channels import (
    AxiARMonitor,
    AxiARSink,
    AxiAWMonitor,
    AxiAWSink,
    AxiBMonitor,
    AxiBSource,
    AxiRMonitor,
    AxiRSource,
    AxiWMonitor,
    AxiWSink,
)
from cocotbext.axi.reset import Reset
from pyuvm import ConfigDB, uvm_analysis_port, uvm_component

BOUNDARY = 4096
MAX_BEATS = 256
OKAY, EXOKAY, SLVERR, DECERR = 0, 1, 2, 3
RESP_NAMES = {OKAY: "OKAY", EXOKAY: "EXOKAY", SLVERR: "SLVERR", DECERR: "DECERR"}
CHANNELS = ("ar", "r", "aw", "w", "b")


# ---- the memory ---------------------------------------------------------------------------------------
@dataclass
class ErrorRange:
    """Bursts that touch [lo, hi) (on the given ports, in the given directions) get ``resp``."""

    lo: int
    hi: int
    resp: int = SLVERR
    reads: bool = True
    writes: bool = True
    ports: tuple[str, ...] | None = None  # None: every port

    def hits(self, port: str, is_write: bool, lo: int, hi: int) -> bool:
        if (is_write and not self.writes) or (not is_write and not self.reads):
            return False
        if self.ports is not None and port not in self.ports:
            return False
        return lo < self.hi and hi > self.lo


class SharedDram:
    """The bytes behind every port (a numpy uint8 array), and the error ranges that override responses."""

    def __init__(self, size: int):
        self.data = np.zeros(int(size), dtype=np.uint8)
        self.errors: list[ErrorRange] = []

    @property
    def size(self) -> int:
        return int(self.data.size)

    def clear(self, fill: int = 0) -> None:
        self.data[:] = fill
        self.errors.clear()

    def load(self, addr: int, data) -> None:
        b = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else \
            data.reshape(-1).view(np.uint8)
        if addr < 0 or addr + b.size > self.size:
            raise ValueError(f"load of {b.size} bytes at 0x{addr:x} outside the {self.size}-byte DRAM")
        self.data[addr:addr + b.size] = b

    def read(self, addr: int, n: int) -> np.ndarray:
        return self.data[addr:addr + n].copy()

    def response(self, port: str, is_write: bool, lo: int, hi: int) -> int:
        """The response of a burst covering bytes [lo, hi)."""
        for e in self.errors:
            if e.hits(port, is_write, lo, hi):
                return e.resp
        if lo < 0 or hi > self.size:
            return DECERR
        return OKAY


# ---- timing -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimingMode:
    """Backpressure and latency of the memory. ``pause``: probability that a channel starts a pause in a
    cycle (AR/AW/W: ready low; R/B: valid low); ``run``: pause runs last 1..run cycles."""

    name: str
    pause: dict = field(default_factory=dict)  # channel -> density
    run: int = 1
    read_latency: tuple[int, int] = (0, 0)   # cycles from the AR handshake to the first R beat
    write_latency: tuple[int, int] = (0, 0)  # cycles from the last W beat to B

    @property
    def paused(self) -> bool:
        return any(v > 0 for v in self.pause.values())


MODES: dict[str, TimingMode] = {
    "ideal": TimingMode("ideal"),
    "random": TimingMode("random", dict.fromkeys(CHANNELS, 0.2), 1, (0, 12), (0, 8)),
    "slow": TimingMode("slow", {"ar": 0.3, "r": 0.5, "aw": 0.3, "w": 0.5, "b": 0.3}, 2, (20, 60), (10, 40)),
    "bursty": TimingMode("bursty", {"ar": 0.02, "r": 0.03, "aw": 0.02, "w": 0.03, "b": 0.02}, 40, (0, 4), (0, 4)),
}


def cycle_now(period_ps: int) -> int:
    return int(get_sim_time("ps")) // period_ps


# ---- the responder ------------------------------------------------------------------------------------
class AxiMemPort(Reset):
    """Serves one AXI4 master port from the shared DRAM: reads and writes each in order (one ID)."""

    def __init__(self, name: str, dut, prefix: str, clk, rst, dram: SharedDram, period_ps: int,
                 rng: random.Random, reset_active_level: bool = False):
        self.name, self.clk, self.dram, self.period = name, clk, dram, period_ps
        self.rng = rng
        self.mode = MODES["ideal"]
        bus = AxiBus.from_prefix(dut, prefix)
        self.ar = AxiARSink(bus.read.ar, clk, rst, reset_active_level)
        self.r = AxiRSource(bus.read.r, clk, rst, reset_active_level)
        self.aw = AxiAWSink(bus.write.aw, clk, rst, reset_active_level)
        self.w = AxiWSink(bus.write.w, clk, rst, reset_active_level)
        self.b = AxiBSource(bus.write.b, clk, rst, reset_active_level)
        for ch in (self.ar, self.r, self.aw, self.w, self.b):
            ch.queue_occupancy_limit = 2
            ch.log.setLevel("WARNING")
        self.lanes = len(self.r.bus.rdata) // 8
        self.channels = {"ar": self.ar, "r": self.r, "aw": self.aw, "w": self.w, "b": self.b}
        self.error_bursts: list[tuple[str, int, int]] = []  # (R/W, address, resp) answered with an error
        self._bq: deque = deque()  # (due cycle, B transaction) of writes whose data is in
        self._b_event = Event()
        self._tasks: list = []
        self._init_reset(rst, reset_active_level)

    def _handle_reset(self, state):
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        self._bq.clear()
        # A task cancelled while it waited to queue a beat may have queued it after the channel's own reset
        # handler ran: flush every channel again, so no stale beat survives into the next transaction.
        for ch in self.channels.values():
            ch.clear()
        if not state:
            self._tasks = [cocotb.start_soon(self._reads()), cocotb.start_soon(self._writes()),
                           cocotb.start_soon(self._responses())]

    def _latency(self, span: tuple[int, int]) -> int:
        lo, hi = span
        return self.rng.randint(lo, hi) if hi > lo else lo

    async def _wait_until(self, cycle: int) -> None:
        left = cycle - cycle_now(self.period)
        if left > 0:
            await ClockCycles(self.clk, left)

    def _span(self, addr: int, length: int, size: int) -> tuple[int, int, int]:
        nb = 1 << size
        aligned = addr - addr % nb
        return aligned, aligned + nb * (length + 1), nb

    async def _reads(self):
        lanes = self.lanes
        while True:
            ar = await self.ar.recv()
            t = cycle_now(self.period)
            arid, addr, length, size = int(ar.arid), int(ar.araddr), int(ar.arlen), int(ar.arsize)
            lo, hi, nb = self._span(addr, length, size)
            resp = self.dram.response(self.name, False, lo, hi)
            if resp != OKAY:
                self.error_bursts.append(("R", addr, resp))
            await self._wait_until(t + self._latency(self.mode.read_latency))
            cur = lo
            for n in range(length + 1):
                word = cur - cur % lanes
                r = self.r._transaction_obj()
                r.rid, r.rresp, r.rlast = arid, resp, int(n == length)
                r.rdata = int.from_bytes(self.dram.data[word:word + lanes].tobytes(), "little") if resp == OKAY else 0
                await self.r.send(r)
                cur += nb

    async def _writes(self):
        lanes = self.lanes
        nstrb = max(1, lanes // 8)
        while True:
            aw = await self.aw.recv()
            awid, addr, length, size = int(aw.awid), int(aw.awaddr), int(aw.awlen), int(aw.awsize)
            lo, hi, nb = self._span(addr, length, size)
            resp = self.dram.response(self.name, True, lo, hi)
            if resp != OKAY:
                self.error_bursts.append(("W", addr, resp))
            cur = lo
            for _ in range(length + 1):
                w = await self.w.recv()
                if resp == OKAY:
                    word = cur - cur % lanes
                    data = np.frombuffer(int(w.wdata).to_bytes(lanes, "little"), dtype=np.uint8)
                    strb = int(w.wstrb)
                    mask = np.unpackbits(np.frombuffer(strb.to_bytes(nstrb, "little"), dtype=np.uint8),
                                         bitorder="little")[:lanes].astype(bool)
                    seg = self.dram.data[word:word + lanes]
                    seg[mask] = data[mask]
                cur += nb
            b = self.b._transaction_obj()
            b.bid, b.bresp = awid, resp
            self._bq.append((cycle_now(self.period) + 1 + self._latency(self.mode.write_latency), b))
            self._b_event.set()

    async def _responses(self):
        """B responses in order, each no earlier than its due cycle (the write loop never waits for them)."""
        while True:
            if not self._bq:
                self._b_event.clear()
                await self._b_event.wait()
                continue
            due, b = self._bq.popleft()
            await self._wait_until(due)
            await self.b.send(b)


# ---- the monitor --------------------------------------------------------------------------------------
@dataclass
class BurstObs:
    """One burst as seen on the pins."""

    port: str
    write: bool
    addr: int
    beats: int
    size: int
    burst: int
    start: int = 0           # cycle of the address handshake
    end: int = 0             # cycle of the last R beat / of B
    strobed: int = 0         # bytes with their strobe set (writes)
    resp: int = OKAY         # worst response of the burst
    violations: list[str] = field(default_factory=list)


def check_burst(addr: int, length: int, size: int, burst: int, bus_bytes: int, max_beats: int = MAX_BEATS) -> list[str]:
    """The AXI4 rules every GeneSys master keeps."""
    out = []
    beats = length + 1
    if burst != 1:
        out.append(f"burst at 0x{addr:x}: type {burst}, expected INCR (1)")
    if (1 << size) != bus_bytes:
        out.append(f"burst at 0x{addr:x}: beats of {1 << size} bytes, expected the full bus ({bus_bytes})")
    if beats > min(MAX_BEATS, max_beats):
        out.append(f"burst at 0x{addr:x}: {beats} beats, more than {min(MAX_BEATS, max_beats)}")
    nb = 1 << size
    aligned = addr - addr % nb
    if aligned // BOUNDARY != (aligned + beats * nb - 1) // BOUNDARY:
        out.append(f"burst at 0x{addr:x} of {beats} beats crosses the 4 KiB boundary at "
                   f"0x{(aligned // BOUNDARY + 1) * BOUNDARY:x}")
    return out


def length_class(beats: int) -> str:
    return "1" if beats == 1 else "2-15" if beats < 16 else "16-255" if beats < 256 else "256"


class AxiPortMonitor(Reset):
    """Passive monitor of one AXI4 port (its own channel monitors; it never drives a pin). A reset of the DUT
    forgets the bursts in flight."""

    def __init__(self, name: str, dut, prefix: str, clk, rst, period_ps: int, publish, max_beats: int = MAX_BEATS,
                 reset_active_level: bool = False):
        self.name, self.period, self.publish, self.max_beats = name, period_ps, publish, max_beats
        bus = AxiBus.from_prefix(dut, prefix)
        mons = [AxiARMonitor(bus.read.ar, clk, rst, reset_active_level),
                AxiRMonitor(bus.read.r, clk, rst, reset_active_level),
                AxiAWMonitor(bus.write.aw, clk, rst, reset_active_level),
                AxiWMonitor(bus.write.w, clk, rst, reset_active_level),
                AxiBMonitor(bus.write.b, clk, rst, reset_active_level)]
        for m in mons:
            m.log.setLevel("WARNING")
        self.bus_bytes = len(mons[1].bus.rdata) // 8
        self.trace = name in os.environ.get("GENESYS_AXI_TRACE", "").split(",")  # log every beat (debugging)
        self.log = logging.getLogger(f"cocotb.axi_mon.{name}")
        self.reads: deque[BurstObs] = deque()       # AR seen, last R not yet
        self.w_pending: deque[BurstObs] = deque()   # AW seen, its W beats not all seen
        self.w_beats_seen = 0
        self.orphan_w: deque[tuple[int, int]] = deque()  # W beats ahead of their AW: (strobe bytes, last)
        self.b_pending: deque[BurstObs] = deque()   # all W beats seen, B not yet
        self.violations: list[str] = []
        self.stats = {"read_bursts": 0, "write_bursts": 0, "read_beats": 0, "write_beats": 0, "read_bytes": 0,
                      "write_bytes": 0, "read_errors": 0, "write_errors": 0, "max_outstanding_reads": 0,
                      "max_outstanding_writes": 0, "lengths": {}}
        self._r_seen = 0
        self._tasks = [cocotb.start_soon(f(m)) for f, m in zip(
            (self._ar, self._r, self._aw, self._w, self._b), mons, strict=True)]
        self._init_reset(rst, reset_active_level)

    def _handle_reset(self, state):
        if state:
            self.reset()

    def stop(self) -> None:
        for t in self._tasks:
            t.cancel()

    def reset(self) -> None:
        """Forget bursts in flight (the DUT was reset)."""
        self.reads.clear()
        self.w_pending.clear()
        self.b_pending.clear()
        self.orphan_w.clear()
        self.w_beats_seen = 0
        self._r_seen = 0

    def _now(self) -> int:
        return cycle_now(self.period)

    def _rules(self, obs: BurstObs, length: int) -> None:
        obs.violations = check_burst(obs.addr, length, obs.size, obs.burst, self.bus_bytes, self.max_beats)
        self.violations += [f"{self.name}: {v}" for v in obs.violations]
        cls = f"{'W' if obs.write else 'R'}:{length_class(obs.beats)}"
        self.stats["lengths"][cls] = self.stats["lengths"].get(cls, 0) + 1

    async def _ar(self, mon):
        while True:
            t = await mon.recv()
            obs = BurstObs(self.name, False, int(t.araddr), int(t.arlen) + 1, int(t.arsize), int(t.arburst),
                           start=self._now())
            if self.trace:
                self.log.info("AR %s 0x%x len %d", self.name, obs.addr, obs.beats)
            self._rules(obs, int(t.arlen))
            self.reads.append(obs)
            self.stats["read_bursts"] += 1
            self.stats["max_outstanding_reads"] = max(self.stats["max_outstanding_reads"], len(self.reads))

    async def _r(self, mon):
        while True:
            t = await mon.recv()
            if not self.reads:
                self.violations.append(f"{self.name}: R beat without an outstanding read burst")
                continue
            obs = self.reads[0]
            if self.trace:
                self.log.info("R %s 0x%x beat %d: %s resp %d", self.name, obs.addr, self._r_seen,
                              int(t.rdata).to_bytes(self.bus_bytes, "little").hex(), int(t.rresp))
            self._r_seen += 1
            seen = self._r_seen
            self.stats["read_beats"] += 1
            obs.resp = max(obs.resp, int(t.rresp))
            last = int(t.rlast)
            if last != (seen == obs.beats):
                self.violations.append(f"{self.name}: RLAST {last} on beat {seen} of the {obs.beats}-beat read "
                                       f"at 0x{obs.addr:x}")
            if seen == obs.beats:
                self.reads.popleft()
                self._r_seen = 0
                obs.end = self._now()
                self.stats["read_bytes"] += obs.beats * (1 << obs.size)
                self.stats["read_errors"] += obs.resp >= SLVERR
                self.publish(obs)

    async def _aw(self, mon):
        while True:
            t = await mon.recv()
            obs = BurstObs(self.name, True, int(t.awaddr), int(t.awlen) + 1, int(t.awsize), int(t.awburst),
                           start=self._now())
            if self.trace:
                self.log.info("AW %s 0x%x len %d", self.name, obs.addr, obs.beats)
            self._rules(obs, int(t.awlen))
            self.w_pending.append(obs)
            self.stats["write_bursts"] += 1
            outstanding = len(self.w_pending) + len(self.b_pending)
            self.stats["max_outstanding_writes"] = max(self.stats["max_outstanding_writes"], outstanding)
            while self.orphan_w and self.w_pending:
                self._w_beat(*self.orphan_w.popleft())

    async def _w(self, mon):
        nstrb = self.bus_bytes
        while True:
            t = await mon.recv()
            strobed = bin(int(t.wstrb) & ((1 << nstrb) - 1)).count("1")
            if self.trace:
                self.log.info("W %s: %s strb 0x%x last %d", self.name,
                              int(t.wdata).to_bytes(self.bus_bytes, "little").hex(), int(t.wstrb), int(t.wlast))
            self.stats["write_beats"] += 1
            self.stats["write_bytes"] += strobed
            if self.w_pending:
                self._w_beat(strobed, int(t.wlast))
            else:
                self.orphan_w.append((strobed, int(t.wlast)))

    def _w_beat(self, strobed: int, last: int) -> None:
        obs = self.w_pending[0]
        self.w_beats_seen += 1
        obs.strobed += strobed
        if last != (self.w_beats_seen == obs.beats):
            self.violations.append(f"{self.name}: WLAST {last} on beat {self.w_beats_seen} of the {obs.beats}-beat "
                                   f"write at 0x{obs.addr:x}")
        if self.w_beats_seen == obs.beats:
            self.w_pending.popleft()
            self.w_beats_seen = 0
            self.b_pending.append(obs)

    async def _b(self, mon):
        while True:
            t = await mon.recv()
            if not self.b_pending:
                self.violations.append(f"{self.name}: B response without a completed write burst")
                continue
            obs = self.b_pending.popleft()
            obs.resp = int(t.bresp)
            obs.end = self._now()
            self.stats["write_errors"] += obs.resp >= SLVERR
            self.publish(obs)


# ---- the agent ----------------------------------------------------------------------------------------
class AxiMemAgent(uvm_component):
    """Responders and monitors of every port over one SharedDram; the analysis port ``ap`` carries BurstObs."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.ports: dict[str, AxiMemPort] = {}
        self.monitors: dict[str, AxiPortMonitor] = {}
        self.mode = MODES["ideal"]
        self._frozen: set[tuple[str, str]] = set()
        self._pause_task = None
        self.bursts = 0

    def attach(self, dut, ports: list[tuple[str, str]], dram: SharedDram, period_ps: int, seed: int = 1,
               clk=None, rst=None, max_beats: int = MAX_BEATS) -> None:
        """Create a responder and a monitor per (name, signal prefix). Call with reset asserted."""
        clk = clk if clk is not None else dut.clk
        rst = rst if rst is not None else dut.rst_n
        self.dram, self.period, self.clk = dram, period_ps, clk
        self.rng = random.Random(seed * 7919 + 17)
        for k, (name, prefix) in enumerate(ports):
            self.ports[name] = AxiMemPort(name, dut, prefix, clk, rst, dram, period_ps,
                                          random.Random(seed * 1000 + k))
            self.monitors[name] = AxiPortMonitor(name, dut, prefix, clk, rst, period_ps, self._publish, max_beats)
        ConfigDB().set(None, "*", "AXI_MEM", self)

    def _publish(self, obs: BurstObs) -> None:
        self.bursts += 1
        self.ap.write(obs)

    # ---- timing control ----
    def set_mode(self, mode: str | TimingMode) -> None:
        self.mode = MODES[mode] if isinstance(mode, str) else mode
        for p in self.ports.values():
            p.mode = self.mode
        self._restart_pauses()

    def stall(self, port: str, *channels: str) -> None:
        """Hold the channels of a port paused (ready/valid low) until release()."""
        for ch in channels or CHANNELS:
            self._frozen.add((port, ch))
            self.ports[port].channels[ch].pause = True
        self._restart_pauses()

    def release(self) -> None:
        self._frozen.clear()
        for p in self.ports.values():
            for ch in p.channels.values():
                ch.pause = False
        self._restart_pauses()

    def _restart_pauses(self) -> None:
        if self._pause_task is not None:
            self._pause_task.cancel()
            self._pause_task = None
        for name, p in self.ports.items():  # a pause in progress must not outlive its mode
            for ch, obj in p.channels.items():
                obj.pause = (name, ch) in self._frozen
        if self.mode.paused:
            self._pause_task = cocotb.start_soon(self._pauses())

    async def _pauses(self):
        """One coroutine for every channel's pause flag: a pause starts with the channel's density and lasts
        1..run cycles."""
        rng, mode = self.rng, self.mode
        slots = [(name, ch, p.channels[ch], mode.pause.get(ch, 0.0))
                 for name, p in self.ports.items() for ch in CHANNELS if mode.pause.get(ch, 0.0) > 0]
        left = [0] * len(slots)
        edge = RisingEdge(self.clk)
        while True:
            for i, (name, chname, ch, density) in enumerate(slots):
                if (name, chname) in self._frozen:
                    continue
                if left[i] > 0:
                    left[i] -= 1
                    continue
                if rng.random() < density:
                    left[i] = rng.randint(1, mode.run) - 1
                    ch.pause = True
                else:
                    ch.pause = False
            await edge

    # ---- results ----
    def violations(self) -> list[str]:
        return [v for m in self.monitors.values() for v in m.violations]

    def error_bursts(self) -> list[tuple[str, str, int, int]]:
        """(port, R/W, address, resp) of every burst the responders answered with an error."""
        return [(name, *e) for name, p in self.ports.items() for e in p.error_bursts]

    def clear_errors(self) -> None:
        for p in self.ports.values():
            p.error_bursts.clear()

    def stats(self) -> dict[str, dict]:
        return {name: {**m.stats, "lengths": dict(m.stats["lengths"])} for name, m in self.monitors.items()}

    def snapshot_stats(self) -> dict[str, dict]:
        """A copy of the per-port counts (subtract two snapshots to get one run's traffic)."""
        return self.stats()

    def reset_monitors(self) -> None:
        for m in self.monitors.values():
            m.reset()


def stats_delta(after: dict[str, dict], before: dict[str, dict]) -> dict[str, dict]:
    """Per-port counts of the traffic between two snapshots (max_outstanding_* are the later values)."""
    out = {}
    for port, a in after.items():
        b = before.get(port, {})
        d = {}
        for k, v in a.items():
            if k == "lengths":
                d[k] = {c: n - b.get(k, {}).get(c, 0) for c, n in v.items() if n - b.get(k, {}).get(c, 0)}
            elif k.startswith("max_"):
                d[k] = v
            else:
                d[k] = v - b.get(k, 0)
        out[port] = d
    return out


__all__ = ["AxiMemAgent", "AxiMemPort", "AxiPortMonitor", "BurstObs", "DECERR", "ErrorRange", "MODES", "OKAY",
           "RESP_NAMES", "SLVERR", "SharedDram", "TimingMode", "check_burst", "cycle_now", "length_class",
           "stats_delta"]
