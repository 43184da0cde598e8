"""The systolic-array environment: sequencer -> driver -> DUT -> monitors -> scoreboard and coverage.

    sequence ──> sequencer ──> SaDriver ──pins──> genesys_systolic_array
                                                   │                   │
                                  SaInputMonitor <─┘                   └─> SaOutputMonitor
                                    │ SaVector                                │ SaResult
                                    ├──> SaScoreboard.exp_fifo   SaScoreboard.act_fifo <──┘
                                    └──> SaCoverage
"""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_env, uvm_sequencer

from .components import SaCoverage, SaDriver, SaInputMonitor, SaOutputMonitor, SaScoreboard


class SaEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = SaDriver.create("driver", self)
        self.in_mon = SaInputMonitor.create("in_mon", self)
        self.out_mon = SaOutputMonitor.create("out_mon", self)
        self.scoreboard = SaScoreboard.create("scoreboard", self)
        self.coverage = SaCoverage.create("coverage", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.in_mon.ap.connect(self.scoreboard.exp_export)
        self.in_mon.ap.connect(self.coverage.analysis_export)
        self.out_mon.ap.connect(self.scoreboard.act_export)
