"""The SIMD function-unit environment: sequencer -> driver -> DUT -> monitor -> scoreboard and coverage.

    sequence ──> sequencer ──> FuDriver ──pins──> genesys_simd_fu
                                                   │
                              FuMonitor (inputs accepted, results, aborts, in_ready rule)
                                 │ FuEvent
                                 ├──> FuScoreboard (genesys.sim.functions.apply per lane, latency, tag, errors)
                                 └──> FuCoverage
"""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_env, uvm_sequencer

from .components import FuCoverage, FuDriver, FuMonitor, FuScoreboard


class FuEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = FuDriver.create("driver", self)
        self.monitor = FuMonitor.create("monitor", self)
        self.scoreboard = FuScoreboard.create("scoreboard", self)
        self.coverage = FuCoverage.create("coverage", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.monitor.ap.connect(self.scoreboard.analysis_export)
        self.monitor.ap.connect(self.coverage.analysis_export)
        self.scoreboard.monitor = self.monitor  # its pin-rule violations fail the test too
