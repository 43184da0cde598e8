"""The GeneSys ISA: one encoding table and the tools built on it (assembler, disassembler, file formats).

    >>> from genesys.isa import assemble_text, disassemble
    >>> disassemble(assemble_text("ADD VMEM1, 1, VMEM1, 0, VMEM2, 0"))
    ['ADD VMEM1, 1, VMEM1, 0, VMEM2, 0']
"""

from genesys.isa.assembler import assemble, assemble_line, assemble_text, encode
from genesys.isa.disassembler import Decoded, decode, disassemble, disassemble_word
from genesys.isa.errors import AsmError, DisasmError, FormatError, IsaError
from genesys.isa.formats import FORMATS, detect_format, format_words, parse_words, read_words, write_words
from genesys.isa.table import (
    FUNCTIONS,
    INSTRUCTIONS,
    NAMESPACES,
    OPCODES,
    encoding_table,
    verilog_constants,
)

__all__ = [
    "assemble", "assemble_line", "assemble_text", "encode", "Decoded", "decode", "disassemble", "disassemble_word",
    "AsmError", "DisasmError", "FormatError", "IsaError", "FORMATS", "detect_format", "format_words",
    "parse_words", "read_words", "write_words", "FUNCTIONS", "INSTRUCTIONS", "NAMESPACES", "OPCODES",
    "encoding_table", "verilog_constants",
]
