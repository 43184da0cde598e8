"""The GeneSys software simulator: the executable definition of docs/isa.md (Semantics).

    from genesys.sim import Simulator
    sim = Simulator("16x16")
    sim.load(0x10000, image)
    result = sim.run_words(words)          # SimResult: counters, groups, cycles, instructions, wall_seconds
"""

from genesys.sim.errors import SimulationError
from genesys.sim.simulator import DEFAULT_DMA_LATENCY, DEFAULT_DRAM_BYTES, GroupRecord, SimResult, Simulator

__all__ = ["Simulator", "SimResult", "GroupRecord", "SimulationError", "DEFAULT_DMA_LATENCY", "DEFAULT_DRAM_BYTES"]
