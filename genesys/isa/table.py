"""The one table of GeneSys instruction encodings.

Everything else (assembler, disassembler, docs/isa.md, the Verilog package constants, the simulator's
decoder) reads this module; nothing re-types an opcode, function code or field position.

Sources: the published sheet (`shared/reference/genesys/isa/GeneSys_ISA.txt`) for opcodes, function codes,
namespaces and most field positions; the GeneSys compiler's reference programs (text paired with words)
where the sheet is silent or ambiguous. Each such call is noted where it is made and listed in docs/isa.md.

A word is 32 bits: opcode [31:28], then either a 4-bit function [27:24] (SIMD group) or opcode-specific
fields (systolic-array group). Bits that no field of an instruction covers are don't-care ("X" on the
sheet); canonical words have them at zero, the assembler writes zero and the disassembler refuses
words where they are not (so that disassembly is an exact inverse).
"""

from __future__ import annotations

from genesys.isa.model import (  # noqa: F401  (re-exported: consumers import the types from here)
    ENUM,
    FIXED,
    OPCODE_LSB,
    OPCODE_WIDTH,
    SINT,
    UINT,
    WORD_BITS,
    WORD_MASK,
    Field,
    Function,
    Instr,
    Namespace,
    Opcode,
    SymbolSet,
)

SIMD_FUNC_LSB, SIMD_FUNC_WIDTH = 24, 4

# --------------------------------------------------------------------------------------------------
# Opcodes and functions (the sheet's SIMD ISA and Systolic Array ISA tables)
# --------------------------------------------------------------------------------------------------

OPCODES_LIST: tuple[Opcode, ...] = (
    # Systolic-array group. SA_LOOP's "op spec" bit 27 selects config loop (0) or reduction loop (1).
    Opcode("SA", "SA_LOOP", 0b1001, "SA_LOOP", func_lsb=27, func_width=1),
    Opcode("SA", "INST_GROUP", 0b1010, "INST_GROUP"),
    Opcode("SA", "BLOCK_END", 0b1011, "BLOCK_END"),
    Opcode("SA", "SET_LOOP_STRIDE", 0b1100, "SET_LOOP_STRIDE"),
    Opcode("SA", "SET_BASE_ADDR", 0b1101, "SET_BASE_ADDR"),
    Opcode("SA", "LD_ST", 0b1110, "LD_ST"),
    # SIMD group: 4-bit function at [27:24].
    Opcode("SIMD", "ALU", 0b0000, "ALU", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "ALU_"),
    Opcode("SIMD", "CALCULUS", 0b0001, "CALCULUS", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "CALC_"),
    Opcode("SIMD", "COMPARISON", 0b0010, "COMPARISON", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "CMP_"),
    # The sheet prints this opcode as "11"; it is 0011 (the compiler uses 3).
    Opcode("SIMD", "DATATYPE_CAST", 0b0011, "DATATYPE CAST", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "CAST_"),
    Opcode("SIMD", "DATATYPE_CONFIG", 0b0100, "DATATYPE CONFIG", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "DTYPE_"),
    Opcode("SIMD", "LD_ST", 0b0101, "LD_ST", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "LDST_"),
    Opcode("SIMD", "ITERATOR_CONFIG", 0b0110, "ITERATOR CONFIG", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "ITER_"),
    Opcode("SIMD", "LOOP", 0b0111, "LOOP", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "LOOP_"),
    Opcode("SIMD", "PERMUTATION", 0b1000, "PERMUTATION", SIMD_FUNC_LSB, SIMD_FUNC_WIDTH, "PERM_"),
)

