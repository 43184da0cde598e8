"""The SIMD engine environment: sequencer -> CaseDriver -> Scoreboard (with coverage)."""

from __future__ import annotations

from pyuvm import uvm_env, uvm_sequencer

from .components import CaseDriver, Scoreboard


class SimdEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        self.driver = CaseDriver("driver", self)
        self.scoreboard = Scoreboard("scoreboard", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.driver.ap.connect(self.scoreboard.export)
