"""The pyuvm tests of genesys_top (the cocotb test module the runner loads).

NpuOpsTest is the base test: it builds the environment, attaches the AXI-Lite agent and the memory agent
(one SharedDram behind the five AXI4 masters), resets the NPU and runs NpuOpsSeq. The other tests override
the sequence. Cases come from the folder the runner prepared (GENESYS_NPU_CASES).
"""

from __future__ import annotations

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from pyuvm import ConfigDB, uvm_factory, uvm_test

from genesys.verif.agents.axi_mem import SharedDram

from .common import PORTS, cases_dir, clock_period_ps, load_index, write_report
from .env import NpuEnv
from .sequences import NpuAxiErrorSeq, NpuCnnSeq, NpuCsrSeq, NpuErrorSeq, NpuOpsSeq, dram_bytes_needed


@pyuvm.test()
class NpuOpsTest(uvm_test):
    """Single compiled ops: simulator DRAM bit for bit, counters, per-layer cycles; ideal and random AXI timing."""

    def build_phase(self):
        self.dut = cocotb.top
        self.seed = int(cocotb.RANDOM_SEED) if hasattr(cocotb, "RANDOM_SEED") else 1
        self.period = clock_period_ps()
        self.index = load_index(cases_dir())
        ConfigDB().set(None, "*", "DUT", self.dut)
        ConfigDB().set(None, "*", "SEED", self.seed)
        ConfigDB().set(None, "*", "CLOCK_PS", self.period)
        ConfigDB().set(None, "*", "TEST_NAME", type(self).__name__)
        self.env = NpuEnv("env", self)

    def end_of_elaboration_phase(self):
        ConfigDB().set(None, "*", "AXIL_SEQR", self.env.axil.seqr)
        self.stimulus = NpuOpsSeq.create("stimulus")

    def start_of_simulation_phase(self):
        Clock(self.dut.clk, self.period, unit="ps").start(start_high=False)

    async def run_phase(self):
        self.raise_objection()
        dut = self.dut
        for name in ("s_axil_awvalid", "s_axil_wvalid", "s_axil_bready", "s_axil_arvalid", "s_axil_rready"):
            getattr(dut, name).value = 0
        dut.rst_n.value = 0
        await ClockCycles(dut.clk, 3)
        dram = SharedDram(dram_bytes_needed(self.index))
        ConfigDB().set(None, "*", "DRAM", dram)
        self.env.mem.attach(dut, list(PORTS), dram, self.period, self.seed)
        self.env.axil.driver.attach(self.period)
        await ClockCycles(dut.clk, 3)
        await FallingEdge(dut.clk)
        dut.rst_n.value = 1
        await RisingEdge(dut.clk)
        start = get_sim_time("ps")
        await self.stimulus.start(self.env.axil.seqr)
        await ClockCycles(dut.clk, 4)
        cycles = int((get_sim_time("ps") - start) // self.period)
        write_report(type(self).__name__, "run", {"cycles": cycles, "seed": self.seed, "arch": self.index.get("arch"),
                                                  "axil_accesses": self.env.axil.driver.accesses,
                                                  "bursts": self.env.mem.bursts})
        self.drop_objection()


@pyuvm.test()
class NpuCnnTest(NpuOpsTest):
    """A small CNN end to end (every layer kind), ideal and random AXI timing."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(NpuOpsSeq, NpuCnnSeq)
        super().build_phase()


@pyuvm.test()
class NpuErrorTest(NpuOpsTest):
    """Program errors: DONE + ERROR, ERR_CAUSE, ERR_PC = the simulator's index, ERR_WORD; recovery."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(NpuOpsSeq, NpuErrorSeq)
        super().build_phase()


@pyuvm.test()
class NpuAxiErrorTest(NpuOpsTest):
    """Injected SLVERR / DECERR and a stalled channel (TIMEOUT): the AXI cause and address; recovery."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(NpuOpsSeq, NpuAxiErrorSeq)
        super().build_phase()


@pyuvm.test()
class NpuCsrTest(NpuOpsTest):
    """Control registers: ID, SHAPE, reset values, read/write and read-only, w1c, START, BUSY, irq."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(NpuOpsSeq, NpuCsrSeq)
        super().build_phase()
