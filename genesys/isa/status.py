"""The NPU's control interface: error cause codes and the AXI-Lite register map, one list each.

The RTL (rendered into `genesys_pkg` as ERR_<NAME> and CSR_<NAME>), the testbenches, the fast harness, the
runtime's `rtl` target and docs/npu.md read these lists; nothing restates a code or an offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from genesys.isa.counters import COUNTERS


@dataclass(frozen=True)
class ErrorCause:
    code: int
    name: str
    meaning: str


ERROR_CAUSES: tuple[ErrorCause, ...] = (
    ErrorCause(0, "NONE", "no error"),
    ErrorCause(1, "ILLEGAL_INSTR", "undefined opcode or function, or a reserved bit set"),
    ErrorCause(2, "BAD_FIELD", "a field value outside its legal set (loop id, buffer, namespace, width, stride kind)"),
    ErrorCause(3, "BAD_GROUP", "malformed group: instruction outside a group, START/END mismatch, count wrong, BUF group"),
    ErrorCause(4, "BLOCK_TOO_LONG", "a block does not fit in the instruction memory, or the program ends without BLOCK_END 1"),
    ErrorCause(5, "IBUF_RANGE", "an IBUF row address outside the buffer"),
    ErrorCause(6, "WBUF_RANGE", "a WBUF row address outside the buffer"),
    ErrorCause(7, "BBUF_RANGE", "a BBUF row address outside the buffer"),
    ErrorCause(8, "OBUF_RANGE", "an OBUF row address outside the buffer"),
    ErrorCause(9, "VMEM_RANGE", "a VMEM1/VMEM2 row address outside the buffer"),
    ErrorCause(10, "UNSUPPORTED", "a type or operation this hardware does not implement (docs/npu.md)"),
    ErrorCause(11, "DIV_BY_ZERO", "fixed-point division by zero"),
    ErrorCause(12, "NEG_SHIFT", "a negative shift amount"),
    ErrorCause(13, "AXI_SLVERR", "an AXI slave error response (SLVERR)"),
    ErrorCause(14, "AXI_DECERR", "an AXI decode error response (DECERR)"),
    ErrorCause(15, "AXI_TIMEOUT", "an AXI transfer made no progress for TIMEOUT cycles"),
)
ERROR_BY_CODE = {e.code: e for e in ERROR_CAUSES}
ERROR_BY_NAME = {e.name: e for e in ERROR_CAUSES}


@dataclass(frozen=True)
class Register:
    offset: int
    name: str
    access: str  # "ro", "rw", "w1s" (write 1 to set, self-clearing), "w1c" (write 1 to clear)
    meaning: str


# Control and status registers (32 bits each) of the AXI-Lite slave.
REGISTERS: tuple[Register, ...] = (
    Register(0x00, "ID", "ro", "0x47535953 ('GSYS')"),
    Register(0x04, "SHAPE", "ro", "ARRAY_N in [15:0], ARRAY_M in [31:16]"),
    Register(0x08, "CTRL", "rw", "bit 0 START (w1s, self-clearing), bit 1 IRQ_ENABLE"),
    Register(0x0C, "STATUS", "rw", "bit 0 BUSY (ro), bit 1 DONE (w1c), bit 2 ERROR (w1c); DONE rises at the end of every run, ERROR with it when the run failed"),
    Register(0x10, "ERR_CAUSE", "ro", "cause code of the last failed run (ERROR_CAUSES)"),
    Register(0x14, "ERR_PC", "ro", "program instruction index (0 = the word at PROG_ADDR) of the failing instruction"),
    Register(0x18, "ERR_WORD", "ro", "the failing instruction word, or the failing AXI address for AXI causes"),
    Register(0x1C, "PC", "ro", "program instruction index of the instruction being executed (live; the block's first word while it is fetched)"),
    Register(0x20, "PROG_ADDR_LO", "rw", "DRAM byte address of the program, bits [31:0]"),
    Register(0x24, "PROG_ADDR_HI", "rw", "bits [63:32] (ignored above AXI_ADDR_WIDTH)"),
    Register(0x28, "PROG_WORDS", "rw", "program length in 32-bit words: the fetch never reads past it"),
    Register(0x2C, "DATA_BASE_LO", "rw", "added to every data DRAM address of the program (relocation), bits [31:0]"),
    Register(0x30, "DATA_BASE_HI", "rw", "bits [63:32]"),
    Register(0x34, "TIMEOUT", "rw", "cycles the AXI interfaces may go without a handshake while a transfer is pending before AXI_TIMEOUT (0: never); after a timeout every START fails with AXI_TIMEOUT until reset"),
    Register(0x38, "STATE", "ro", "controller state code (debug)"),
)
COUNTER_BASE = 0x100  # counter k: LO at COUNTER_BASE + 8k, HI at + 8k + 4, in genesys.isa.counters order
ID_VALUE = 0x47535953
CTRL_START, CTRL_IRQ_ENABLE = 0, 1
STATUS_BUSY, STATUS_DONE, STATUS_ERROR = 0, 1, 2
REG_BY_NAME = {r.name: r for r in REGISTERS}


def counter_offset(name: str) -> int:
    idx = [c.name for c in COUNTERS].index(name)
    return COUNTER_BASE + 8 * idx


def verilog_constants() -> list[tuple[str, int, int]]:
    """(name, width, value) for genesys_pkg: ERR_<cause>, CSR_<register> byte offsets, counter layout."""
    out = [(f"ERR_{e.name}", 8, e.code) for e in ERROR_CAUSES]
    out += [(f"CSR_{r.name}", 12, r.offset) for r in REGISTERS]
    out += [("CSR_COUNTER_BASE", 12, COUNTER_BASE), ("NUM_COUNTERS", 8, len(COUNTERS)), ("CSR_ID_VALUE", 32, ID_VALUE)]
    out += [(f"CNT_{c.name.upper()}", 8, i) for i, c in enumerate(COUNTERS)]
    return out
