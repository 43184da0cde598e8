"""The pyuvm tests of the systolic-array engine (the cocotb test module the runner loads).

SaRandomTest builds the environment, attaches one AxiRam memory to the three AXI4 masters (ibuf, param,
obuf; random pauses on every channel, one 4 KiB page answering SLVERR), fills the reference DRAM window
with the RAM's bytes and runs SaRandomSeq (fgn_active low). SaCompiledTest, SaErrorTest and SaForeignTest
override the sequence.
"""

from __future__ import annotations

import logging
import random

import cocotb
import numpy as np
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge
from cocotbext.axi import AxiBus, AxiRam
from pyuvm import ConfigDB, uvm_factory, uvm_test

from .common import ERROR_PAGE, MODEL_DRAM, RAM_SIZE, clock_period_ps, load_arch, write_report
from .env import SaEngineEnv
from .sequences import SaCompiledSeq, SaErrorSeq, SaForeignSeq, SaRandomSeq

IFCS = ("ibuf", "param", "obuf")


def _pauses(rng: random.Random, density: float):
    while True:
        yield rng.random() < density


def attach_rams(dut, seed: int) -> AxiRam:
    """One memory behind the three AXI ports (mem= shared), random bytes, SLVERR page, random pauses."""
    rams, mem = [], None
    for ifc in IFCS:
        ram = AxiRam(AxiBus.from_prefix(dut, f"m_axi_{ifc}"), dut.clk, dut.rst_n, reset_active_level=False,
                     size=RAM_SIZE, mem=mem)
        mem = ram.mem
        rams.append(ram)
    rng = np.random.default_rng(seed)
    rams[0].write(0, rng.integers(0, 256, RAM_SIZE, dtype=np.uint8).tobytes())
    for k, ram in enumerate(rams):
        for lg in (ram.read_if.log, ram.write_if.log):
            lg.setLevel(logging.WARNING)
        plain_read, plain_write = ram.read_if._read, ram.write_if._write

        def make(plain_read=plain_read, plain_write=plain_write):
            async def read(address, length):
                if address < ERROR_PAGE + 4096 and address + length > ERROR_PAGE:
                    raise OSError("SLVERR page")
                return await plain_read(address, length)

            async def write(address, data):
                if address < ERROR_PAGE + 4096 and address + len(data) > ERROR_PAGE:
                    raise OSError("SLVERR page")
                await plain_write(address, data)
            return read, write

        ram.read_if._read, ram.write_if._write = make()
        for i, ch in enumerate((ram.read_if.ar_channel, ram.read_if.r_channel, ram.write_if.aw_channel,
                                ram.write_if.w_channel, ram.write_if.b_channel)):
            ch.set_pause_generator(_pauses(random.Random(seed * 100 + k * 10 + i), 0.25))
    return rams[0]


@pyuvm.test()
class SaRandomTest(uvm_test):
    """Random legal groups: transfers into every buffer, compute nests, stores; OBUF dumped after each."""

    def build_phase(self):
        self.dut = cocotb.top
        self.arch = load_arch()
        self.seed = int(cocotb.RANDOM_SEED) if hasattr(cocotb, "RANDOM_SEED") else 1
        rng = random.Random(self.seed + 7)
        self.data_base = rng.choice((0, rng.randrange(1, 0xE0000)))
        ConfigDB().set(None, "*", "DUT", self.dut)
        ConfigDB().set(None, "*", "ARCH", self.arch)
        ConfigDB().set(None, "*", "SEED", self.seed)
        ConfigDB().set(None, "*", "DATA_BASE", self.data_base)
        ConfigDB().set(None, "*", "IMEM_DEPTH", self.arch.buffers["IMEM"].depth)
        ConfigDB().set(None, "*", "TEST_NAME", type(self).__name__)
        self.env = SaEngineEnv("env", self)

    def end_of_elaboration_phase(self):
        self.stimulus = SaRandomSeq.create("stimulus")

    def start_of_simulation_phase(self):
        Clock(self.dut.clk, clock_period_ps(), unit="ps").start(start_high=False)

    async def run_phase(self):
        self.raise_objection()
        dut = self.dut
        for name in ("start", "pc", "num", "data_base", "abort", "run_start", "imem_rdata", "obuf_re", "obuf_raddr",
                     "fgn_active", "fgn_valid", "fgn_obuf_lo", "fgn_obuf_hi", "fgn_wr_lo", "fgn_wr_hi", "fgn_rd_lo",
                     "fgn_rd_hi"):
            getattr(dut, name).value = 0
        dut.rst_n.value = 0
        for _ in range(5):
            await RisingEdge(dut.clk)
        ram = attach_rams(dut, self.seed)
        sb = self.env.scoreboard
        sb.ram = ram
        sb.ref.state.dram[:] = np.frombuffer(ram.read(self.data_base, MODEL_DRAM), np.uint8)
        cocotb.start_soon(self.env.driver.imem_model())
        await FallingEdge(dut.clk)
        dut.rst_n.value = 1
        await RisingEdge(dut.clk)
        await self.stimulus.start(self.env.seqr)
        write_report(type(self).__name__, "run", {"cycles": self.env.driver.cycles, "data_base": self.data_base,
                                                  "nest": sb.stats})
        self.drop_objection()


@pyuvm.test()
class SaCompiledTest(SaRandomTest):
    """Systolic-array groups of compiled one-layer convolutions and Gemms, in program order."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(SaRandomSeq, SaCompiledSeq)
        super().build_phase()


@pyuvm.test()
class SaErrorTest(SaRandomTest):
    """Illegal fields, transfers outside their buffer, nest addresses outside a buffer, AXI SLVERR."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(SaRandomSeq, SaErrorSeq)
        super().build_phase()


@pyuvm.test()
class SaForeignTest(SaRandomTest):
    """Foreign-footprint holds: groups next to a foreign group the test plays (verif/sa_engine/foreign.py)."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(SaRandomSeq, SaForeignSeq)
        super().build_phase()
