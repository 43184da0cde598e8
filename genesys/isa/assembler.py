"""Assembler for the GeneSys compiler's text syntax.

    MNEMONIC OPERAND, OPERAND, ...      # comment      // comment too

Operands are symbols (LOW, VMEM1, ...) or numbers (decimal, 0x hex, 0b binary; a leading minus only
where the field is signed). Leading whitespace (the compiler's loop-nesting tabs) is ignored.
Mnemonics and symbols are case-insensitive; the disassembler prints them upper-case.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from genesys.isa.errors import AsmError
from genesys.isa.table import BY_MNEMONIC, ENUM, FIXED, SINT, Field, Instr

MAX_ERRORS = 20  # a file's errors are collected up to this many, then reported together

_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_COMMENT = re.compile(r"#|//")


def _strip_comment(line: str) -> str:
    m = _COMMENT.search(line)
    return line[:m.start()] if m else line


def _parse_number(tok: str) -> int | None:
    if not _NUMBER.fullmatch(tok):
        return None
    return int(tok, 0) if not re.fullmatch(r"[+-]?0[0-9]+", tok) else int(tok, 10)  # allow leading zeros


def _split_operands(body: str, start: int) -> list[tuple[str, int]]:
    """Comma-separated operands of `body` (which begins at 0-based column `start`): (token, column)."""
    out = []
    pos = 0
    for part in body.split(","):
        lead = len(part) - len(part.lstrip())
        out.append((part.strip(), start + pos + lead))
        pos += len(part) + 1
    return out


def _field_value(instr: Instr, field: Field, tok: str) -> int:
    """The value of one operand token; raises ValueError with the message to report."""
    if field.kind == ENUM:
        value = field.symbols.value_of(tok.upper())
        if value is None:
            if _parse_number(tok) is not None:
                what = f"{instr.mnemonic}'s {field.name} takes a symbol, not the number {tok}"
            elif _WORD.fullmatch(tok):
                what = f"'{tok}' is not a valid {instr.mnemonic} {field.name}"
            else:
                what = f"bad operand '{tok}' for {instr.mnemonic}'s {field.name}"
            raise ValueError(f"{what}; expected one of " + ", ".join(field.symbols.names))
        return value
    value = _parse_number(tok)
    if value is None:
        raise ValueError(f"expected a number for {instr.mnemonic}'s {field.name}, got '{tok}'")
    if field.kind == FIXED:
        if value != field.value:
            raise ValueError(f"{instr.mnemonic}'s {field.name} operand is fixed: it must be {field.value}, got {tok}")
        return value
    if not field.lo <= value <= field.hi:
        kind = "signed" if field.kind == SINT else "unsigned"
        raise ValueError(f"immediate {tok} does not fit {instr.mnemonic}'s {field.width}-bit {kind} "
                         f"{field.name} field ({field.lo}..{field.hi})")
    return value


def assemble_line(line: str, *, filename: str = "<input>", lineno: int = 1) -> int | None:
    """Assemble one source line: the 32-bit word, or None for a blank/comment-only line.
    Raises AsmError naming file, line and column."""
    code = _strip_comment(line).rstrip()
    stripped = code.lstrip()
    if not stripped:
        return None
    col0 = len(code) - len(stripped)

    def err(msg: str, col: int, expected: str = "") -> AsmError:
        return AsmError(msg, file=filename, line=lineno, column=col + 1, text=line.rstrip("\r\n"), expected=expected)

    m = _WORD.match(stripped)
    if not m:
        raise err(f"expected a mnemonic, got '{stripped.split()[0]}'", col0)
    mnemonic = m.group(0)
    rest = stripped[m.end():]
    if rest and not rest[0].isspace():
        raise err(f"unexpected '{rest[0]}' after mnemonic {mnemonic}", col0 + m.end())
    instr = BY_MNEMONIC.get(mnemonic.upper())
    if instr is None:
        close = difflib.get_close_matches(mnemonic.upper(), BY_MNEMONIC.keys(), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close[:-1]) + ' or ' if len(close) > 1 else ''}{close[-1]}?" if close else ""
        raise err(f"unknown mnemonic '{mnemonic}'{hint}", col0)
    expected = instr.syntax()
    body = rest.strip()
    body_col = col0 + m.end() + (len(rest) - len(rest.lstrip()))
    operands = _split_operands(body, body_col) if body else []
    for i, (tok, col) in enumerate(operands):
        if not tok:
            where = "trailing comma" if i == len(operands) - 1 else "empty operand"
            raise err(f"{where} in {instr.mnemonic}'s operands", col, expected)
    n_want, n_got = len(instr.operands), len(operands)
    if n_got != n_want:
        col = operands[n_want][1] if n_got > n_want else len(code)
        raise err(f"{instr.mnemonic} takes {n_want} operand{'s' * (n_want != 1)}, got {n_got}", col, expected)
    word = instr.match_value
    for field, (tok, col) in zip(instr.operands, operands, strict=True):
        try:
            value = _field_value(instr, field, tok)
        except ValueError as e:
            raise err(str(e), col, expected) from None
        word |= field.encode(value)
    return word


def encode(instr: str | Instr, values: Sequence[int | str]) -> int:
    """A word from an instruction (mnemonic or Instr) and its operand values in text order: ints, or
    symbol names for enumerated operands. Range-checked like the assembler; raises ValueError."""
    spec = BY_MNEMONIC.get(instr.upper()) if isinstance(instr, str) else instr
    if spec is None:
        raise ValueError(f"unknown mnemonic '{instr}'")
    if len(values) != len(spec.operands):
        raise ValueError(f"{spec.mnemonic} takes {len(spec.operands)} operands, got {len(values)}")
    word = spec.match_value
    for field, value in zip(spec.operands, values, strict=True):
        if isinstance(value, int) and field.kind == ENUM:
            if field.symbols.symbol_of(value) is None:
                raise ValueError(f"undefined {spec.mnemonic} {field.name} value {value}")
        else:
            value = _field_value(spec, field, str(value))
        word |= field.encode(value)
    return word


def assemble_text(text: str | Iterable[str], filename: str = "<input>", *, max_errors: int = MAX_ERRORS) -> list[int]:
    """Assemble a whole program. Every bad line is reported (up to `max_errors`) in one AsmError."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    words: list[int] = []
    errors: list[AsmError] = []
    for lineno, line in enumerate(lines, 1):
        try:
            word = assemble_line(line, filename=filename, lineno=lineno)
        except AsmError as e:
            errors.append(e)
            if len(errors) >= max_errors:
                raise AsmError.collect(errors, truncated=lineno < len(lines)) from None
            continue
        if word is not None:
            words.append(word)
    if errors:
        raise AsmError.collect(errors)
    return words


def assemble(text: str | Iterable[str], filename: str = "<input>") -> list[int]:
    """Alias of assemble_text."""
    return assemble_text(text, filename)
