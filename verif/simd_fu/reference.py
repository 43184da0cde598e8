"""Reference model of one function-unit operation: genesys.sim.functions.apply on the lanes, plus the
hardware's error decisions (docs/npu.md, "SIMD function unit").

Encodings come from the ISA table (genesys.isa.table.verilog_constants) and the error causes from
genesys.isa.status, the same sources genesys_pkg is rendered from: nothing is typed twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genesys.isa import status
from genesys.isa.table import verilog_constants
from genesys.sim import functions as fn
from genesys.sim.errors import DataError

CONST = {name: value for name, _w, value in verilog_constants()}
ERR = {c.name: c.code for c in status.ERROR_CAUSES}
OPCODE = {"ALU": CONST["SIMD_OP_ALU"], "CALCULUS": CONST["SIMD_OP_CALCULUS"],
          "COMPARISON": CONST["SIMD_OP_COMPARISON"], "DATATYPE_CAST": CONST["SIMD_OP_DATATYPE_CAST"]}
_GROUPS = (("ALU", "ALU_", fn.ALU), ("CALCULUS", "CALC_", fn.CALCULUS), ("COMPARISON", "CMP_", fn.COMPARISON),
           ("DATATYPE_CAST", "CAST_", fn.CASTS))
CODE: dict[str, tuple[int, int]] = {name: (OPCODE[g], CONST[prefix + name]) for g, prefix, names in _GROUPS
                                    for name in names}
NAME = {v: k for k, v in CODE.items()}
NOT_IN_HW = fn.FP_ONLY  # SIGMOID TANH EXP LN SQRT INV_SQRT LOG2: ERR_UNSUPPORTED by decision
PLAIN = ("NOP", "NOT", "AND", "OR")  # bitwise: no type, no format


@dataclass
class Op:
    """One input of the unit: a function, the active type and the lane words (uint32)."""

    opcode: int
    func: int
    fp: bool
    dint: int
    s1int: int
    s2int: int
    a: list[int]
    b: list[int]
    d: list[int]

    @property
    def name(self) -> str | None:
        return NAME.get((self.opcode, self.func))


def dtype(op: Op) -> fn.DType:
    return fn.DType("FP") if op.fp else fn.DType("FXP", 32 - op.dint, 32 - op.s1int, 32 - op.s2int)


def _i32(words) -> np.ndarray:
    return np.asarray(words, dtype=np.uint64).astype(np.uint32).view(np.int32)


def expected_error(op: Op) -> str | None:
    """The error cause the hardware reports, lowest code first (None: no error)."""
    name = op.name
    if name is None:
        return "ILLEGAL_INSTR"
    if not op.fp and name not in PLAIN and max(op.dint, op.s1int, op.s2int) > 32:
        return "BAD_FIELD"
    if name in NOT_IN_HW or (op.fp and name in fn.FXP_ONLY):
        return "UNSUPPORTED"
    if not op.fp and name == "DIV" and 0 in op.b:
        return "DIV_BY_ZERO"
    if not op.fp and name in fn.FXP_ONLY and any(w >> 31 for w in op.b):
        return "NEG_SHIFT"
    return None


def expected(op: Op) -> tuple[str | None, list[int] | None]:
    """(error cause name or None, result words (uint32) or None when the op errors)."""
    cause = expected_error(op)
    a, b, d = _i32(op.a), _i32(op.b), _i32(op.d)
    try:
        with np.errstate(all="ignore"):
            out = fn.apply(op.name, dtype(op), a, b, d) if op.name is not None else None
        model_error = False
    except DataError:
        model_error = True
    # The simulator and the hardware's decisions agree on which data errors exist.
    if cause in ("DIV_BY_ZERO", "NEG_SHIFT") or (cause == "UNSUPPORTED" and op.name in fn.FXP_ONLY) \
            or (cause == "UNSUPPORTED" and not op.fp):
        assert model_error, f"{op.name}: the reference model did not raise for {cause}"
    elif cause is None:
        assert not model_error, f"{op.name}: the reference model raised but the hardware has no error"
    if cause is not None:
        return cause, None
    if out is None:  # NOP: the unit returns the destination unchanged
        out = d
    return None, [int(x) for x in np.broadcast_to(out, a.shape).view(np.uint32)]
