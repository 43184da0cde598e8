"""Components of the systolic-array engine's environment: the group item, the driver (IMEM model answering
imem_re with one cycle of latency, start/done handshake), the counter monitor, the scoreboard (genesys.sim
reference: error cause and index, DRAM contents) and coverage.

Timing discipline: inputs change just after a falling edge; outputs are sampled just after a falling edge
(the DUT and the AxiRam models change their outputs only after rising edges).
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from pyuvm import ConfigDB, uvm_analysis_port, uvm_driver, uvm_sequence_item, uvm_subscriber

from genesys.isa.status import ERROR_BY_CODE

from . import coverage as cov
from .common import MODEL_DRAM, write_report
from .reference import RefMachine, group_words
from .stimulus import Group

HANG_CYCLES = 400_000  # a group that has not signalled done after this many cycles is a hang


class SaGroupItem(uvm_sequence_item):
    """One group: its body (assembly), the IMEM index of its first body word, the DRAM relocation, and
    (AXI error tests) the expected AXI error."""

    def __init__(self, name: str = "sa_group", group: Group | None = None, pc: int = 1,
                 expect_axi: tuple[str, int, int] | None = None):
        super().__init__(name)
        self.group = group
        self.pc = pc
        self.expect_axi = expect_axi      # (cause, body position of the LD_ST, AXI address)
        self.foreign = None               # a foreign.ForeignGroup running next to the group (fgn_* holds)
        self.result: dict | None = None   # filled by the driver

    def __str__(self) -> str:
        g = self.group
        return f"{g.kind} group, {len(g.body)} instructions at IMEM {self.pc}, data_base 0x{g.data_base:x}"


class SaDriver(uvm_driver):
    """Writes the group into the IMEM model, pulses start, waits for done, records the outputs."""

    def build_phase(self):
        self.dut = ConfigDB().get(self, "", "DUT")
        self.imem_depth = ConfigDB().get(self, "", "IMEM_DEPTH")
        self.ap = uvm_analysis_port("ap", self)
        self.imem = [0] * self.imem_depth
        self.cycles = 0

    async def imem_model(self):
        """IMEM: data the cycle after imem_re (rdata changes only on a read)."""
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            re, addr = int(dut.imem_re.value), int(dut.imem_raddr.value)
            await FallingEdge(dut.clk)
            if re:
                dut.imem_rdata.value = self.imem[addr % self.imem_depth]

    async def run_phase(self):
        dut = self.dut
        while True:
            item = await self.seq_item_port.get_next_item()
            g = item.group
            start, body, end = group_words(g.body)
            pc = item.pc
            self.imem[pc - 1] = start
            for k, w in enumerate(body):
                self.imem[(pc + k) % self.imem_depth] = w
            self.imem[(pc + len(body)) % self.imem_depth] = end
            await FallingEdge(dut.clk)
            dut.pc.value = pc
            dut.num.value = len(body)
            dut.data_base.value = g.data_base
            dut.start.value = 1
            fgn = None
            if item.foreign is not None:
                item.foreign.begin(dut)
                fgn = cocotb.start_soon(item.foreign.run(dut, HANG_CYCLES // 4))
            await FallingEdge(dut.clk)
            dut.start.value = 0
            cycles = 1
            perf = dict.fromkeys(cov.PERF, 0)
            while True:
                await RisingEdge(dut.clk)
                await ReadOnly()
                cycles += 1
                for name in cov.PERF:
                    perf[name] += int(getattr(dut, name).value)
                if int(dut.done.value):
                    break
                if cycles > HANG_CYCLES:
                    raise AssertionError(f"{item}: no done after {cycles} cycles (hang)")
            if fgn is not None:
                await fgn
            item.result = {"err": int(dut.err.value), "cause": int(dut.err_cause.value),
                           "pc": int(dut.err_pc.value), "addr": int(dut.err_addr.value), "cycles": cycles,
                           "perf": perf}
            self.cycles += cycles
            self.ap.write(item)
            self.seq_item_port.item_done()


class SaScoreboard(uvm_subscriber):
    """Runs every group on the reference machine and compares: error (cause and instruction) or success,
    then the DUT's DRAM window (the AxiRam from data_base on) against the reference DRAM."""

    def build_phase(self):
        self.arch = ConfigDB().get(self, "", "ARCH")
        self.test = ConfigDB().get(self, "", "TEST_NAME")
        self.ram = None            # set by the test once the AxiRam exists
        self.ref = RefMachine(self.arch, MODEL_DRAM)
        self.checked = 0
        self.groups = 0
        self.failures: list[str] = []
        self.stats = {"iterations": 0, "issue_cycles": 0, "stall_cycles": 0, "ref_stall": 0}

    def load_image(self, image: bytes, data_base: int) -> None:
        """Put the same bytes in the reference DRAM and in the RAM window."""
        self.ref.state.dram[:len(image)] = np.frombuffer(image, np.uint8)
        self.ram.write(data_base, image)

    def write(self, item: SaGroupItem) -> None:
        g, res = item.group, item.result
        self.groups += 1
        start, body, end = group_words(g.body)
        problems = []
        if item.foreign is not None:
            # the foreign group precedes this one in program order: its DRAM writes come first
            for addr, data in item.foreign.ref_writes:
                a = addr - g.data_base
                self.ref.state.dram[a:a + len(data)] = np.frombuffer(data, np.uint8)
            problems += [f"foreign {item.foreign.fp.kind}: {m}"
                         for m in item.foreign.verdict(res["perf"]["perf_array_stall"])[:5]]
        ref = self.ref.run_group(start, body, end, item.pc - 1)
        item.ref = ref
        got = ERROR_BY_CODE.get(res["cause"]).name if res["err"] else None
        if item.expect_axi is not None:
            cause, pos, addr = item.expect_axi
            if got != cause or res["pc"] != item.pc + pos or res["addr"] != addr:
                problems.append(f"expected {cause} at IMEM {item.pc + pos} address 0x{addr:x}, got "
                                f"{got} at {res['pc']} address 0x{res['addr']:x}")
        else:
            if got != ref.cause or (ref.cause is not None and res["pc"] != ref.index):
                problems.append(f"error: engine {got} at IMEM {res['pc'] if got else '-'}, reference "
                                f"{ref.cause} at {ref.index} ({ref.message})")
            if not problems:
                dut = np.frombuffer(self.ram.read(g.data_base, MODEL_DRAM), np.uint8)
                bad = np.flatnonzero(dut != self.ref.state.dram)
                if bad.size:
                    a = int(bad[0])
                    problems.append(f"DRAM differs at {bad.size} bytes, first at model address 0x{a:x} (RAM "
                                    f"0x{g.data_base + a:x}): engine 0x{int(dut[a]):02x}, reference "
                                    f"0x{int(self.ref.state.dram[a]):02x}")
        if ref.nest_iterations and not res["err"]:
            self.stats["iterations"] += ref.nest_iterations
            self.stats["issue_cycles"] += res["perf"]["perf_macs"]
            self.stats["stall_cycles"] += res["perf"]["perf_array_stall"]
            self.stats["ref_stall"] += ref.nest_stall
            if res["perf"]["perf_macs"] != ref.nest_iterations:
                problems.append(f"perf_macs {res['perf']['perf_macs']} != nest iterations {ref.nest_iterations}")
        if problems:
            msg = f"{item}: " + "; ".join(problems)
            self.failures.append(msg)
            self.logger.error(msg + "\n  " + "\n  ".join(g.body))
        else:
            self.checked += 1

    def check_phase(self):
        write_report(self.test, "scoreboard", {"checked": self.checked, "groups": self.groups,
                                               "failures": len(self.failures), "messages": self.failures[:10],
                                               "nest": self.stats})
        assert not self.failures, self.failures[0]
        assert self.checked > 0, "no group was checked"


class SaCoverage(uvm_subscriber):
    def build_phase(self):
        self.test = ConfigDB().get(self, "", "TEST_NAME")
        self.hits: dict[str, int] = {}

    def write(self, item: SaGroupItem) -> None:
        cov.sample(self.hits, item)

    def report_phase(self):
        write_report(self.test, "coverage", cov.summary(self.hits))

