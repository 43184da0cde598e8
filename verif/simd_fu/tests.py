"""The pyuvm tests of the SIMD function unit (the cocotb test module the runner loads).

FuRandomTest is the base test: it builds the environment, resets the DUT and runs FuRandomSeq. The other
tests override the sequence. The DUT's parameters (LANES, LATENCY, DIV_CYCLES ...) are read back from the
DUT, so one module serves every preset.
"""

from __future__ import annotations

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge
from pyuvm import ConfigDB, uvm_factory, uvm_test

from .common import DutParams, clock_period_ps, write_report
from .env import FuEnv
from .sequences import FuAbortSeq, FuCompilerSeq, FuCornerSeq, FuErrorSeq, FuRandomSeq


@pyuvm.test()
class FuRandomTest(uvm_test):
    """Random functions of both types, random FXP formats, random operands of every class, gaps."""

    def build_phase(self):
        self.dut = cocotb.top
        self.params = DutParams.from_dut(self.dut)
        self.seed = int(cocotb.RANDOM_SEED) if hasattr(cocotb, "RANDOM_SEED") else 1
        ConfigDB().set(None, "*", "DUT", self.dut)
        ConfigDB().set(None, "*", "PARAMS", self.params)
        ConfigDB().set(None, "*", "SEED", self.seed)
        ConfigDB().set(None, "*", "TEST_NAME", type(self).__name__)
        self.env = FuEnv("env", self)

    def end_of_elaboration_phase(self):
        self.stimulus = FuRandomSeq.create("stimulus")

    def start_of_simulation_phase(self):
        Clock(self.dut.clk, clock_period_ps(), unit="ps").start(start_high=False)

    async def run_phase(self):
        self.raise_objection()
        dut = self.dut
        for name in ("in_valid", "abort", "in_opcode", "in_func", "in_fp", "in_dint", "in_s1int", "in_s2int",
                     "in_a", "in_b", "in_d", "in_tag"):
            getattr(dut, name).value = 0
        dut.rst_n.value = 0
        for _ in range(3):
            await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.rst_n.value = 1
        await self.stimulus.start(self.env.seqr)
        for _ in range(self.params.DIV_LATENCY + 4):
            await RisingEdge(dut.clk)
        write_report(type(self).__name__, "run", {"cycles": self.env.monitor.samples,
                                                  "params": self.params.to_dict(),
                                                  "accepted": self.env.monitor.accepted})
        self.drop_objection()


@pyuvm.test()
class FuCompilerOpsTest(FuRandomTest):
    """What the compiler emits, heavily: 32FP ADD SUB MUL MACC DIV MAX MIN and the FXP32<->FP32 casts;
    32FXP (32,32,32) ADD MAX MIN MOVE and the casts; rounding ties often."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FuRandomSeq, FuCompilerSeq)
        super().build_phase()


@pyuvm.test()
class FuCornerTest(FuRandomTest):
    """Boundary src1 x boundary src2 for every function in both types (back to back)."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FuRandomSeq, FuCornerSeq)
        super().build_phase()


@pyuvm.test()
class FuErrorTest(FuRandomTest):
    """Every error cause, the lowest of several, interleaved with good ops; DIVs back to back."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FuRandomSeq, FuErrorSeq)
        super().build_phase()


@pyuvm.test()
class FuAbortTest(FuRandomTest):
    """abort with results in flight (often during a DIV): nothing in flight comes out, in_ready returns."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(FuRandomSeq, FuAbortSeq)
        super().build_phase()
