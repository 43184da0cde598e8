"""The types the ISA table is made of: fields, symbol sets, opcodes, functions, instruction spellings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

WORD_BITS = 32
WORD_MASK = (1 << WORD_BITS) - 1
OPCODE_LSB, OPCODE_WIDTH = 28, 4

# Field kinds.
UINT = "unsigned"
SINT = "signed"
ENUM = "enum"
FIXED = "fixed"  # an operand the compiler prints but whose value is fixed (don't-care zero or an op-spec)


@dataclass(frozen=True)
class SymbolSet:
    """Names of the values of an enumerated field. `aliases` are accepted by the assembler only."""
    name: str
    items: tuple[tuple[str, int], ...]
    aliases: tuple[tuple[str, int], ...] = ()

    def value_of(self, symbol: str) -> int | None:
        for name, value in self.items + self.aliases:
            if name == symbol:
                return value
        return None

    def symbol_of(self, value: int) -> str | None:
        for name, v in self.items:
            if v == value:
                return name
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.items)


@dataclass(frozen=True)
class Field:
    """One operand of an instruction: where it sits in the word and how its text is read."""
    name: str
    lsb: int
    width: int
    kind: str = UINT
    symbols: SymbolSet | None = None  # ENUM only
    value: int = 0  # FIXED only

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1

    @property
    def mask(self) -> int:  # in word position
        return ((1 << self.width) - 1) << self.lsb

    @property
    def lo(self) -> int:
        return -(1 << (self.width - 1)) if self.kind == SINT else 0

    @property
    def hi(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.kind == SINT else (1 << self.width) - 1

    @property
    def bits(self) -> str:
        return f"[{self.msb}:{self.lsb}]" if self.width > 1 else f"[{self.lsb}]"

    def syntax(self, short_sets: tuple[str, ...] = ()) -> str:
        """How the operand is written, as shown in `expected:` lines and the docs (symbol sets named in
        `short_sets` are shown by name, for compact tables)."""
        if self.kind == ENUM:
            if self.symbols.name in short_sets:
                return self.symbols.name
            return "{" + "|".join(self.symbols.names) + "}"
        if self.kind == FIXED:
            return str(self.value)
        return f"{self.name}({self.lo}..{self.hi})"

    def describe(self) -> str:
        kind = {UINT: "unsigned", SINT: "signed", ENUM: "enumerated", FIXED: "fixed"}[self.kind]
        return f"{self.width}-bit {kind} {self.name} field"

    def encode(self, value: int) -> int:
        """Value (already range-checked) to its bits in word position (two's complement if signed)."""
        return (value & ((1 << self.width) - 1)) << self.lsb

    def extract(self, word: int) -> int:
        raw = (word >> self.lsb) & ((1 << self.width) - 1)
        if self.kind == SINT and raw >> (self.width - 1):
            raw -= 1 << self.width
        return raw


@dataclass(frozen=True)
class Namespace:
    """A SIMD namespace (the NAMESPACES sheet): id in the 3-bit ns fields and its ports."""
    name: str
    id: int
    sheet_name: str
    rd_ports: int
    wr_ports: int
    kind: str
    simd_access: str  # as printed on the sheet: rd, wrt or rd/wrt


@dataclass(frozen=True)
class Opcode:
    group: str  # "SA" (systolic array) or "SIMD"
    name: str
    code: int
    sheet_name: str
    func_lsb: int | None = None  # where the function code sits, if the opcode has functions
    func_width: int = 0
    vprefix: str = ""  # prefix of its function constants in the Verilog package

    @property
    def bits(self) -> str:
        return format(self.code, "04b")


@dataclass(frozen=True)
class Function:
    name: str
    code: int
    sheet_name: str


@dataclass(frozen=True)
class Instr:
    """One assembly spelling: mnemonic, the opcode/function it encodes and its operands in text order."""
    mnemonic: str
    op: Opcode
    func: Function | None
    operands: tuple[Field, ...]
    aliases: tuple[str, ...] = ()  # other mnemonics that assemble to the same thing
    # (mask, value): the disassembler prints this spelling only for words that match; another spelling of
    # the same opcode/function follows it in the table and takes the remaining words.
    canonical_if: tuple[int, int] | None = None
    summary: str = ""

    @property
    def group(self) -> str:
        return self.op.group

    @property
    def opcode(self) -> str:
        return self.op.name

    @property
    def function(self) -> str | None:
        return None if self.func is None else self.func.name

    @cached_property
    def match_mask(self) -> int:
        mask = ((1 << OPCODE_WIDTH) - 1) << OPCODE_LSB
        if self.func is not None:
            mask |= ((1 << self.op.func_width) - 1) << self.op.func_lsb
        return mask

    @cached_property
    def match_value(self) -> int:
        value = self.op.code << OPCODE_LSB
        if self.func is not None:
            value |= self.func.code << self.op.func_lsb
        return value

    @cached_property
    def operand_mask(self) -> int:
        mask = 0
        for f in self.operands:
            mask |= f.mask
        return mask

    @cached_property
    def reserved_mask(self) -> int:
        """Don't-care bits: zero in canonical words."""
        return WORD_MASK & ~(self.match_mask | self.operand_mask)

    def syntax(self, short_sets: tuple[str, ...] = ()) -> str:
        ops = ", ".join(f.syntax(short_sets) for f in self.operands)
        return f"{self.mnemonic} {ops}" if ops else self.mnemonic