_F = Function
FUNCTIONS_LIST: dict[tuple[str, str], tuple[Function, ...]] = {
    ("SA", "SA_LOOP"): (_F("SA_LOOP_CFG", 0, "Config Loop"), _F("SA_REDUCTION_LOOP", 1, "Set Specific Loop")),
    ("SIMD", "ALU"): (
        _F("ADD", 0, "ADD"), _F("SUB", 1, "SUB"), _F("MUL", 2, "MUL"), _F("MACC", 3, "MACC"),
        _F("DIV", 4, "DIV"), _F("MAX", 5, "MAX"), _F("MIN", 6, "MIN"), _F("RSHIFT", 7, "RSHIFT"),
        _F("LSHIFT", 8, "LSHIFT"), _F("MOVE", 9, "MOVE"), _F("COND_MOVE_TRUE", 10, "COND MOVE TRUE"),
        _F("COND_MOVE_FALSE", 11, "COND MOVE FALSE"), _F("NOT", 12, "NOT"), _F("AND", 13, "AND"),
        _F("OR", 14, "OR"), _F("NOP", 15, "NOP")),
    ("SIMD", "CALCULUS"): (
        _F("RELU", 0, "RELU"), _F("LEAKY_RELU", 1, "LEAKY RELU"), _F("SIGMOID", 2, "SIGMOID"),
        _F("TANH", 3, "TANH"), _F("EXP", 4, "EXP"), _F("LN", 5, "LN"), _F("SQRT", 6, "SQRT"),
        _F("INV_SQRT", 7, "1/SQRT"), _F("LOG2", 8, "LOG2")),
    ("SIMD", "COMPARISON"): (
        _F("EQUAL", 0, "EQUAL"), _F("NEQ", 1, "NEQ"), _F("GT", 2, "GT"), _F("GTE", 3, "GTE"),
        _F("LT", 4, "LT"), _F("LTE", 5, "LTE")),
    ("SIMD", "DATATYPE_CAST"): (
        _F("FXP32_TO_FXP16", 0, "32 FXP -> 16 FXP"), _F("FXP32_TO_FXP8", 1, "32 FXP -> 8 FXP"),
        _F("FXP32_TO_FXP4", 2, "32 FXP -> 4 FXP"), _F("FXP16_TO_FXP32", 3, "16 FXP -> 32 FXP"),
        _F("FXP8_TO_FXP32", 4, "8 FXP -> 32 FXP"), _F("FXP4_TO_FXP32", 5, "4 FXP -> 32 FXP"),
        _F("FP32_TO_FP16", 6, "32 FP -> 16 FP"), _F("FP16_TO_FP32", 7, "16 FP -> 32 FP"),
        _F("FLOOR", 8, "Floor"), _F("CEIL", 9, "Ceil"),
        _F("FP32_TO_BF16", 10, "32FP -> 16BFP"), _F("BF16_TO_FP32", 11, "16BFP -> 32FP"),
        # Not on the sheet: the project's additions in unused codes (docs/isa.md (Semantics), DATATYPE_CAST).
        # Requantization needs int32 -> binary32 -> int32 to equal ONNX Runtime's float path exactly.
        _F("FXP32_TO_FP32", 12, ""), _F("FP32_TO_FXP32", 13, "")),
    # The compiler folds the data type into one DTYPE_CFG mnemonic with the type as first operand.
    ("SIMD", "DATATYPE_CONFIG"): (
        _F("32FXP", 0, "32 FXP"), _F("16FXP", 1, "16 FXP"), _F("8FXP", 2, "8 FXP"),
        _F("32FP", 3, "32 FP"), _F("16FP", 4, "16 FP")),
    # 0110/1110 are the sheet's LD_WRITE_BUF_BASE_ADDR / ST_READ_BUF_BASE_ADDR, spelled as the compiler does.
    ("SIMD", "LD_ST"): (
        _F("LD_CONFIG_BASE_ADDR", 0, "LD_CONFIG_BASE_ADDR"), _F("LD_CONFIG_BASE_LOOP_ITER", 1, "LD_CONFIG_BASE_LOOP_ITER"),
        _F("LD_CONFIG_BASE_LOOP_STRIDE", 2, "LD_CONFIG_BASE_LOOP_STRIDE"),
        _F("LD_CONFIG_TILE_LOOP_ITER", 3, "LD_CONFIG_TILE_LOOP_ITER"),
        _F("LD_CONFIG_TILE_LOOP_STRIDE", 4, "LD_CONFIG_TILE_LOOP_STRIDE"), _F("LD_START", 5, "LD_START"),
        _F("LD_CONFIG_TILE_ADDR", 6, "LD_WRITE_BUF_BASE_ADDR"),
        _F("ST_CONFIG_BASE_ADDR", 8, "ST_CONFIG_BASE_ADDR"), _F("ST_CONFIG_BASE_LOOP_ITER", 9, "ST_CONFIG_BASE_LOOP_ITER"),
        _F("ST_CONFIG_BASE_LOOP_STRIDE", 10, "ST_CONFIG_BASE_LOOP_STRIDE"),
        _F("ST_CONFIG_TILE_LOOP_ITER", 11, "ST_CONFIG_TILE_LOOP_ITER"),
        _F("ST_CONFIG_TILE_LOOP_STRIDE", 12, "ST_CONFIG_TILE_LOOP_STRIDE"), _F("ST_START", 13, "ST_START"),
        _F("ST_CONFIG_TILE_ADDR", 14, "ST_READ_BUF_BASE_ADDR")),
    ("SIMD", "ITERATOR_CONFIG"): (
        _F("BASE_SIGN_EXT", 0, "BASE SIGNEXT"), _F("BASE_LOW", 1, "BASE LOW"), _F("BASE_HIGH", 2, "BASE HIGH"),
        _F("BASE_ZERO_FILL", 3, "BASE ZEROFILL"), _F("STRIDE_SIGN_EXT", 4, "STRIDE SIGNEXT"),
        _F("STRIDE_LOW", 5, "STRIDE LOW"), _F("STRIDE_HIGH", 6, "STRIDE HIGH"),
        _F("STRIDE_ZERO_FILL", 7, "STRIDE ZEROFILL"), _F("SET_IMM_LOW", 8, "SET IMMEDIATE LOW"),
        _F("SET_IMM_HIGH", 9, "SET IMMEDIATE HIGH"), _F("IMM_SIGN_EXT", 10, "IMMEDIATE SIGN EXTEND")),
    ("SIMD", "LOOP"): (_F("SET_INDEX", 0, "SET_INDEX"), _F("SET_ITER", 1, "SET_ITER"), _F("SET_INST", 2, "SET_INST")),
    ("SIMD", "PERMUTATION"): (
        _F("PERM_SET_BASE_ADDR", 0, "SET_BASE_ADDR"), _F("PERM_SET_LOOP_ITER", 1, "SET_LOOP_ITER"),
        _F("PERM_SET_LOOP_STRIDE", 2, "SET_LOOP_STRIDE"), _F("PERM_START", 3, "START")),
}

