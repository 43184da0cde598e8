"""The DMA environment: sequencer -> driver -> DUT (+ AxiRam) -> monitor -> scoreboard and coverage.

    sequence ──> sequencer ──> DmaDriver ──cmd / stream pins──> genesys_dma ──AXI4──> AxiRam (pauses, SLVERR page)
                                                                   │
                                           DmaMonitor (descriptor, AR/AW/W rules, stream, status)
                                             │ DmaObserved
                                             ├──> DmaScoreboard (reference model + RAM contents)
                                             └──> DmaCoverage
"""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_env, uvm_sequencer

from .components import DmaCoverage, DmaDriver, DmaMonitor, DmaScoreboard


class DmaEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = DmaDriver.create("driver", self)
        self.monitor = DmaMonitor.create("monitor", self)
        self.scoreboard = DmaScoreboard.create("scoreboard", self)
        self.coverage = DmaCoverage.create("coverage", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.monitor.ap.connect(self.scoreboard.analysis_export)
        self.monitor.ap.connect(self.coverage.analysis_export)
