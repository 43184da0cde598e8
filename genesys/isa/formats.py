"""Machine-code file formats: the reference's binary and decimal text, hex text, and raw words.

- binary:  one word per line as 32 characters of 0/1 (the reference `*_binary.txt`)
- decimal: one word per line as an unsigned decimal (the reference `*_decimal.txt`)
- hex:     one word per line as 8 hex digits (written lower-case; 0x prefix and upper case accepted)
- raw:     32-bit little-endian words, no separators

Text is written like the reference files: lines joined by newlines, no final newline. Readers accept
a final newline, blank lines and `#` or `//` comments.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from pathlib import Path

from genesys.isa.errors import FormatError
from genesys.isa.table import WORD_MASK

FORMATS = ("binary", "decimal", "hex", "raw")
TEXT_FORMATS = FORMATS[:3]
_DETECT_ORDER = ("binary", "hex", "decimal")  # when lines fit several formats (8 digits fit hex and decimal)

_LINE_RE = {
    "binary": re.compile(r"[01]{32}"),
    "decimal": re.compile(r"[0-9]{1,10}"),
    "hex": re.compile(r"(?:0[xX])?[0-9a-fA-F]{8}"),
}
_WHAT = {
    "binary": "32 characters of 0/1",
    "decimal": "an unsigned decimal below 2**32",
    "hex": "8 hex digits",
}


def _check(words: Iterable[int]) -> list[int]:
    words = list(words)
    for i, w in enumerate(words):
        if not 0 <= w <= WORD_MASK:
            raise ValueError(f"word {i} ({w}) is not a 32-bit unsigned value")
    return words


def format_binary(words: Iterable[int]) -> str:
    return "\n".join(f"{w:032b}" for w in _check(words))


def format_decimal(words: Iterable[int]) -> str:
    return "\n".join(str(w) for w in _check(words))


def format_hex(words: Iterable[int]) -> str:
    return "\n".join(f"{w:08x}" for w in _check(words))


def pack_raw(words: Iterable[int]) -> bytes:
    words = _check(words)
    return struct.pack(f"<{len(words)}I", *words)


def format_words(words: Iterable[int], fmt: str) -> str | bytes:
    """Words in one of FORMATS (bytes for raw, text otherwise)."""
    writers: dict[str, Callable[[Iterable[int]], str | bytes]] = {
        "binary": format_binary, "decimal": format_decimal, "hex": format_hex, "raw": pack_raw}
    if fmt not in writers:
        raise ValueError(f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}")
    return writers[fmt](words)


def _content_lines(text: str) -> list[tuple[int, str]]:
    """(line number, content) of the non-blank lines, comments removed."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        content = re.split(r"#|//", line, maxsplit=1)[0].strip()
        if content:
            out.append((n, content))
    return out


def parse_text(text: str, fmt: str, filename: str = "<input>") -> list[int]:
    """Words of a text file in `fmt` (binary, decimal or hex); FormatError names file:line of a bad line."""
    if fmt not in TEXT_FORMATS:
        raise ValueError(f"unknown text format '{fmt}'; expected one of {', '.join(TEXT_FORMATS)}")
    words = []
    for n, content in _content_lines(text):
        if not _LINE_RE[fmt].fullmatch(content):
            raise FormatError(f"bad {fmt} word '{content}' (expected {_WHAT[fmt]})", file=filename, line=n)
        value = int(content, {"binary": 2, "decimal": 10, "hex": 16}[fmt])
        if value > WORD_MASK:
            raise FormatError(f"decimal word {content} does not fit 32 bits", file=filename, line=n)
        words.append(value)
    return words


def parse_binary(text: str, filename: str = "<input>") -> list[int]:
    return parse_text(text, "binary", filename)


def parse_decimal(text: str, filename: str = "<input>") -> list[int]:
    return parse_text(text, "decimal", filename)


def parse_hex(text: str, filename: str = "<input>") -> list[int]:
    return parse_text(text, "hex", filename)


def unpack_raw(data: bytes, filename: str = "<input>") -> list[int]:
    if len(data) % 4:
        raise FormatError(f"raw file of {len(data)} bytes is not a whole number of 32-bit words", file=filename)
    return list(struct.unpack(f"<{len(data) // 4}I", data))


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def detect_format(data: bytes) -> str:
    """Which of FORMATS `data` is. Raw: not ASCII text. Text: the format every line fits; a file whose
    lines fit several (8-digit lines fit hex and decimal) is taken as binary, then hex, then decimal.
    A file no format fits is classified by its first line, so the reader reports the bad line."""
    if not _is_text(data):
        return "raw"
    lines = [c for _, c in _content_lines(data.decode("ascii"))]
    if not lines:
        return "binary"
    for fmt in _DETECT_ORDER:
        if all(_LINE_RE[fmt].fullmatch(c) for c in lines):
            return fmt
    for fmt in _DETECT_ORDER:
        if _LINE_RE[fmt].fullmatch(lines[0]):
            return fmt
    first = lines[0]
    if set(first) <= {"0", "1"} and len(first) > 10:
        return "binary"
    if first.isdigit():
        return "decimal"
    return "hex"


def parse_words(data: bytes, fmt: str = "auto", filename: str = "<input>") -> list[int]:
    """Words of a file's bytes in `fmt` (or detected when 'auto')."""
    if fmt == "auto":
        fmt = detect_format(data)
    if fmt == "raw":
        return unpack_raw(data, filename)
    if fmt not in TEXT_FORMATS:
        raise ValueError(f"unknown format '{fmt}'; expected auto or one of {', '.join(FORMATS)}")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as e:
        raise FormatError(f"not a {fmt} text file (byte {e.start} is not ASCII)", file=filename) from None
    return parse_text(text, fmt, filename)


def read_words(path: str | Path, fmt: str = "auto") -> list[int]:
    """Read a machine-code file in any of FORMATS (detected unless `fmt` is given)."""
    path = Path(path)
    return parse_words(path.read_bytes(), fmt, str(path))


def write_words(path: str | Path, words: Iterable[int], fmt: str = "binary") -> None:
    data = format_words(words, fmt)
    path = Path(path)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
