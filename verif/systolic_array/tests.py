"""The pyuvm tests of the systolic array (the cocotb test module the runner loads).

SaRandomTest is the base test: it builds the environment and runs SaRandomSeq. The other tests are
factory overrides of that sequence, in the TinyALU style. The DUT's parameters are read back from the
DUT (every size and width the environment uses), so one test module serves every preset.
"""

from __future__ import annotations

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge
from pyuvm import ConfigDB, uvm_factory, uvm_test

from .common import DutParams, SaBfm, write_report
from .env import SaEnv
from .sequences import SaCornerSeq, SaIdentitySeq, SaRandomSeq, SaZeroSeq

DRAIN_MARGIN = 4  # cycles waited beyond LATENCY for the last outputs


@pyuvm.test()
class SaRandomTest(uvm_test):
    """Random matrices, stream lengths, bubbles, load timing and partial sums."""

    def build_phase(self):
        dut = cocotb.top
        self.params = DutParams.from_dut(dut)
        self.bfm = SaBfm(dut, self.params)
        ConfigDB().set(None, "*", "PARAMS", self.params)
        ConfigDB().set(None, "*", "BFM", self.bfm)
        ConfigDB().set(None, "*", "TEST_NAME", type(self).__name__)
        self.env = SaEnv("env", self)

    def end_of_elaboration_phase(self):
        self.stimulus = SaRandomSeq.create("stimulus")

    def start_of_simulation_phase(self):
        self.logger.info(f"DUT parameters: {self.params.to_dict()}")
        Clock(self.bfm.dut.clk, self.bfm.period_ps, unit="ps").start(start_high=False)

    async def run_phase(self):
        self.raise_objection()
        start = self.bfm.cycle()
        await self.stimulus.start(self.env.seqr)
        for _ in range(self.params.LATENCY + DRAIN_MARGIN):
            await RisingEdge(self.bfm.dut.clk)
        cycles = self.bfm.cycle() - start
        write_report(type(self).__name__, "run", {"cycles": cycles, "params": self.params.to_dict(),
                                                  "vectors": self.env.in_mon.vectors})
        self.drop_objection()


@pyuvm.test()
class SaCornerTest(SaRandomTest):
    """Corner values of every operand: range ends, zero, +-1; sums at and past the accumulator's ends."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(SaRandomSeq, SaCornerSeq)
        super().build_phase()


@pyuvm.test()
class SaIdentityTest(SaRandomTest):
    """Identity weights and all their column rotations: each activation must reach one column intact."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(SaRandomSeq, SaIdentitySeq)
        super().build_phase()


@pyuvm.test()
class SaZeroTest(SaRandomTest):
    """Reset weights, zero weights, zero activations: every result equals its partial sum."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(SaRandomSeq, SaZeroSeq)
        super().build_phase()
