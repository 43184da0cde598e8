"""The AXI-Lite control agent: cocotbext-axi's AxiLiteMaster behind a pyuvm sequencer and driver, and the
sequences that run a GeneSys program through the control registers of genesys.isa.status.

    agent = AxilAgent("axil", env)          # ConfigDB: DUT (and optionally AXIL_PREFIX, default "s_axil")
    agent.driver.attach(clock_period_ps)     # in the test's run phase, reset asserted
    value = await RegSeq.read(agent.seqr, "STATUS")         # one register
    out = await NpuRunSeq.run(agent.seqr, NpuRunRequest(prog_addr, prog_words, data_base))

Items (:class:`AxilItem`) are single 32-bit register reads or writes (with byte strobes); the driver fills in
the response code, the data read and the cycle it completed, and publishes every finished item on ``ap``.
A program run (:class:`NpuRunSeq`) writes PROG_ADDR_LO/HI, PROG_WORDS, DATA_BASE_LO/HI, TIMEOUT, then
CTRL = START | IRQ_ENABLE (or START alone, then polls STATUS.DONE), samples the PC register every
``sample_period`` cycles while it waits, stops at a watchdog (reading PC, STATE and STATUS for the report),
and reads STATUS, ERR_CAUSE, ERR_PC, ERR_WORD and every counter (64-bit LO/HI pairs) at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import ClockCycles, First, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster
from pyuvm import ConfigDB, uvm_agent, uvm_analysis_port, uvm_driver, uvm_sequence, uvm_sequence_item, uvm_sequencer

from genesys.isa import status as csr
from genesys.isa.counters import COUNTER_NAMES

from .axi_mem import cycle_now

MASK32 = 0xFFFFFFFF


class AxilItem(uvm_sequence_item):
    """One register access: a 32-bit read or write at a byte offset (strb: byte lanes written)."""

    def __init__(self, name: str = "axil_item", write: bool = False, addr: int = 0, data: int = 0, strb: int = 0xF):
        super().__init__(name)
        self.write, self.addr, self.data, self.strb = write, addr, data & MASK32, strb
        self.resp: int | None = None   # AXI response (0 OKAY, 2 SLVERR, 3 DECERR)
        self.cycle: int | None = None  # cycle the response arrived

    def __str__(self) -> str:
        op = f"W 0x{self.addr:03x} = 0x{self.data:08x} strb 0x{self.strb:x}" if self.write else f"R 0x{self.addr:03x}"
        return op + (f" -> resp {self.resp}" if self.resp is not None else "")


class AxilDriver(uvm_driver):
    """Executes AxilItems on an AxiLiteMaster (attached in the run phase, once the clock runs)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.dut = ConfigDB().get(self, "", "DUT")
        try:
            self.prefix = ConfigDB().get(self, "", "AXIL_PREFIX")
        except Exception:  # noqa: BLE001 - pyuvm raises UVMConfigItemNotFound
            self.prefix = "s_axil"
        self.master: AxiLiteMaster | None = None
        self.accesses = 0

    def attach(self, period_ps: int, clk=None, rst=None) -> None:
        dut = self.dut
        self.period = period_ps
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, self.prefix), clk if clk is not None else dut.clk,
                                    rst if rst is not None else dut.rst_n, reset_active_level=False)
        for lg in (self.master.write_if.log, self.master.read_if.log):
            lg.setLevel("WARNING")

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            if self.master is None:
                raise RuntimeError("AxilDriver.attach() was not called before the first register access")
            if item.write:
                lanes = [k for k in range(4) if item.strb >> k & 1]
                if lanes and lanes == list(range(lanes[0], lanes[-1] + 1)):
                    lo, hi = lanes[0], lanes[-1] + 1
                    data = item.data.to_bytes(4, "little")[lo:hi]
                    r = await self.master.write(item.addr + lo, data)
                    item.resp = int(r.resp)
                else:  # non-contiguous strobes: one write per byte lane (the master derives strobes from the span)
                    item.resp = 0
                    for k in lanes:
                        r = await self.master.write(item.addr + k, item.data.to_bytes(4, "little")[k:k + 1])
                        item.resp = max(item.resp, int(r.resp))
            else:
                r = await self.master.read(item.addr, 4)
                item.data = int.from_bytes(bytes(r.data), "little")
                item.resp = int(r.resp)
            item.cycle = cycle_now(self.period)
            self.accesses += 1
            self.ap.write(item)
            self.seq_item_port.item_done()


class AxilAgent(uvm_agent):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        self.driver = AxilDriver("driver", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)


# ---- register access sequences ------------------------------------------------------------------------
def offset(reg: str | int) -> int:
    return reg if isinstance(reg, int) else csr.REG_BY_NAME[reg].offset


class RegSeq(uvm_sequence):
    """One register access (a sequence so tests can start it on the agent's sequencer)."""

    def __init__(self, name: str = "reg", item: AxilItem | None = None):
        super().__init__(name)
        self.item = item

    async def body(self):
        await self.start_item(self.item)
        await self.finish_item(self.item)

    @staticmethod
    async def access(seqr, item: AxilItem) -> AxilItem:
        seq = RegSeq("reg", item)
        await seq.start(seqr)
        return item

    @staticmethod
    async def read(seqr, reg: str | int) -> int:
        return (await RegSeq.access(seqr, AxilItem("rd", False, offset(reg)))).data

    @staticmethod
    async def write(seqr, reg: str | int, value: int, strb: int = 0xF) -> int:
        """Write a register; returns the AXI response code."""
        return (await RegSeq.access(seqr, AxilItem("wr", True, offset(reg), value, strb))).resp

    @staticmethod
    async def read_counters(seqr) -> dict[str, int]:
        out = {}
        for name in COUNTER_NAMES:
            base = csr.counter_offset(name)
            lo = await RegSeq.read(seqr, base)
            hi = await RegSeq.read(seqr, base + 4)
            out[name] = hi << 32 | lo
        return out


