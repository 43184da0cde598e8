"""Hypothesis strategies over the ISA table, for this package's tests and for others (simulator, RTL)."""

from __future__ import annotations

from genesys.isa.assembler import encode
from genesys.isa.table import ENUM, FIXED, INSTRUCTIONS, Instr


def instruction_values(instr: Instr):
    """Strategy: a valid tuple of operand values (enum codes as ints) for `instr`."""
    from hypothesis import strategies as st

    parts = []
    for f in instr.operands:
        if f.kind == ENUM:
            parts.append(st.sampled_from([v for _, v in f.symbols.items]))
        elif f.kind == FIXED:
            parts.append(st.just(f.value))
        else:
            parts.append(st.integers(f.lo, f.hi))
    return st.tuples(*parts)


def valid_words(instructions=INSTRUCTIONS):
    """Strategy: canonical 32-bit words (don't-care bits zero) of any instruction in the table."""
    from hypothesis import strategies as st

    return st.one_of(*[instruction_values(i).map(lambda vals, i=i: encode(i, vals)) for i in instructions])
