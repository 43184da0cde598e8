"""Program fetch and structure (docs/isa.md, Semantics §2): DRAM words -> blocks -> groups.

A block is the words up to and including the next BLOCK_END and must fit IMEM. A group is
`INST_GROUP/SYNC_INST <engine>, START, g, n` + n body instructions + the matching END. Structure errors
name the offending instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genesys.isa import DisasmError, decode
from genesys.isa.table import OPCODES
from genesys.sim.errors import SimulationError

BLOCK_END_OPCODE = OPCODES["SA"]["BLOCK_END"]
GROUP_OPCODE = OPCODES["SA"]["INST_GROUP"]
SA_OPCODES = frozenset(OPCODES["SA"].values()) - {BLOCK_END_OPCODE, GROUP_OPCODE}
SIMD_OPCODES = frozenset(OPCODES["SIMD"].values())
ENGINES = ("SA", "SIMD")  # the TARGET field: SYSTOLIC_ARRAY = 0, SIMD = 1


class Op:
    """One decoded instruction of the program: its index (word position from the program address), word,
    mnemonic, operand values `f` (name -> value, enums as their codes) and disassembly `text`."""

    __slots__ = ("index", "word", "mnemonic", "f", "text", "opcode")

    def __init__(self, index: int, word: int, mnemonic: str, f: dict, text: str, opcode: str):
        self.index, self.word, self.mnemonic, self.f, self.text = index, word, mnemonic, f, text
        self.opcode = opcode  # the opcode's name (ALU, LD_ST, ...)

    def __repr__(self) -> str:
        return f"Op({self.index}, 0x{self.word:08x}, {self.text!r})"

    def error(self, message: str) -> SimulationError:
        return SimulationError(message, index=self.index, word=self.word, text=self.text)


@dataclass
class Group:
    engine: str  # "SA" or "SIMD"
    number: int
    start: Op
    end: Op
    body: list[Op] = field(default_factory=list)


@dataclass
class Block:
    first_index: int
    n_words: int
    groups: list[Group]
    last: bool
    end: Op


class Decoder:
    """Decodes words with a cache (programs repeat the same words many times)."""

    def __init__(self):
        self._cache: dict[int, tuple[str, dict, str, str] | str] = {}

    def op(self, index: int, word: int) -> Op:
        hit = self._cache.get(word)
        if hit is None:
            try:
                d = decode(word)
                hit = (d.mnemonic, d.fields, d.text, d.instr.opcode)
            except DisasmError as e:
                hit = e.reason
            self._cache[word] = hit
        if isinstance(hit, str):
            raise SimulationError(f"not a valid instruction: {hit}", index=index, word=word,
                                  text="<does not disassemble>")
        return Op(index, word, *hit)

    def ops(self, words: list[int], first_index: int) -> list[Op]:
        cache, out = self._cache, []
        for k, w in enumerate(words):
            hit = cache.get(w)
            out.append(Op(first_index + k, w, *hit) if type(hit) is tuple else self.op(first_index + k, w))
        return out


def fetch_block(dram: np.ndarray, addr: int, first_index: int, imem_depth: int) -> np.ndarray:
    """The words of the block starting at DRAM byte `addr` (up to and including its BLOCK_END)."""
    if addr % 4:
        raise SimulationError(f"program address 0x{addr:x} is not word-aligned (a multiple of 4)")
    if addr < 0 or addr + 4 > dram.size:
        raise SimulationError(f"instruction {first_index} would be fetched from DRAM address 0x{addr:x}, "
                              f"outside DRAM (0x0..0x{dram.size - 1:x}): the previous block did not end the "
                              "program with BLOCK_END 1")
    n_avail = min(imem_depth, (dram.size - addr) // 4)
    words = dram[addr:addr + 4 * n_avail].view("<u4")
    ends = np.flatnonzero((words >> 28) == BLOCK_END_OPCODE)
    if ends.size == 0:
        if n_avail < imem_depth:
            raise SimulationError(f"the block starting at instruction {first_index} (DRAM 0x{addr:x}) runs past "
                                  f"the end of DRAM without a BLOCK_END")
        raise SimulationError(f"the block starting at instruction {first_index} (DRAM 0x{addr:x}) has no BLOCK_END "
                              f"within IMEM_DEPTH = {imem_depth} words: a block must fit the instruction memory; "
                              "split it with BLOCK_END 0")
    return words[:ends[0] + 1].astype(np.int64)


def parse_block(decoder: Decoder, words: np.ndarray, first_index: int) -> Block:
    """Decode a block's words and split them into groups, checking the structure rules."""
    ops = decoder.ops(words.tolist(), first_index)
    groups: list[Group] = []
    k = 0
    n = len(ops) - 1  # the last op is the BLOCK_END
    while k < n:
        start = ops[k]
        if start.word >> 28 != GROUP_OPCODE:
            raise start.error("instruction outside a group: every instruction other than BLOCK_END must sit "
                              "between INST_GROUP/SYNC_INST START and END")
        engine, se, number, count = _group_fields(start)
        if se != 0:
            raise start.error("group END without a matching START")
        body_end = k + 1 + count
        body = ops[k + 1:min(body_end, n)]
        for j, op in enumerate(body):
            opcode = op.word >> 28
            if opcode == GROUP_OPCODE:
                o_engine, o_se, o_number, _ = _group_fields(op)
                if o_se == 1 and o_engine == engine and o_number == number:
                    raise op.error(f"group {number} (started at instruction {start.index}) announces {count} "
                                   f"instructions but ends after {j}: NUM_INSTR must equal the number of "
                                   "instructions between START and END")
                raise op.error(f"group instruction inside group {number} (started at instruction {start.index}): "
                               f"the START announced {count} body instructions; groups do not nest")
            if opcode == BLOCK_END_OPCODE:
                raise op.error(f"BLOCK_END inside group {number} (started at instruction {start.index})")
            if (opcode in SIMD_OPCODES) != (engine == "SIMD"):
                kind = "a SIMD" if opcode in SIMD_OPCODES else "a systolic-array"
                raise op.error(f"{kind} instruction inside {engine} group {number} (started at instruction "
                               f"{start.index})")
        if body_end >= n:
            raise start.error(f"group {number} announces {count} instructions but the block has only "
                              f"{n - k - 1} more before its BLOCK_END (a group must close within its block)")
        end = ops[body_end]
        if end.word >> 28 != GROUP_OPCODE:
            raise end.error(f"expected the END of group {number} (started at instruction {start.index} with "
                            f"{count} body instructions), found another instruction: NUM_INSTR must equal the number "
                            "of instructions between START and END")
        e_engine, e_se, e_number, _ = _group_fields(end)
        if e_se != 1 or e_engine != engine or e_number != number:
            raise end.error(f"group {number} ({engine}, started at instruction {start.index}) must be closed by an "
                            f"END of the same engine and group number, found {'END' if e_se else 'START'} of "
                            f"{e_engine} group {e_number}")
        groups.append(Group(engine, number, start, end, body))
        k = body_end + 1
    last = ops[-1]
    return Block(first_index, len(ops), groups, bool(last.f["LAST"]), last)


def _group_fields(op: Op) -> tuple[str, int, int, int]:
    """(engine, START=0/END=1, group number, NUM_INSTR) of either spelling of the group instruction."""
    f = op.f
    if f.get("EXEC_BUF", 0) != 0:
        raise op.error("BUF groups are not defined by docs/isa.md (Semantics); use EXEC")
    number = (op.word >> 16) & 0x3F  # GROUP (INST_GROUP) and GROUP_NUM (SYNC_INST) are the same bits
    return ENGINES[f["TARGET"]], f["START_END"], number, f["NUM_INSTR"]
