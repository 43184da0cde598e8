"""The simulator's one error type: every stop names the instruction (index, word in hex, disassembly)."""

from __future__ import annotations

from genesys.errors import GenesysError


class SimulationError(GenesysError):
    """A program that breaks docs/isa.md (Semantics). `index` is the word's position in the program (0 = the
    word at the program address), `word` its 32-bit value, `text` its disassembly (or why it has none)."""

    def __init__(self, message: str, *, index: int | None = None, word: int | None = None,
                 text: str | None = None):
        self.reason, self.index, self.word, self.text = message, index, word, text
        if index is None:
            super().__init__(message)
        else:
            shown = f"0x{word:08x}" if word is not None else "?"
            super().__init__(f"instruction {index} ({shown} `{text}`): {message}")


class DataError(Exception):
    """Raised inside a vector kernel (division by zero, negative shift); the caller adds the instruction."""