OPCODES_BY_KEY: dict[tuple[str, str], Opcode] = {(o.group, o.name): o for o in OPCODES_LIST}
FUNCTION_DEFS: dict[tuple[str, str], dict[str, Function]] = {
    key: {f.name: f for f in fns} for key, fns in FUNCTIONS_LIST.items()}


def _instr(mnemonic: str, group: str, opcode: str, function: str | None, operands: tuple[Field, ...], **kw) -> Instr:
    """An Instr from opcode/function names (resolved here, so a typo fails at import)."""
    op = OPCODES_BY_KEY[(group, opcode)]
    func = None if function is None else FUNCTION_DEFS[(group, opcode)][function]
    return Instr(mnemonic, op, func, operands, **kw)


# --------------------------------------------------------------------------------------------------
# Namespaces and symbol sets
# --------------------------------------------------------------------------------------------------

NAMESPACES_LIST: tuple[Namespace, ...] = (
    Namespace("OBUF", 0, "OBUF", 2, 2, "multi bank vector", "rd"),
    Namespace("IBUF", 1, "IBUF", 1, 1, "multi bank vector", "wrt"),
    Namespace("VMEM1", 2, "VMEM-1", 1, 1, "multi bank vector", "rd/wrt"),
    Namespace("VMEM2", 3, "VMEM-2", 1, 1, "multi bank vector", "rd/wrt"),
    Namespace("IMM", 4, "IMM", 1, 1, "single bank scalar", "rd/wrt"),
)

NS = SymbolSet("NS", tuple((n.name, n.id) for n in NAMESPACES_LIST))
# SIMD LD_ST has a 2-bit namespace field (the sheet's "NS ID (VMEM1/2)"); the ids are the low bits of the
# namespace ids, so OBUF/IBUF also fit and the compiler's map lists them.
LDST_NS = SymbolSet("LDST_NS", tuple((n.name, n.id) for n in NAMESPACES_LIST if n.id < 4))
LOW_HIGH = SymbolSet("LOW_HIGH", (("LOW", 0), ("HIGH", 1)))
ACCESS = SymbolSet("ACCESS", (("LD", 0), ("ST", 1), ("RD", 2), ("WR", 3)))
BUFFER = SymbolSet("BUFFER", (("WBUF", 0), ("IBUF", 1), ("OBUF", 2), ("BBUF", 3)))
MEM_TYPE = SymbolSet("MEM_TYPE", (("BUFFER", 0), ("IMEM", 1)))
DIRECTION = SymbolSet("DIRECTION", (("LD", 0), ("ST", 1)))
TARGET = SymbolSet("TARGET", (("SYSTOLIC_ARRAY", 0), ("SIMD", 1)))
START_END = SymbolSet("START_END", (("START", 0), ("END", 1)))
EXEC_BUF = SymbolSet("EXEC_BUF", (("EXEC", 0), ("BUF", 1)))
LOOP_TYPE = SymbolSet("LOOP_TYPE", (("INNER", 0), ("OUTER", 1)))
# The compiler also writes N (GEMM's reduction dimension) for 0.
LOOP_DIM = SymbolSet("LOOP_DIM", (("IC", 0), ("KW", 1), ("KH", 2)), aliases=(("N", 0),))
LSB_MSB = SymbolSet("LSB_MSB", (("LSB", 0), ("MSB", 1)))
DTYPE = SymbolSet("DTYPE", tuple((f.name, f.code) for f in FUNCTIONS_LIST[("SIMD", "DATATYPE_CONFIG")]))
RD_WR = SymbolSet("RD_WR", (("RD", 0), ("WR", 1)))
SHUFFLE = SymbolSet("SHUFFLE", (("NO_SHUFFLE", 0), ("DO_SHUFFLE", 1)))


# --------------------------------------------------------------------------------------------------
# Field helpers
# --------------------------------------------------------------------------------------------------

