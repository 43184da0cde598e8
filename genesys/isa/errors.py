"""Errors of the ISA tools. Each names where the problem is (file:line:column, or word index and hex word)."""

from __future__ import annotations

from genesys.errors import GenesysError


class IsaError(GenesysError, ValueError):
    """Base of the ISA errors; a ValueError so plain callers can catch it without knowing GeneSys."""


class AsmError(IsaError):
    """One or more assembly errors. The attributes describe the first; `errors` holds all of them.

    str() renders every collected error as `file:line:column: message`, the source line with a caret
    under the offending column, and the syntax the instruction expects.
    """

    def __init__(self, message: str, *, file: str = "<input>", line: int = 0, column: int = 0,
                 text: str = "", expected: str = ""):
        super().__init__(message)
        self.message = message
        self.file, self.line, self.column, self.text, self.expected = file, line, column, text, expected
        self.errors: list[AsmError] = [self]
        self.truncated = False  # True when collection stopped at the cap

    @classmethod
    def collect(cls, errors: list[AsmError], truncated: bool = False) -> AsmError:
        """One exception carrying several errors (the first gives the attributes)."""
        first = errors[0]
        combined = cls(first.message, file=first.file, line=first.line, column=first.column,
                       text=first.text, expected=first.expected)
        combined.errors = list(errors)
        combined.truncated = truncated
        return combined

    def render_one(self) -> str:
        out = f"{self.file}:{self.line}:{self.column}: {self.message}"
        if self.text:
            # Show the line without its indentation; the caret follows (tabs count as one column).
            stripped = self.text.lstrip()
            offset = max(0, self.column - 1 - (len(self.text) - len(stripped)))
            out += f"\n  {stripped.rstrip()}\n  {' ' * offset}^"
        if self.expected:
            out += f"\n  expected: {self.expected}"
        return out

    def __str__(self) -> str:
        parts = [e.render_one() for e in self.errors]
        if len(self.errors) > 1 or self.truncated:
            more = " (stopped there; fix these first)" if self.truncated else ""
            parts.append(f"{len(self.errors)} errors in {self.file}{more}")
        return "\n".join(parts)


class DisasmError(IsaError):
    """A word that is not a canonical encoding of any instruction (undefined opcode/function/value,
    or a don't-care bit set)."""

    def __init__(self, message: str, *, word: int, index: int | None = None):
        where = f"word {index} (0x{word:08x})" if index is not None else f"word 0x{word:08x}"
        super().__init__(f"{where}: {message}")
        self.word, self.index, self.reason = word, index, message


class FormatError(IsaError):
    """A machine-code file that cannot be read: names the file and line (or byte offset)."""

    def __init__(self, message: str, *, file: str = "<input>", line: int | None = None):
        super().__init__(f"{file}:{line}: {message}" if line is not None else f"{file}: {message}")
        self.file, self.line, self.reason = file, line, message
