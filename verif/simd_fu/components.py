"""Components of the SIMD function-unit environment: sequence item, driver, pin monitor, scoreboard and
coverage.

Timing discipline: the driver drives just after a falling edge; the monitor samples in the read-only phase
after the falling edge, where in_valid/in_ready/abort show what the next rising edge does and out_* show
the result registered at the previous rising edge. A monitor sample index counts falling edges, so an input
accepted at sample n has its result at sample n + LATENCY (n + DIV_LATENCY for DIV).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from cocotb.triggers import FallingEdge, ReadOnly
from pyuvm import ConfigDB, uvm_analysis_port, uvm_component, uvm_driver, uvm_sequence_item, uvm_subscriber

from . import coverage as cov
from .common import write_report
from .reference import ERR, Op, expected, expected_error

HANG_CYCLES = 1000  # in_ready low for this long is a hang


class FuItem(uvm_sequence_item):
    """One input of the unit (or, with abort, an input presented together with abort)."""

    def __init__(self, name: str = "fu_item", op: Op | None = None, gap: int = 0, abort: bool = False):
        super().__init__(name)
        self.op = op
        self.gap = gap        # idle cycles before the item
        self.abort = abort    # drive abort in the item's cycle (the item is dropped)

    def __str__(self) -> str:
        return f"{self.op.name} fp={int(self.op.fp)}"


def _pack(words: list[int]) -> int:
    out = 0
    for k, w in enumerate(words):
        out |= (w & 0xFFFFFFFF) << (32 * k)
    return out


def _unpack(value: int, lanes: int) -> list[int]:
    return [(value >> (32 * k)) & 0xFFFFFFFF for k in range(lanes)]


class FuDriver(uvm_driver):
    """Presents each item until the unit accepts it (in_ready), then the next one in the following cycle:
    with gap 0 items issue back to back. An abort item is presented for one cycle together with abort."""

    def build_phase(self):
        self.dut = ConfigDB().get(self, "", "DUT")
        self.p = ConfigDB().get(self, "", "PARAMS")
        self.tag = 0

    def start_of_simulation_phase(self):
        names = ("in_valid", "abort", "in_opcode", "in_func", "in_fp", "in_dint", "in_s1int", "in_s2int", "in_a",
                 "in_b", "in_d", "in_tag", "in_ready")
        self.h = {n: getattr(self.dut, n) for n in names}

    def idle(self) -> None:
        self.h["in_valid"].value = 0
        self.h["abort"].value = 0

    def present(self, item: FuItem) -> None:
        h, op = self.h, item.op
        h["in_opcode"].value = op.opcode
        h["in_func"].value = op.func
        h["in_fp"].value = int(op.fp)
        h["in_dint"].value = op.dint
        h["in_s1int"].value = op.s1int
        h["in_s2int"].value = op.s2int
        h["in_a"].value = _pack(op.a)
        h["in_b"].value = _pack(op.b)
        h["in_d"].value = _pack(op.d)
        h["in_tag"].value = self.tag
        self.tag = (self.tag + 1) % (1 << self.p.TAG_WIDTH)
        h["in_valid"].value = 1
        h["abort"].value = int(item.abort)

    async def run_phase(self):
        clk = self.dut.clk
        await FallingEdge(clk)
        while True:
            item = await self.seq_item_port.get_next_item()
            for _ in range(item.gap):
                self.idle()
                await FallingEdge(clk)
            self.present(item)
            waited = 0
            while not item.abort and not int(self.h["in_ready"].value):  # in_ready comes from registers only
                await FallingEdge(clk)
                waited += 1
                if waited > HANG_CYCLES:
                    raise AssertionError(f"in_ready low for {HANG_CYCLES} cycles")
            await FallingEdge(clk)  # accepted (or aborted) at the rising edge in between
            self.idle()             # unless the next item is presented in this same time step
            self.seq_item_port.item_done()


@dataclass
class FuEvent:
    """What one monitor sample saw: an accepted input, a result, or an abort."""

    kind: str                 # "in" | "out" | "abort"
    n: int                    # sample index (falling edges since reset)
    op: Op | None = None
    tag: int = 0
    data: list[int] = field(default_factory=list)
    err: int = 0
    cause: int = 0
    back_to_back: bool = False
    after_stall: bool = False
    div_after_div: bool = False


class FuMonitor(uvm_component):
    """Samples the pins once per cycle; publishes FuEvents in pin order and checks in_ready: low exactly in
    the DIV_CYCLES cycles after a DIV is accepted (until an abort), high otherwise."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = ConfigDB().get(self, "", "DUT")
        self.p = ConfigDB().get(self, "", "PARAMS")
        self.violations: list[str] = []
        self.accepted = 0
        self.samples = 0

    def start_of_simulation_phase(self):
        names = ("rst_n", "in_valid", "in_ready", "abort", "in_opcode", "in_func", "in_fp", "in_dint", "in_s1int",
                 "in_s2int", "in_a", "in_b", "in_d", "in_tag", "out_valid", "out_data", "out_tag", "out_err",
                 "out_err_cause")
        self.h = {n: getattr(self.dut, n) for n in names}

    async def run_phase(self):
        h, p = self.h, self.p
        lanes = p.LANES
        n = 0
        last_in = last_div = None
        stalled = False
        while True:
            await FallingEdge(self.dut.clk)
            await ReadOnly()
            if not int(h["rst_n"].value):
                n, last_in, last_div, stalled = 0, None, None, False
                continue
            n += 1
            self.samples = n
            ov = h["out_valid"].value
            if not ov.is_resolvable:
                self.violations.append(f"sample {n}: out_valid is {ov}")
            elif int(ov):
                raw = h["out_data"].value
                data = _unpack(int(raw), lanes) if raw.is_resolvable else [None] * lanes
                self.ap.write(FuEvent("out", n, tag=int(h["out_tag"].value), data=data,
                                      err=int(h["out_err"].value), cause=int(h["out_err_cause"].value)))
            rdy, iv, ab = int(h["in_ready"].value), int(h["in_valid"].value), int(h["abort"].value)
            busy = last_div is not None and n - last_div <= p.DIV_CYCLES
            if rdy == busy:
                self.violations.append(f"sample {n}: in_ready={rdy}, expected {int(not busy)}")
            if ab:
                self.ap.write(FuEvent("abort", n))
                last_div, stalled = None, False
                continue
            if iv and not rdy:
                stalled = True
            if iv and rdy:
                op = Op(int(h["in_opcode"].value), int(h["in_func"].value), bool(int(h["in_fp"].value)),
                        int(h["in_dint"].value), int(h["in_s1int"].value), int(h["in_s2int"].value),
                        _unpack(int(h["in_a"].value), lanes), _unpack(int(h["in_b"].value), lanes),
                        _unpack(int(h["in_d"].value), lanes))
                is_div = op.name == "DIV"
                ev = FuEvent("in", n, op=op, tag=int(h["in_tag"].value), back_to_back=last_in == n - 1,
                             after_stall=stalled,
                             div_after_div=is_div and last_div is not None and n == last_div + p.DIV_CYCLES + 1)
                self.ap.write(ev)
                self.accepted += 1
                last_in, stalled = n, False
                if is_div:
                    last_div = n


