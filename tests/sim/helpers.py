"""Helpers for the simulator tests: a small-DRAM simulator per preset and an assemble-and-run call."""

from __future__ import annotations

from genesys.isa import assemble_text
from genesys.sim import Simulator
from genesys.sim.testing import program

DRAM = 1 << 22


def make_sim(preset: str = "4x4", **kw) -> Simulator:
    return Simulator(preset, dram_bytes=kw.pop("dram_bytes", DRAM), **kw)


def run(sim: Simulator, groups: list[str], blocks: list[int] | None = None, program_addr: int = 0x3F0000):
    """Assemble the groups into a program, load it high in DRAM and run it."""
    return sim.run_words(assemble_text(program(groups, blocks)), program_addr=program_addr)
