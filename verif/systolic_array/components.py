"""The components of the systolic-array environment: driver, input and output monitors, scoreboard and
coverage subscriber. Transactions between them are SaVector (an input vector as the DUT sampled it, with
the weights in effect) and SaResult (an output vector)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import Event, FallingEdge
from pyuvm import (
    ConfigDB,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_get_port,
    uvm_monitor,
    uvm_subscriber,
    uvm_tlm_analysis_fifo,
)

from .common import DutParams, SaBfm, write_report
from .coverage import SaCoverageModel
from .reference import matvec

RESET_CYCLES = 3


@dataclass
class SaVector:
    """An input vector as the DUT sampled it (``cycle``: the cycle it was presented in)."""

    cycle: int
    x: list[int]
    psum: list[int]
    w: np.ndarray                 # (N, M) weights in effect for this vector
    load_id: int                  # 0: the weights left by reset; k: the k-th load since reset
    load_cycle: int | None        # cycle of that load strobe (None after reset)
    load_addr: int | None = None
    reused_bank: bool = False     # that load read a bank address loaded before and not rewritten since


@dataclass
class SaResult:
    """An output vector (``cycle``: the cycle out_valid was high in)."""

    cycle: int
    y: list[int | None] = field(default_factory=list)  # None: a column with X/Z bits


def _test_name() -> str:
    return ConfigDB().get(None, "", "TEST_NAME")


# ---- driver ---------------------------------------------------------------------------------------
class SaDriver(uvm_driver):
    """Turns items into pin activity, one cycle at a time.

    Items are expanded into per-cycle pin values (row writes, the load strobe, vectors, bubbles) and put
    on a queue; a pin task drives one queued cycle after every falling edge, or idle inputs when the
    queue is empty. Because the next item is expanded in the same time step as the last cycle of the
    previous one is driven, consecutive items run back to back.

    Protocol rule kept here, whatever the sequence asks: a bank address is not rewritten until
    ARRAY_N + ARRAY_M - 2 cycles after it was loaded (the load reaches the far PE that much later).
    """

    def start_of_simulation_phase(self):
        self.bfm: SaBfm = ConfigDB().get(self, "", "BFM")
        self.p: DutParams = self.bfm.p
        self.queue: deque[dict[str, Any]] = deque()
        self.drained = Event()
        self.pushed = 0                        # cycles queued since reset
        self.last_load: dict[int, int] = {}    # bank address -> queued cycle of its last load

    async def run_phase(self):
        await self.reset()
        cocotb.start_soon(self.pin_task())
        while True:
            item = await self.seq_item_port.get_next_item()
            self.expand(item)
            self.drained.clear()
            if self.queue:
                await self.drained.wait()
            self.seq_item_port.item_done()

    async def reset(self) -> None:
        self.bfm.drive()
        self.bfm.set_reset(True)
        for _ in range(RESET_CYCLES):
            await FallingEdge(self.bfm.dut.clk)
        self.bfm.set_reset(False)

    async def pin_task(self) -> None:
        while True:
            await self.bfm.next_drive_slot()
            if self.queue:
                self.bfm.drive(**self.queue.popleft())
                if not self.queue:
                    self.drained.set()
            else:
                self.bfm.drive()

    def push(self, **pins) -> None:
        self.queue.append(pins)
        self.pushed += 1

    def expand(self, item) -> None:
        p = self.p
        if item.w is not None:
            last = self.last_load.get(item.bank_addr)
            if last is not None:
                for _ in range(last + p.ARRAY_N + p.ARRAY_M - 2 - self.pushed):
                    self.push()
            for r in range(p.ARRAY_N):
                if random.random() < 0.2:  # a partial write first (per-column enables), then the real row
                    junk = [random.randrange(-(1 << (p.WGT_WIDTH - 1)), 1 << (p.WGT_WIDTH - 1)) for _ in range(p.ARRAY_M)]
                    self.push(wbuf_we=1, wbuf_row=r, wbuf_addr=item.bank_addr, wbuf_data=junk,
                              wbuf_be=random.randrange(1 << p.ARRAY_M))
                self.push(wbuf_we=1, wbuf_row=r, wbuf_addr=item.bank_addr, wbuf_data=item.w[r])
        load = {"wgt_load": 1, "wgt_addr": item.bank_addr} if item.load else {}
        if item.load:
            self.last_load[item.bank_addr] = self.pushed
        if item.load and (item.load_lead > 0 or len(item.x) == 0):
            self.push(**load)
            load = {}
            for _ in range(item.load_lead - 1):
                self.push()
        for t in range(len(item.x)):
            if t > 0:
                for _ in range(item.gaps[t]):
                    self.push()
            self.push(in_valid=1, x=item.x[t], psum=item.psum[t], **load)
            load = {}


# ---- monitors -------------------------------------------------------------------------------------
class SaInputMonitor(uvm_monitor):
    """Watches the input pins and publishes every sampled input vector with the weights in effect.

    It keeps a shadow of the weight banks built from the writes it sees, so the expected weights come
    from the pins, not from what the sequence meant. It also checks the protocol rules the DUT relies
    on: no load of an address not written since reset, and no write to a bank address within
    ARRAY_N + ARRAY_M - 2 cycles after it was loaded.
    """

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.violations: list[str] = []

    def start_of_simulation_phase(self):
        self.bfm: SaBfm = ConfigDB().get(self, "", "BFM")
        self.p = self.bfm.p
        self.vectors = 0
        self.reset_model()

    def reset_model(self) -> None:
        p = self.p
        self.shadow = np.zeros((p.WBUF_DEPTH, p.ARRAY_N, p.ARRAY_M), dtype=np.int64)
        self.written = np.zeros((p.WBUF_DEPTH, p.ARRAY_N), dtype=bool)
        self.w = np.zeros((p.ARRAY_N, p.ARRAY_M), dtype=np.int64)  # reset clears the weight registers
        self.load_id, self.load_cycle, self.load_addr, self.reused = 0, None, None, False
        self.loaded_at: dict[int, int] = {}    # bank address -> cycle of its last load
        self.clean_since_load: set[int] = set()  # addresses loaded and not rewritten since

    async def run_phase(self):
        p = self.p
        window = p.ARRAY_N + p.ARRAY_M - 2
        while True:
            cycle = await self.bfm.sample_slot()
            if self.bfm.in_reset():
                self.reset_model()
                continue
            s = self.bfm.sample_inputs()
            if s["wgt_load"]:  # the load reads the banks as they were before this edge's write
                a = s["wgt_addr"]
                if not self.written[a].all():
                    self.violations.append(f"cycle {cycle}: wgt_load of bank address {a}, not written since reset")
                self.reused = a in self.clean_since_load
                self.w = self.shadow[a].copy()
                self.load_id += 1
                self.load_cycle, self.load_addr = cycle, a
                self.loaded_at[a] = cycle
                self.clean_since_load.add(a)
            if s["wbuf_we"]:
                a, r = s["wbuf_addr"], s["wbuf_row"]
                last = self.loaded_at.get(a)
                if last is not None and cycle - last < window:
                    self.violations.append(f"cycle {cycle}: write to bank address {a} only {cycle - last} cycles "
                                           f"after its load (needs >= {window})")
                be = s["wbuf_be"]
                cols = [j for j in range(self.p.ARRAY_M) if be >> j & 1]
                self.shadow[a, r, cols] = [s["wbuf_data"][j] for j in cols]
                if len(cols) == self.p.ARRAY_M:
                    self.written[a, r] = True
                self.clean_since_load.discard(a)
            if s["in_valid"]:
                self.vectors += 1
                self.ap.write(SaVector(cycle, s["x"], s["psum"], self.w, self.load_id, self.load_cycle,
                                       self.load_addr, self.reused))

    def check_phase(self):
        for v in self.violations[:10]:
            self.logger.error(f"protocol violation: {v}")
        assert not self.violations, f"{len(self.violations)} protocol violation(s); first: {self.violations[0]}"


class SaOutputMonitor(uvm_monitor):
    """Publishes every output vector (out_valid high) with the cycle it is valid in."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    def start_of_simulation_phase(self):
        self.bfm: SaBfm = ConfigDB().get(self, "", "BFM")

    async def run_phase(self):
        while True:
            cycle = await self.bfm.sample_slot()
            if self.bfm.in_reset():
                continue
            y = self.bfm.sample_outputs()
            if y is not None:
                # Sampled just after rising edge `cycle`, so valid during the cycle after it.
                self.ap.write(SaResult(cycle + 1, y))


