"""The pyuvm tests of the DMA engine (the cocotb test module the runner loads).

DmaRandomTest is the base test: it builds the environment, attaches an AxiRam (random AR/R/AW/W/B
pauses, one 4 KiB page answering SLVERR) and runs DmaRandomSeq. The other tests override the sequence.
The DUT's parameters are read back from the DUT, so one module serves every preset.
"""

from __future__ import annotations

import logging
import random

import cocotb
import numpy as np
import pyuvm
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, RisingEdge
from cocotbext.axi import AxiBus, AxiRam
from pyuvm import ConfigDB, uvm_factory, uvm_test

from .common import ERROR_PAGE, RAM_SIZE, DutParams, clock_period_ps, write_report
from .env import DmaEnv
from .reference import BOUNDARY
from .sequences import DmaCornerSeq, DmaErrorSeq, DmaRandomSeq


def _in_error_page(addr: int, n: int) -> bool:
    return addr < ERROR_PAGE + BOUNDARY and addr + n > ERROR_PAGE


def _pauses(rng: random.Random, density: float):
    while True:
        yield rng.random() < density


def attach_ram(dut, seed: int) -> AxiRam:
    """AxiRam behind the DUT, filled with random bytes; SLVERR on the error page; random channel pauses."""
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst_n, reset_active_level=False, size=RAM_SIZE)
    for lg in (ram.read_if.log, ram.write_if.log, logging.getLogger("cocotb.genesys_dma.m_axi")):
        lg.setLevel(logging.WARNING)
    rng = np.random.default_rng(seed)
    ram.write(0, rng.integers(0, 256, RAM_SIZE, dtype=np.uint8).tobytes())

    plain_read, plain_write = ram.read_if._read, ram.write_if._write

    async def read(address, length):
        if _in_error_page(address, length):
            raise OSError(f"SLVERR page 0x{ERROR_PAGE:x}")
        return await plain_read(address, length)

    async def write(address, data):
        if _in_error_page(address, len(data)):
            raise OSError(f"SLVERR page 0x{ERROR_PAGE:x}")
        await plain_write(address, data)

    ram.read_if._read, ram.write_if._write = read, write
    for i, ch in enumerate((ram.read_if.ar_channel, ram.read_if.r_channel, ram.write_if.aw_channel,
                            ram.write_if.w_channel, ram.write_if.b_channel)):
        ch.set_pause_generator(_pauses(random.Random(seed * 10 + i), 0.25))
    ram.read_if.log.setLevel(logging.WARNING)
    return ram


@pyuvm.test()
class DmaRandomTest(uvm_test):
    """Random descriptors: strides of any sign, any request size and alignment, 4 KiB crossings, stalls."""

    def build_phase(self):
        self.dut = cocotb.top
        self.params = DutParams.from_dut(self.dut)
        self.seed = int(cocotb.RANDOM_SEED) if hasattr(cocotb, "RANDOM_SEED") else 1
        ConfigDB().set(None, "*", "DUT", self.dut)
        ConfigDB().set(None, "*", "PARAMS", self.params)
        ConfigDB().set(None, "*", "SEED", self.seed)
        ConfigDB().set(None, "*", "TEST_NAME", type(self).__name__)
        self.env = DmaEnv("env", self)

    def end_of_elaboration_phase(self):
        self.stimulus = DmaRandomSeq.create("stimulus")

    def start_of_simulation_phase(self):
        Clock(self.dut.clk, clock_period_ps(), unit="ps").start(start_high=False)

    async def run_phase(self):
        self.raise_objection()
        dut = self.dut
        for name in ("cmd_valid", "cmd_store", "cmd_addr", "cmd_iters_m1", "cmd_strides", "cmd_req_bytes",
                     "ld_ready", "st_valid", "st_data"):
            getattr(dut, name).value = 0
        dut.rst_n.value = 0
        for _ in range(5):
            await RisingEdge(dut.clk)
        ram = attach_ram(dut, self.seed)  # after a few reset cycles (Icarus: no X-valued valids)
        shadow = np.frombuffer(ram.read(0, RAM_SIZE), dtype=np.uint8).copy()
        self.env.scoreboard.ram = ram
        self.env.scoreboard.shadow = shadow
        await FallingEdge(dut.clk)
        dut.rst_n.value = 1
        await RisingEdge(dut.clk)
        start = get_sim_time("ps")
        await self.stimulus.start(self.env.seqr)
        for _ in range(4):
            await RisingEdge(dut.clk)
        cycles = int((get_sim_time("ps") - start) // clock_period_ps())
        write_report(type(self).__name__, "run", {"cycles": cycles, "params": self.params.to_dict(),
                                                  "transfers": self.env.monitor.transfers})
        self.drop_objection()


@pyuvm.test()
class DmaCornerTest(DmaRandomTest):
    """Single byte, empty transfer, longest bursts, page-spanning requests, 4 loop levels, overlaps."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(DmaRandomSeq, DmaCornerSeq)
        super().build_phase()


@pyuvm.test()
class DmaErrorTest(DmaRandomTest):
    """SLVERR on loads and stores: the status names the first failing burst; the engine never hangs."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(DmaRandomSeq, DmaErrorSeq)
        super().build_phase()