def _u(name: str, lsb: int, width: int) -> Field:
    return Field(name, lsb, width, UINT)


def _s(name: str, lsb: int, width: int) -> Field:
    return Field(name, lsb, width, SINT)


def _e(name: str, lsb: int, width: int, symbols: SymbolSet) -> Field:
    return Field(name, lsb, width, ENUM, symbols)


def _x(name: str, lsb: int, width: int, value: int = 0) -> Field:
    """An operand the compiler prints over don't-care bits: must be written as `value`."""
    return Field(name, lsb, width, FIXED, value=value)


def _ns(name: str, lsb: int) -> Field:
    return _e(name, lsb, 3, NS)


IMM16 = 0  # every 16-bit immediate sits at [15:0]
SIMD_3OP = (_ns("DST_NS", 21), _u("DST_IDX", 16, 5), _ns("SRC1_NS", 13), _u("SRC1_IDX", 8, 5),
            _ns("SRC2_NS", 5), _u("SRC2_IDX", 0, 5))
NOP_OPERANDS = (_x("DST_NS", 21, 3), _x("DST_IDX", 16, 5), _x("SRC1_NS", 13, 3), _x("SRC1_IDX", 8, 5),
                _x("SRC2_NS", 5, 3), _x("SRC2_IDX", 0, 5))


def _simd_3op(opcode: str, summary: str = "") -> list[Instr]:
    out = []
    for f in FUNCTIONS_LIST[("SIMD", opcode)]:
        ops, text = (NOP_OPERANDS, "no operation (operands don't-care)") if f.name == "NOP" else (SIMD_3OP, summary)
        out.append(_instr(f.name, "SIMD", opcode, f.name, ops, aliases=_FN_ALIASES.get(f.name, ()), summary=text))
    return out


# Compiler spellings accepted besides the canonical (sheet-style) ones.
_FN_ALIASES: dict[str, tuple[str, ...]] = {
    "FXP32_TO_FXP16": ("32FXP_16FXP",), "FXP32_TO_FXP8": ("32FXP_8FXP",), "FXP32_TO_FXP4": ("32FXP_4FXP",),
    "FXP16_TO_FXP32": ("16FXP_32FXP",), "FXP8_TO_FXP32": ("8FXP_32FXP",), "FXP4_TO_FXP32": ("4FXP_32FXP",),
    "FP32_TO_FP16": ("32FP_16FP",), "FP16_TO_FP32": ("16FP_32FP",),
    "BASE_ZERO_FILL": ("BASE_ZEROFILL",), "STRIDE_ZERO_FILL": ("STRIDE_ZEROFILL",),
}


_LDST_SUMMARY = {
    "CONFIG_BASE_ADDR": "low (LSB) or high (MSB) 16 bits of the DRAM base address",
    "CONFIG_BASE_LOOP_ITER": "iteration count of DRAM loop LOOP_IDX",
    "CONFIG_BASE_LOOP_STRIDE": "low/high 16 bits of the DRAM stride of loop LOOP_IDX",
    "CONFIG_TILE_LOOP_ITER": "iteration count of on-chip tile loop LOOP_IDX",
    "CONFIG_TILE_LOOP_STRIDE": "low/high 16 bits of the on-chip tile stride of loop LOOP_IDX",
    "START": "start the transfer: DATA_WIDTH and REQ_SIZE per request",
    "CONFIG_TILE_ADDR": "low/high 16 bits of the on-chip buffer base address",
}


def _simd_ld_st() -> list[Instr]:
    """SIMD off-chip transfers. Layout from the reference words: LSB/MSB at [23] (bit 2 of the sheet's
    3-bit ns column), a 2-bit namespace at [22:21], loop index / data width at [20:16], immediate [15:0]."""
    out = []
    for f in FUNCTIONS_LIST[("SIMD", "LD_ST")]:
        kind = f.name[3:]  # without LD_/ST_
        ns = _e("LDST_NS", 21, 2, LDST_NS)
        lsb_msb = _e("LSB_MSB", 23, 1, LSB_MSB)
        if kind in ("CONFIG_BASE_ADDR",):
            ops = (lsb_msb, ns, _u("LOOP_IDX", 16, 5), _u("BASE_ADDR", IMM16, 16))
        elif kind in ("CONFIG_BASE_LOOP_STRIDE", "CONFIG_TILE_LOOP_STRIDE"):
            ops = (lsb_msb, ns, _u("LOOP_IDX", 16, 5), _u("STRIDE", IMM16, 16))
        elif kind in ("CONFIG_BASE_LOOP_ITER", "CONFIG_TILE_LOOP_ITER"):
            ops = (_x("LSB_MSB", 23, 1), ns, _u("LOOP_IDX", 16, 5), _u("NUM_ITER", IMM16, 16))
        elif kind == "START":
            ops = (_x("LSB_MSB", 23, 1), ns, _u("DATA_WIDTH", 16, 5), _u("REQ_SIZE", IMM16, 16))
        else:
            assert kind == "CONFIG_TILE_ADDR", kind
            ops = (lsb_msb, ns, _x("LOOP_IDX", 16, 5), _u("BASE_ADDR", IMM16, 16))
        side = "load (DRAM to namespace)" if f.name.startswith("LD") else "store (namespace to DRAM)"
        out.append(_instr(f.name, "SIMD", "LD_ST", f.name, ops, summary=f"{side}: {_LDST_SUMMARY[kind]}"))
    return out