# ---- running a program ------------------------------------------------------------------------------
@dataclass
class NpuRunRequest:
    prog_addr: int
    prog_words: int
    data_base: int = 0
    timeout: int = 0             # TIMEOUT register (0: the AXI watchdog is off)
    use_irq: bool = True         # CTRL.IRQ_ENABLE and wait for irq; else poll STATUS.DONE
    watchdog: int = 200_000      # cycles after START before the run counts as hung
    sample_period: int = 64      # cycles between PC samples (0: no sampling)
    clear: bool = True           # write 1s to STATUS.DONE/ERROR after reading the results


@dataclass
class NpuRunOutcome:
    status: int = 0
    err_cause: int = 0
    err_pc: int = 0
    err_word: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    start_cycle: int = 0           # cycle the CTRL write completed
    done_cycle: int = 0            # cycle irq rose (or the poll that saw DONE)
    pc_samples: list[tuple[int, int]] = field(default_factory=list)  # (cycles since start, PC)
    hung: bool = False
    hang_report: str = ""
    irq_seen: bool = False
    status_after_clear: int | None = None

    @property
    def done(self) -> bool:
        return bool(self.status >> csr.STATUS_DONE & 1)

    @property
    def error(self) -> bool:
        return bool(self.status >> csr.STATUS_ERROR & 1)

    @property
    def busy(self) -> bool:
        return bool(self.status >> csr.STATUS_BUSY & 1)

    @property
    def cycles(self) -> int:
        return self.done_cycle - self.start_cycle


class NpuRunSeq(uvm_sequence):
    """Program the run registers, start, wait for the end (irq or STATUS.DONE) under a watchdog sampling the
    PC, and read the results."""

    def __init__(self, name: str = "npu_run", req: NpuRunRequest | None = None):
        super().__init__(name)
        self.req = req
        self.out = NpuRunOutcome()

    async def _rd(self, reg) -> int:
        item = AxilItem("rd", False, offset(reg))
        await self.start_item(item)
        await self.finish_item(item)
        return item.data

    async def _wr(self, reg, value: int) -> None:
        item = AxilItem("wr", True, offset(reg), value)
        await self.start_item(item)
        await self.finish_item(item)
        if item.resp:
            raise AssertionError(f"AXI-Lite write of {reg} answered with response {item.resp}")

    async def body(self):
        req, out = self.req, self.out
        dut = ConfigDB().get(None, "", "DUT")
        period = ConfigDB().get(None, "", "CLOCK_PS")
        await self._wr("PROG_ADDR_LO", req.prog_addr & MASK32)
        await self._wr("PROG_ADDR_HI", req.prog_addr >> 32 & MASK32)
        await self._wr("PROG_WORDS", req.prog_words)
        await self._wr("DATA_BASE_LO", req.data_base & MASK32)
        await self._wr("DATA_BASE_HI", req.data_base >> 32 & MASK32)
        await self._wr("TIMEOUT", req.timeout)
        irq_at: list[int] = []

        async def watch_irq():
            if not int(dut.irq.value):
                await RisingEdge(dut.irq)
            irq_at.append(cycle_now(period))

        watcher = cocotb.start_soon(watch_irq()) if req.use_irq else None
        ctrl = 1 << csr.CTRL_START | (1 << csr.CTRL_IRQ_ENABLE if req.use_irq else 0)
        await self._wr("CTRL", ctrl)
        out.start_cycle = cycle_now(period)
        step = req.sample_period if req.sample_period > 0 else 32
        while True:
            now = cycle_now(period)
            if req.use_irq and irq_at:
                out.done_cycle, out.irq_seen = irq_at[0], True
                break
            if not req.use_irq:
                st = await self._rd("STATUS")
                if st >> csr.STATUS_DONE & 1:
                    out.done_cycle = cycle_now(period)
                    break
            if now - out.start_cycle > req.watchdog:
                out.hung = True
                pc, state, st = await self._rd("PC"), await self._rd("STATE"), await self._rd("STATUS")
                out.hang_report = (f"no end of the run {req.watchdog} cycles after START: PC = {pc}, STATE = {state}, "
                                   f"STATUS = 0x{st:x}")
                if watcher is not None:
                    watcher.cancel()
                return
            if req.sample_period > 0:
                out.pc_samples.append((now - out.start_cycle, await self._rd("PC")))
            if req.use_irq:
                await First(ClockCycles(dut.clk, step), RisingEdge(dut.irq))
            else:
                await ClockCycles(dut.clk, step)
        out.status = await self._rd("STATUS")
        out.err_cause = await self._rd("ERR_CAUSE")
        out.err_pc = await self._rd("ERR_PC")
        out.err_word = await self._rd("ERR_WORD")
        out.counters = {}
        for name in COUNTER_NAMES:
            base = csr.counter_offset(name)
            out.counters[name] = (await self._rd(base + 4)) << 32 | await self._rd(base)
        if req.clear:
            await self._wr("STATUS", 1 << csr.STATUS_DONE | 1 << csr.STATUS_ERROR)
            out.status_after_clear = await self._rd("STATUS")

    @staticmethod
    async def run(seqr, req: NpuRunRequest) -> NpuRunOutcome:
        seq = NpuRunSeq("npu_run", req)
        await seq.start(seqr)
        return seq.out


__all__ = ["AxilAgent", "AxilDriver", "AxilItem", "NpuRunOutcome", "NpuRunRequest", "NpuRunSeq", "RegSeq", "offset"]