class FuScoreboard(uvm_subscriber):
    """Holds the expected results in input order and checks each result: sample (latency), tag, error and
    cause, and every lane's word against genesys.sim.functions.apply."""

    def build_phase(self):
        self.p = ConfigDB().get(self, "", "PARAMS")
        self.test = ConfigDB().get(self, "", "TEST_NAME")
        self.queue: deque = deque()
        self.checked = 0
        self.failed = 0
        self.dropped = 0
        self.messages: list[str] = []

    def _fail(self, msg: str) -> None:
        self.failed += 1
        if len(self.messages) < 20:
            self.messages.append(msg)

    def write(self, ev: FuEvent) -> None:
        p = self.p
        if ev.kind == "in":
            cause, data = expected(ev.op)
            lat = p.DIV_LATENCY if ev.op.name == "DIV" else p.LATENCY
            self.queue.append((ev, ev.n + lat, cause, data))
            return
        if ev.kind == "abort":
            self.dropped += len(self.queue)
            self.queue.clear()
            return
        if not self.queue:
            self._fail(f"sample {ev.n}: out_valid with no input in flight")
            return
        src, due, cause, data = self.queue.popleft()
        op = src.op
        where = f"{op.name or f'opcode {op.opcode} func {op.func}'} fp={int(op.fp)} " \
                f"fmt=({op.dint},{op.s1int},{op.s2int}) accepted at sample {src.n}"
        self.checked += 1
        errs = []
        if ev.n != due:
            errs.append(f"result at sample {ev.n}, expected {due}")
        if ev.tag != src.tag:
            errs.append(f"out_tag {ev.tag}, expected {src.tag}")
        if cause is None:
            if ev.err:
                errs.append(f"out_err with cause {ev.cause}, expected no error")
            for k, (g, w) in enumerate(zip(ev.data, data, strict=True)):
                if g != w:
                    errs.append(f"lane {k}: a=0x{op.a[k]:08x} b=0x{op.b[k]:08x} d=0x{op.d[k]:08x} -> "
                                f"{'X' if g is None else f'0x{g:08x}'}, expected 0x{w:08x}")
                    break
        elif not ev.err or ev.cause != ERR[cause]:
            errs.append(f"out_err={ev.err} cause={ev.cause}, expected cause {ERR[cause]} ({cause})")
        for e in errs:
            self._fail(f"{where}: {e}")

    def check_phase(self):
        monitor = getattr(self, "monitor", None)  # set by the env: its pin-rule violations fail the test
        for v in (monitor.violations[:5] if monitor is not None else []):
            self._fail(f"protocol: {v}")
        if self.queue:
            self._fail(f"{len(self.queue)} accepted inputs never produced a result")
        write_report(self.test, "scoreboard", {"checked": self.checked, "failed": self.failed,
                                               "dropped_by_abort": self.dropped, "messages": self.messages})
        assert self.checked > 0, "the scoreboard checked no result"
        assert self.failed == 0, self.messages[0]


class FuCoverage(uvm_subscriber):
    def build_phase(self):
        self.test = ConfigDB().get(self, "", "TEST_NAME")
        self.hits: dict[str, int] = {}
        self.in_flight = 0

    def write(self, ev: FuEvent) -> None:
        hits = self.hits

        def add(name: str) -> None:
            hits[name] = hits.get(name, 0) + 1

        if ev.kind == "in":
            self.in_flight += 1
            cov.sample(hits, ev.op, expected_error(ev.op))
            if ev.back_to_back:
                add("pipe:back_to_back")
            if ev.after_stall:
                add("pipe:div_stall")
            if ev.div_after_div:
                add("pipe:div_back_to_back")
        elif ev.kind == "out":
            self.in_flight -= 1
        elif ev.kind == "abort":
            if self.in_flight:
                add("pipe:abort_in_flight")
            self.in_flight = 0

    def report_phase(self):
        write_report(self.test, "coverage", cov.summarize(self.hits))


__all__ = ["FuCoverage", "FuDriver", "FuEvent", "FuItem", "FuMonitor", "FuScoreboard"]