def _simd_iterator() -> list[Instr]:
    out = []
    for f in FUNCTIONS_LIST[("SIMD", "ITERATOR_CONFIG")]:
        # The *_SIGN_EXT forms sign-extend their immediate, so it is written (and printed) signed.
        imm = _s("IMM", IMM16, 16) if f.name.endswith("SIGN_EXT") else _u("IMM", IMM16, 16)
        what, _, how = f.name.replace("SET_", "").partition("_")
        target = {"BASE": "base address", "STRIDE": "stride", "IMM": "immediate"}[what]
        how = {"SIGN_EXT": "IMM sign-extended", "LOW": "low 16 bits", "HIGH": "high 16 bits",
               "ZERO_FILL": "IMM zero-extended"}[how]
        out.append(_instr(f.name, "SIMD", "ITERATOR_CONFIG", f.name, (_ns("NS", 21), _u("NS_IDX", 16, 5), imm),
                         aliases=_FN_ALIASES.get(f.name, ()), summary=f"{target} of iterator NS[NS_IDX] := {how}"))
    return out


# --------------------------------------------------------------------------------------------------
# The instructions, in decode order
# --------------------------------------------------------------------------------------------------

_SA_LOOP_ID = _u("LOOP_ID", 16, 6)

INSTRUCTIONS: tuple[Instr, ...] = (
    # --- systolic array ---
    # The compiler prints SA_LOOP's 6-bit op spec [27:22] as the first operand (0 or 32); its top bit is the
    # function, the rest don't-care, so the operand is fixed per mnemonic.
    _instr("SA_LOOP_CFG", "SA", "SA_LOOP", "SA_LOOP_CFG",
          (_x("OP_SPEC", 22, 6, 0), _SA_LOOP_ID, _u("NUM_ITER", IMM16, 16)),
          summary="configure loop LOOP_ID with an iteration count"),
    _instr("SA_REDUCTION_LOOP", "SA", "SA_LOOP", "SA_REDUCTION_LOOP",
          (_x("OP_SPEC", 22, 6, 32), _SA_LOOP_ID, _e("LOOP_TYPE", 2, 1, LOOP_TYPE), _e("LOOP_DIM", 0, 2, LOOP_DIM)),
          summary="mark loop LOOP_ID as an inner/outer reduction loop over IC, KW or KH (imm[2:0] on the sheet)"),
    # Legacy spelling of the group instruction (resnet50 reference). Its group number lands at [21:18]:
    # the reference words put group 1 at 0b000100 and group 2 at 0b001000 of the 6-bit field [21:16]
    # that SYNC_INST calls GROUP_NUM. Its fourth operand (the old compiler's LOOP_ID, always 0) has no
    # bits of its own: it must be 0. Printed for systolic-array words that it can express.
    _instr("INST_GROUP", "SA", "INST_GROUP", None,
          (_e("TARGET", 27, 1, TARGET), _e("START_END", 26, 1, START_END), _u("GROUP", 18, 4),
           _x("LOOP_ID", 16, 2), _u("NUM_INSTR", IMM16, 16)),
          canonical_if=(1 << 27, 0),
          summary="start/end an instruction group of the systolic array (legacy spelling)"),
    _instr("SYNC_INST", "SA", "INST_GROUP", None,
          (_e("TARGET", 27, 1, TARGET), _e("START_END", 26, 1, START_END), _e("EXEC_BUF", 25, 1, EXEC_BUF),
           _x("RESERVED", 22, 3), _u("GROUP_NUM", 16, 6), _u("NUM_INSTR", IMM16, 16)),
          summary="start/end an instruction group (systolic array or SIMD); NUM_INSTR counts a START's group"),
    _instr("BLOCK_END", "SA", "BLOCK_END", None, (_u("LAST", 0, 1),),
          summary="end of a block; LAST=1 marks the last block of the program"),
    _instr("SET_LOOP_STRIDE", "SA", "SET_LOOP_STRIDE", None,
          (_e("LOW_HIGH", 27, 1, LOW_HIGH), _e("ACCESS", 24, 2, ACCESS), _e("BUFFER", 22, 2, BUFFER),
           _SA_LOOP_ID, _u("STRIDE", IMM16, 16)),
          summary="set the low or high 16 bits of a buffer's stride for loop LOOP_ID (LD/ST off-chip, RD/WR on-chip)"),
    _instr("SET_BASE_ADDR", "SA", "SET_BASE_ADDR", None,
          (_e("LOW_HIGH", 27, 1, LOW_HIGH), _e("MEM_TYPE", 26, 1, MEM_TYPE), _e("BUFFER", 22, 2, BUFFER),
           _x("LOOP_ID", 16, 6), _u("BASE_ADDR", IMM16, 16)),
          summary="set the low or high 16 bits of a buffer's (or the instruction memory's) off-chip base address"),
    _instr("LD_ST", "SA", "LD_ST", None,
          (_e("DIRECTION", 27, 1, DIRECTION), _e("MEM_TYPE", 26, 1, MEM_TYPE), _e("BUFFER", 22, 2, BUFFER),
           _SA_LOOP_ID, _u("REQ_SIZE", IMM16, 16)),
          summary="load/store a buffer (or instruction memory) tile at loop LOOP_ID, REQ_SIZE per request"),
    # --- SIMD ---
    *_simd_3op("ALU", "dst = src1 OP src2"),
    *_simd_3op("CALCULUS", "dst = f(src1); src2 carries a parameter for some functions"),
    *_simd_3op("COMPARISON", "dst = (src1 CMP src2)"),
    *_simd_3op("DATATYPE_CAST", "dst = cast(src1); src2 names the immediate with cast info"),
    _instr("DTYPE_CFG", "SIMD", "DATATYPE_CONFIG", None,
          (_e("DTYPE", 24, 4, DTYPE), _u("DST_BITS", 16, 8), _u("SRC1_BITS", 8, 8), _u("SRC2_BITS", 0, 8)),
          summary="set the data type and the number of integer bits of dst, src1 and src2"),
    *_simd_ld_st(),
    *_simd_iterator(),
    _instr("SET_INDEX", "SIMD", "LOOP", "SET_INDEX", SIMD_3OP,
          summary="bind the dst/src1/src2 iterators of the next loop"),
    _instr("SET_ITER", "SIMD", "LOOP", "SET_ITER",
          (_u("SIMD_LOOP_ID", 21, 3), _x("NS_IDX", 16, 5), _u("NUM_ITER", IMM16, 16)),
          summary="set the iteration count of SIMD loop SIMD_LOOP_ID"),
    # The sheet defines bit [0] of the 3-bit column: 0 single, 1 nested; the compiler prints it as a number.
    _instr("SET_INST", "SIMD", "LOOP", "SET_INST",
          (_u("NESTED", 21, 1), _x("NS_IDX", 16, 5), _u("NUM_INSTR", IMM16, 16)),
          summary="the next NUM_INSTR instructions form the loop body (NESTED=1: nested loop)"),
    _instr("PERM_SET_BASE_ADDR", "SIMD", "PERMUTATION", "PERM_SET_BASE_ADDR",
          (_e("RD_WR", 21, 1, RD_WR), _x("LOOP_IDX", 16, 5), _u("BASE_ADDR", IMM16, 16)),
          summary="base address of the permutation's read or write side"),
    _instr("PERM_SET_LOOP_ITER", "SIMD", "PERMUTATION", "PERM_SET_LOOP_ITER",
          (_e("RD_WR", 21, 1, RD_WR), _u("LOOP_IDX", 16, 5), _u("NUM_ITER", IMM16, 16)),
          summary="iteration count of a permutation loop"),
    _instr("PERM_SET_LOOP_STRIDE", "SIMD", "PERMUTATION", "PERM_SET_LOOP_STRIDE",
          (_e("RD_WR", 21, 1, RD_WR), _u("LOOP_IDX", 16, 5), _u("STRIDE", IMM16, 16)),
          summary="stride of a permutation loop"),
    _instr("PERM_START", "SIMD", "PERMUTATION", "PERM_START",
          (_ns("DST_NS", 21), _x("DST_IDX", 16, 5), _ns("SRC1_NS", 13), _x("RESERVED", 1, 12),
           _e("SHUFFLE", 0, 1, SHUFFLE)),
          summary="start the permutation from SRC1_NS to DST_NS, with or without bank shuffling"),
)

