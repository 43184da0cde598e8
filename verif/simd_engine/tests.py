"""The pyuvm tests of the SIMD engine (the cocotb test module the runner loads).

SimdCompiledTest runs the SIMD groups of a tiny CNN compiled for the preset (state from the simulator at each
group); SimdRandomTest random legal groups; SimdErrorTest random groups the simulator rejects. The memory is a
cocotbext-axi AxiRam on m_axi_simd_* with random pauses on all five channels; IMEM and OBUF are Python models.
"""

from __future__ import annotations

import logging
import os
import random

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge
from cocotbext.axi import AxiBus, AxiRam
from pyuvm import ConfigDB, uvm_factory, uvm_test

from genesys.arch import load_arch

from .common import ENV_PRESET, RAM_SIZE, DutParams, clock_period_ps, items_default, write_report
from .components import ImemModel, ObufModel
from .env import SimdEnv
from .sequences import CompiledSeq, ErrorSeq, RandomSeq


def _pauses(rng: random.Random, density: float):
    while True:
        yield rng.random() < density


@pyuvm.test()
class SimdCompiledTest(uvm_test):
    """The SIMD groups of a compiled tiny CNN."""

    seq = CompiledSeq

    def build_phase(self):
        self.dut = cocotb.top
        self.params = DutParams.from_dut(self.dut)
        self.arch = load_arch(os.environ.get(ENV_PRESET, "4x4"))
        self.seed = int(cocotb.RANDOM_SEED) if hasattr(cocotb, "RANDOM_SEED") else 1
        for k, v in (("DUT", self.dut), ("PARAMS", self.params), ("ARCH", self.arch), ("SEED", self.seed),
                     ("ITEMS", items_default(20)), ("TEST_NAME", type(self).__name__)):
            ConfigDB().set(None, "*", k, v)
        self.imem = ImemModel(self.dut, 1 << self.params.IMEM_AW)
        self.obuf = ObufModel(self.dut, self.arch)
        ConfigDB().set(None, "*", "IMEM", self.imem)
        ConfigDB().set(None, "*", "OBUF", self.obuf)
        self.env = SimdEnv("env", self)

    def end_of_elaboration_phase(self):
        self.stimulus = self.seq.create("stimulus")

    def start_of_simulation_phase(self):
        Clock(self.dut.clk, clock_period_ps(), unit="ps").start(start_high=False)

    async def run_phase(self):
        self.raise_objection()
        dut = self.dut
        for name in ("start", "pc", "num", "data_base", "abort", "run_start", "imem_rdata", "obuf_rdata"):
            getattr(dut, name).value = 0
        dut.rst_n.value = 0
        for _ in range(5):
            await RisingEdge(dut.clk)
        ram = AxiRam(AxiBus.from_prefix(dut, "m_axi_simd"), dut.clk, dut.rst_n, reset_active_level=False, size=RAM_SIZE)
        for lg in (ram.read_if.log, ram.write_if.log):
            lg.setLevel(logging.WARNING)
        for i, ch in enumerate((ram.read_if.ar_channel, ram.read_if.r_channel, ram.write_if.aw_channel,
                                ram.write_if.w_channel, ram.write_if.b_channel)):
            ch.set_pause_generator(_pauses(random.Random(self.seed * 10 + i), 0.25))
        ConfigDB().set(None, "*", "RAM", ram)
        cocotb.start_soon(self.imem.run())
        cocotb.start_soon(self.obuf.run())
        await FallingEdge(dut.clk)
        dut.rst_n.value = 1
        await RisingEdge(dut.clk)
        await self.stimulus.start(self.env.seqr)
        for _ in range(4):
            await RisingEdge(dut.clk)
        sb, drv = self.env.scoreboard, self.env.driver
        name = type(self).__name__
        write_report(name, "run", {"cycles": drv.cycles, "params": self.params.to_dict(),
                                   "rows": sb.rows, "compute_cycles": sb.compute_cycles})
        write_report(name, "scoreboard", {"checked": sb.checked, "failures": sb.failures,
                                          "failed_cases": sb.failed_cases[:5]})
        write_report(name, "coverage", sb.coverage.report())
        self.drop_objection()

    def check_phase(self):
        sb = self.env.scoreboard
        assert sb.checked > 0, "no case was checked"
        assert not sb.failures, f"{len(sb.failures)} of {sb.checked} cases failed; first: {sb.failures[0]}"


@pyuvm.test()
class SimdRandomTest(SimdCompiledTest):
    """Random legal groups: loops, iterators, IMM, transfers, every function family."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(CompiledSeq, RandomSeq)
        super().build_phase()


@pyuvm.test()
class SimdErrorTest(SimdCompiledTest):
    """Random groups the simulator rejects: same cause, same instruction."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(CompiledSeq, ErrorSeq)
        super().build_phase()
