"""The systolic-array engine's environment: sequencer -> driver (IMEM model, start/done) -> DUT (three AXI4
masters on one AxiRam) ; the driver's finished items -> scoreboard (genesys.sim reference) and coverage.

    sequence ──> sequencer ──> SaDriver ──IMEM / start──> genesys_sa_engine ──AXI4 x3──> AxiRam (shared memory)
                                  │ SaGroupItem (err, cause, pc, addr, counters)
                                  ├──> SaScoreboard (RefMachine: genesys.sim.sa on a MachineState; DRAM window)
                                  └──> SaCoverage
"""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_env, uvm_sequencer

from .components import SaCoverage, SaDriver, SaScoreboard


class SaEngineEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = SaDriver.create("driver", self)
        self.scoreboard = SaScoreboard.create("scoreboard", self)
        self.coverage = SaCoverage.create("coverage", self)
        ConfigDB().set(None, "*", "SCOREBOARD", self.scoreboard)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.driver.ap.connect(self.scoreboard.analysis_export)
        self.driver.ap.connect(self.coverage.analysis_export)