# --------------------------------------------------------------------------------------------------
# Indexes for consumers
# --------------------------------------------------------------------------------------------------


# Plain-data views: OPCODES["SA"]["SA_LOOP"] == 0b1001, FUNCTIONS["SIMD"]["ALU"]["ADD"] == 0.
OPCODES: dict[str, dict[str, int]] = {g: {o.name: o.code for o in OPCODES_LIST if o.group == g} for g in ("SA", "SIMD")}
FUNCTIONS: dict[str, dict[str, dict[str, int]]] = {
    g: {op: {f.name: f.code for f in fns} for (grp, op), fns in FUNCTIONS_LIST.items() if grp == g}
    for g in ("SA", "SIMD")}
NAMESPACES: dict[str, Namespace] = {n.name: n for n in NAMESPACES_LIST}

BY_MNEMONIC: dict[str, Instr] = {}
for _i in INSTRUCTIONS:
    for _m in (_i.mnemonic, *_i.aliases):
        assert _m not in BY_MNEMONIC, f"mnemonic {_m} defined twice"
        BY_MNEMONIC[_m] = _i
MNEMONICS: tuple[str, ...] = tuple(i.mnemonic for i in INSTRUCTIONS)

# Decode candidates per opcode, in table order.
BY_OPCODE: dict[int, tuple[Instr, ...]] = {
    o.code: tuple(i for i in INSTRUCTIONS if i.op is o) for o in OPCODES_LIST}

