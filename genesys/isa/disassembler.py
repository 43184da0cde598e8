"""Disassembler: the exact inverse of the assembler on canonical words.

A word disassembles only if it is canonical: a defined opcode and function, defined enum values, fixed
operands at their value and don't-care bits at zero. Anything else raises DisasmError, so that
`assemble_text(disassemble(words)) == words` always holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from genesys.isa.errors import DisasmError
from genesys.isa.table import BY_OPCODE, ENUM, FIXED, OPCODE_LSB, WORD_MASK, Field, Instr


@dataclass(frozen=True)
class Decoded:
    """A decoded word: its instruction spelling and each operand's value (ints; enums as their code)."""
    word: int
    instr: Instr
    values: tuple[int, ...]

    @property
    def mnemonic(self) -> str:
        return self.instr.mnemonic

    @property
    def fields(self) -> dict[str, int]:
        return {f.name: v for f, v in zip(self.instr.operands, self.values, strict=True)}

    @property
    def text(self) -> str:
        ops = ", ".join(_operand_text(f, v) for f, v in zip(self.instr.operands, self.values, strict=True))
        return f"{self.instr.mnemonic} {ops}" if ops else self.instr.mnemonic


def _operand_text(field: Field, value: int) -> str:
    return field.symbols.symbol_of(value) if field.kind == ENUM else str(value)


def _try(instr: Instr, word: int) -> tuple[tuple[int, ...] | None, str]:
    """Operand values of `word` read as `instr`, or (None, why not)."""
    if word & instr.reserved_mask:
        return None, (f"don't-care bits 0x{word & instr.reserved_mask:08x} are set in a {instr.mnemonic} word "
                      "(canonical words have them at zero)")
    values = []
    for f in instr.operands:
        v = f.extract(word)
        if f.kind == FIXED and v != f.value:
            return None, f"{instr.mnemonic}'s fixed {f.name} bits {f.bits} are {v}, not {f.value}"
        if f.kind == ENUM and f.symbols.symbol_of(v) is None:
            return None, f"undefined {instr.mnemonic} {f.name} value {v} at bits {f.bits}"
        values.append(v)
    return tuple(values), ""


def decode(word: int, *, index: int | None = None) -> Decoded:
    """Decode one word into its instruction and operand values (see Decoded)."""
    if not 0 <= word <= WORD_MASK:
        raise DisasmError("not a 32-bit word", word=word & WORD_MASK if word >= 0 else 0, index=index)
    opcode = word >> OPCODE_LSB
    cands = BY_OPCODE.get(opcode, ())
    if not cands:
        raise DisasmError(f"undefined opcode {opcode:04b}", word=word, index=index)
    why = ""
    matched_function = False
    for instr in cands:
        if word & instr.match_mask != instr.match_value:
            continue
        matched_function = True
        if instr.canonical_if is not None:
            mask, value = instr.canonical_if
            if word & mask != value:
                continue
        values, reason = _try(instr, word)
        if values is not None:
            return Decoded(word, instr, values)
        why = why or reason
    if not matched_function:
        op = cands[0].op
        func = (word >> op.func_lsb) & ((1 << op.func_width) - 1)
        raise DisasmError(f"undefined {op.name} function {func:0{op.func_width}b} (opcode {opcode:04b})",
                          word=word, index=index)
    raise DisasmError(why, word=word, index=index)


def disassemble_word(word: int, *, index: int | None = None) -> str:
    """One word as assembly text, e.g. 'ADD VMEM1, 1, VMEM1, 0, VMEM2, 0'."""
    return decode(word, index=index).text


def disassemble(words: Iterable[int]) -> list[str]:
    """Each word as a line of assembly; errors name the word's index and hex value."""
    return [disassemble_word(w, index=i) for i, w in enumerate(words)]