# ---- scoreboard -----------------------------------------------------------------------------------
class SaScoreboard(uvm_component):
    """Pairs input vectors with output vectors in order and checks each against the reference model
    (values) and the DUT's LATENCY parameter (timing). Missing or extra outputs are failures too."""

    MAX_LOGGED = 10

    def build_phase(self):
        self.exp_fifo = uvm_tlm_analysis_fifo("exp_fifo", self)
        self.act_fifo = uvm_tlm_analysis_fifo("act_fifo", self)
        self.exp_get = uvm_get_port("exp_get", self)
        self.act_get = uvm_get_port("act_get", self)
        self.exp_export = self.exp_fifo.analysis_export
        self.act_export = self.act_fifo.analysis_export

    def connect_phase(self):
        self.exp_get.connect(self.exp_fifo.get_export)
        self.act_get.connect(self.act_fifo.get_export)

    def extract_phase(self):
        p: DutParams = ConfigDB().get(self, "", "PARAMS")
        self.checked, self.failures, self.messages = 0, 0, []
        vectors, results = [], []
        while self.exp_get.can_get():
            vectors.append(self.exp_get.try_get()[1])
        while self.act_get.can_get():
            results.append(self.act_get.try_get()[1])
        expected = self.predict(vectors, p.ACC_WIDTH)
        for index, (v, r, e) in enumerate(zip(vectors, results, expected, strict=False)):  # counts may differ
            self.checked += 1
            problems = []
            if r.cycle - v.cycle != p.LATENCY:
                problems.append(f"latency {r.cycle - v.cycle} cycles, DUT says LATENCY = {p.LATENCY}")
            bad = [j for j in range(p.ARRAY_M) if e[j] != r.y[j]]
            if bad:
                cols = ", ".join(f"y[{j}] = {'X' if r.y[j] is None else r.y[j]} expected {e[j]}" for j in bad[:4])
                problems.append(f"{len(bad)} of {p.ARRAY_M} columns wrong: {cols}")
            if problems:
                source = "reset" if v.load_cycle is None else f"load {v.load_id}, bank address {v.load_addr}"
                self.fail(f"vector {index} (input cycle {v.cycle}, weights of {source}): "
                          + "; ".join(problems), detail={"x": v.x, "psum": v.psum, "w": v.w.tolist()})
        for index in range(len(results), len(vectors)):
            self.fail(f"vector {index} (input cycle {vectors[index].cycle}) produced no output")
        for r in results[len(vectors):]:
            self.fail(f"output in cycle {r.cycle} with no input vector: y={r.y}")
        write_report(_test_name(), "scoreboard", {"checked": self.checked, "failures": self.failures,
                                                  "vectors": len(vectors), "outputs": len(results),
                                                  "messages": self.messages[:self.MAX_LOGGED]})

    @staticmethod
    def predict(vectors: list[SaVector], acc_width: int) -> list[list[int]]:
        """Reference results, one numpy call per run of vectors that share a weight matrix."""
        out: list[list[int]] = []
        i = 0
        while i < len(vectors):
            j = i
            while j < len(vectors) and vectors[j].w is vectors[i].w:
                j += 1
            y = matvec(vectors[i].w, [v.x for v in vectors[i:j]], [v.psum for v in vectors[i:j]], acc_width)
            out.extend(y.tolist())
            i = j
        return out

    def fail(self, message: str, detail: dict | None = None) -> None:
        self.failures += 1
        if len(self.messages) < self.MAX_LOGGED:
            self.messages.append(message)
            self.logger.error(message + (f" | {detail}" if detail else ""))

    def check_phase(self):
        self.logger.info(f"scoreboard: {self.checked} vectors checked, {self.failures} failure(s)")
        assert self.checked > 0 or self.failures > 0, "scoreboard: no vectors were checked"
        assert self.failures == 0, f"{self.failures} scoreboard failure(s); first: {self.messages[0]}"


# ---- coverage -------------------------------------------------------------------------------------
class SaCoverage(uvm_subscriber):
    """Samples the coverage model on every input vector; writes the report in extract_phase (before any
    check can stop the phases) and logs the missed bins."""

    def start_of_simulation_phase(self):
        p: DutParams = ConfigDB().get(self, "", "PARAMS")
        self.model = SaCoverageModel(p.ARRAY_N, p.ARRAY_M, p.DATA_WIDTH, p.WGT_WIDTH, p.ACC_WIDTH, p.LATENCY)

    def write(self, v: SaVector):
        self.model.sample(v)

    def extract_phase(self):
        self.report = self.model.report()
        write_report(_test_name(), "coverage", self.report)

    def report_phase(self):
        r = self.report
        self.logger.info(f"coverage: {r['bins_hit']}/{r['bins_total']} bins ({r['percent']}%)"
                         + (f"; missed {', '.join(r['missed'])}" if r["missed"] else ""))