SYMBOL_SETS: tuple[SymbolSet, ...] = (NS, LDST_NS, LOW_HIGH, ACCESS, BUFFER, MEM_TYPE, DIRECTION, TARGET, START_END,
                                      EXEC_BUF, LOOP_TYPE, LOOP_DIM, LSB_MSB, DTYPE, RD_WR, SHUFFLE)


def _check_table() -> None:
    """Invariants that keep the table decodable; run at import so a bad edit fails loudly."""
    positions: dict[str, tuple[int, int]] = {}
    for key, fns in FUNCTIONS_LIST.items():
        op = OPCODES_BY_KEY[key]
        assert op.func_lsb is not None, key
        for f in fns:
            assert 0 <= f.code < (1 << op.func_width), (key, f)
            assert any(i.op is op and (i.func is f or (i.func is None and i.operands[0].symbols is DTYPE
                                                          and f.name in DTYPE.names)) for i in INSTRUCTIONS), f
    for i in INSTRUCTIONS:
        assert (i.function is None) == (i.op.func_lsb is None) or i.mnemonic == "DTYPE_CFG", i.mnemonic
        used = 0
        for f in i.operands:
            assert 0 <= f.lsb and f.msb < OPCODE_LSB, (i.mnemonic, f)
            assert not used & f.mask, f"{i.mnemonic}: {f.name} overlaps another operand"
            used |= f.mask
            if f.mask & i.match_mask:
                # Only a fixed operand may cover function bits, and it must agree with them.
                assert f.kind == FIXED and f.encode(f.value) & i.match_mask == i.match_value & f.mask, i.mnemonic
            if f.kind == ENUM:
                assert all(0 <= v < (1 << f.width) for _, v in f.symbols.items), f
            if f.kind != FIXED:
                assert positions.setdefault(f.name, (f.lsb, f.width)) == (f.lsb, f.width), \
                    f"field {f.name} sits at two positions"
    # Two spellings of the same opcode/function must be told apart by canonical_if.
    for cands in BY_OPCODE.values():
        for a_idx, a in enumerate(cands):
            for b in cands[a_idx + 1:]:
                if a.match_value & b.match_mask == b.match_value & a.match_mask:
                    assert a.canonical_if is not None, f"{a.mnemonic} and {b.mnemonic} decode ambiguously"


_check_table()
FIELD_POSITIONS: dict[str, tuple[int, int]] = {}
for _i in INSTRUCTIONS:
    for _f in _i.operands:
        if _f.kind != FIXED:
            FIELD_POSITIONS.setdefault(_f.name, (_f.lsb, _f.width))


# --------------------------------------------------------------------------------------------------
# Views for other generators: the Verilog package and the documentation
# --------------------------------------------------------------------------------------------------

