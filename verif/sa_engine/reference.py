"""The reference: genesys.sim runs the same group on a MachineState (its own DRAM, IBUF, WBUF, BBUF, OBUF
persisting from group to group, as in the engine), and its SimulationError becomes the error cause the
engine must report (genesys.isa.status.ERROR_CAUSES names)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from genesys.isa import assemble_line
from genesys.sim import sa
from genesys.sim.decoder import Decoder, Group
from genesys.sim.errors import SimulationError
from genesys.sim.state import MachineState


def group_words(body: list[str]) -> tuple[int, list[int], int]:
    """(START word, body words, END word) of a systolic-array group with this body (assembly lines)."""
    start = assemble_line(f"SYNC_INST SYSTOLIC_ARRAY, START, EXEC, 0, 0, {len(body)}")
    end = assemble_line("SYNC_INST SYSTOLIC_ARRAY, END, EXEC, 0, 0, 0")
    return start, [assemble_line(t) for t in body], end


def error_cause(e: SimulationError) -> str:
    """The ERROR_CAUSES name of a simulator stop in a systolic-array group."""
    m = re.search(r"outside (IBUF|WBUF|BBUF|OBUF|DRAM)\b", e.reason)
    if m:
        return f"{m.group(1)}_RANGE"
    if "runs at most" in e.reason:
        return "UNSUPPORTED"
    return "BAD_FIELD"


@dataclass
class RefResult:
    cause: str | None        # None: the group ran to its end
    index: int | None        # instruction index the simulator names (IMEM index in the engine's frame)
    message: str = ""
    loads: int = 0
    stores: int = 0
    nest_iterations: int = 0
    nest_stall: int = 0


class RefMachine:
    """genesys.sim's systolic-array group semantics on one persistent machine state."""

    def __init__(self, arch, dram_bytes: int):
        self.arch = arch
        self.state = MachineState(arch, dram_bytes)
        self.decoder = Decoder()

    def run_group(self, start_word: int, body: list[int], end_word: int, start_index: int) -> RefResult:
        ops = self.decoder.ops([start_word, *body, end_word], start_index)
        group = Group("SA", 0, ops[0], ops[-1], ops[1:-1])
        r = RefResult(None, None)
        try:
            prog = sa.parse_group(group)
            for t in prog.loads:
                sa.run_transfer(self.state, t, 8)
                r.loads += 1
            if prog.nest is not None:
                n = sa.run_nest(self.state, prog.nest)
                r.nest_iterations, r.nest_stall = n.iterations, n.stall
            for t in prog.stores:
                sa.run_transfer(self.state, t, 8)
                r.stores += 1
        except SimulationError as e:
            r.cause, r.index, r.message = error_cause(e), e.index, str(e)
        return r
