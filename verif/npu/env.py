"""The NPU environment.

    sequence ──> AxilAgent (sequencer, driver: AxiLiteMaster) ──AXI-Lite──> genesys_top ──5 x AXI4──> AxiMemAgent
        │                                                                      (one SharedDram; per port a responder
        │ NpuRun / CsrObs (env.results, ConfigDB "NPU_AP")                      with timing modes and error ranges,
        ├──> NpuScoreboard (simulator DRAM, counters, error registers)          and a passive burst monitor)
        └──> NpuCoverage (ops, causes, timing modes, ports, bursts, scenarios, CSR behaviours)
"""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_analysis_port, uvm_env

from genesys.verif.agents.axi_mem import AxiMemAgent
from genesys.verif.agents.axil import AxilAgent

from .components import NpuCoverage, NpuScoreboard


class NpuEnv(uvm_env):
    def build_phase(self):
        self.axil = AxilAgent("axil", self)
        self.mem = AxiMemAgent("mem", self)
        self.scoreboard = NpuScoreboard("scoreboard", self)
        self.coverage = NpuCoverage("coverage", self)
        self.results = uvm_analysis_port("results", self)
        ConfigDB().set(None, "*", "NPU_AP", self.results)
        ConfigDB().set(None, "*", "AXI_MEM", self.mem)

    def connect_phase(self):
        self.results.connect(self.scoreboard.analysis_export)
        self.results.connect(self.coverage.analysis_export)