def verilog_constants() -> list[tuple[str, int, int]]:
    """(name, width, value) for a rendered Verilog package, in a stable order:
    OP_<sa opcode>, SIMD_OP_<simd opcode>, <prefix><function> (e.g. ALU_ADD, LDST_LD_START, SA_LOOP_CFG),
    NS_<namespace>, <symbol set>_<symbol> (e.g. BUFFER_WBUF, ACCESS_RD), and field positions
    F_<field>_LSB / F_<field>_W (LSBs 5 bits, widths 6 bits) including F_OPCODE_*, F_FUNC_* and F_SA_LOOP_FUNC_*."""
    out: dict[str, tuple[int, int]] = {}

    def put(name: str, width: int, value: int) -> None:
        assert out.setdefault(name, (width, value)) == (width, value), f"Verilog constant {name} clashes"

    put("ISA_WORD_W", 6, WORD_BITS)
    for o in OPCODES_LIST:
        put(("OP_" if o.group == "SA" else "SIMD_OP_") + o.name, OPCODE_WIDTH, o.code)
    for (group, opname), fns in FUNCTIONS_LIST.items():
        op = OPCODES_BY_KEY[(group, opname)]
        for f in fns:
            name = f.name if f.name.startswith(op.vprefix) else op.vprefix + f.name
            put(name, op.func_width, f.code)
    for n in NAMESPACES_LIST:
        put(f"NS_{n.name}", 3, n.id)
    for s in SYMBOL_SETS:
        width = next(f.width for i in INSTRUCTIONS for f in i.operands if f.symbols is s)
        for sym, value in s.items:
            put(f"{s.name}_{sym}", width, value)
    put("F_OPCODE_LSB", 5, OPCODE_LSB)
    put("F_OPCODE_W", 6, OPCODE_WIDTH)
    put("F_FUNC_LSB", 5, SIMD_FUNC_LSB)
    put("F_FUNC_W", 6, SIMD_FUNC_WIDTH)
    sa_loop = OPCODES_BY_KEY[("SA", "SA_LOOP")]
    put("F_SA_LOOP_FUNC_LSB", 5, sa_loop.func_lsb)
    put("F_SA_LOOP_FUNC_W", 6, sa_loop.func_width)
    for name, (lsb, width) in FIELD_POSITIONS.items():
        put(f"F_{name}_LSB", 5, lsb)
        put(f"F_{name}_W", 6, width)
    return [(name, w, v) for name, (w, v) in out.items()]


def layout(instr: Instr) -> list[tuple[int, int, str]]:
    """The word as (msb, lsb, label) segments, top bit first. Labels: operand names, or constant bits
    (opcode, function, fixed operands, and 0 for don't-care bits)."""
    labels: list[tuple[str, str]] = []  # per bit 31..0: (kind, text)
    for bit in range(WORD_BITS - 1, -1, -1):
        m = 1 << bit
        owner = next((f for f in instr.operands if f.mask & m), None)
        if m & instr.match_mask:
            src = "opcode" if bit >= OPCODE_LSB else "function"
            labels.append((src, str((instr.match_value >> bit) & 1)))
        elif owner is not None and owner.kind != FIXED:
            labels.append(("field", owner.name))
        elif owner is not None:
            labels.append(("fixed:" + owner.name, str((owner.encode(owner.value) >> bit) & 1)))
        else:
            labels.append(("dontcare", "0"))
    segs: list[tuple[int, int, str]] = []
    bit = WORD_BITS - 1
    idx = 0
    while idx < WORD_BITS:
        kind, text = labels[idx]
        end = idx
        while end + 1 < WORD_BITS and labels[end + 1][0] == kind and (kind != "field" or labels[end + 1][1] == text):
            end += 1
        msb, lsb = bit - idx, bit - end
        label = text if kind == "field" else "".join(t for _, t in labels[idx:end + 1])
        segs.append((msb, lsb, label))
        idx = end + 1
    return segs


def encoding_table(short_sets: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """One row per instruction spelling, for docs and reports: group, opcode, opcode_bits, function,
    function_bits, mnemonic, aliases, syntax, layout (e.g. `[31:28]=1100 [27]=LOW_HIGH ...`), summary.
    Symbol sets named in `short_sets` appear by name in the syntax (e.g. NS for the namespace list)."""
    rows = []
    for i in INSTRUCTIONS:
        fbits = "" if i.func is None else format(i.func.code, f"0{i.op.func_width}b")
        segs = " ".join((f"[{hi}:{lo}]" if hi != lo else f"[{hi}]") + f"={t}" for hi, lo, t in layout(i))
        rows.append({"group": i.group, "opcode": i.opcode, "opcode_bits": i.op.bits,
                     "function": i.function or "", "function_bits": fbits, "mnemonic": i.mnemonic,
                     "aliases": ", ".join(i.aliases), "syntax": i.syntax(short_sets), "layout": segs, "summary": i.summary})
    return rows


def legality_rules() -> list[tuple[str, int, int, list[tuple[int, int, int]]]]:
    """What makes a word a valid instruction, for hardware that must reject the words `decode` rejects:
    one rule per spelling, (mnemonic, care mask, care value, [(lsb, width, allowed-values bitmap)]). A word
    is valid when it satisfies any rule: its opcode/function, fixed bits and zero don't-care bits equal the
    care value under the care mask, and every enumerated field holds a defined value."""
    rules = []
    for i in INSTRUCTIONS:
        mask, value = i.match_mask | i.reserved_mask, i.match_value
        enums = []
        for f in i.operands:
            if f.kind == FIXED:
                mask |= f.mask
                value |= f.encode(f.value)
            elif f.kind == ENUM:
                allowed = 0
                for v in range(1 << f.width):
                    if f.symbols.symbol_of(v) is not None:
                        allowed |= 1 << v
                if allowed != (1 << (1 << f.width)) - 1:
                    enums.append((f.lsb, f.width, allowed))
        rules.append((i.mnemonic, mask, value, enums))
    return rules
