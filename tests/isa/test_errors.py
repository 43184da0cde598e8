"""Errors: each kind is reported with file, line and column, a caret and the expected syntax."""

from __future__ import annotations

import pytest

from genesys.errors import GenesysError
from genesys.isa import AsmError, DisasmError, FormatError, assemble_line, assemble_text, disassemble
from genesys.isa.formats import parse_binary, parse_decimal, parse_hex, parse_words, unpack_raw


def asm_error(src: str, filename: str = "prog.s") -> AsmError:
    with pytest.raises(AsmError) as info:
        assemble_text(src, filename)
    return info.value


def test_message_format_matches_the_documented_example():
    e = asm_error("ADD VMEM1, 1, VMEM1, 0, VMEM2, 0\n\tSET_LOOP_STRIDE LOW, RD, IBUF, 13, 70000  # too big\n")
    assert (e.file, e.line, e.column) == ("prog.s", 2, 37)
    assert e.text == "\tSET_LOOP_STRIDE LOW, RD, IBUF, 13, 70000  # too big"
    assert str(e) == (
        "prog.s:2:37: immediate 70000 does not fit SET_LOOP_STRIDE's 16-bit unsigned STRIDE field (0..65535)\n"
        "  SET_LOOP_STRIDE LOW, RD, IBUF, 13, 70000  # too big\n"
        "                                     ^\n"
        "  expected: SET_LOOP_STRIDE {LOW|HIGH}, {LD|ST|RD|WR}, {WBUF|IBUF|OBUF|BBUF}, LOOP_ID(0..63), "
        "STRIDE(0..65535)")
    assert e.expected.startswith("SET_LOOP_STRIDE {LOW|HIGH}")


def test_asm_error_is_a_value_error_and_a_genesys_error():
    e = asm_error("FOO 1")
    assert isinstance(e, ValueError) and isinstance(e, GenesysError)


@pytest.mark.parametrize("src, column, message", [
    ("NOPE 0", 1, "unknown mnemonic 'NOPE'; did you mean NOP?"),
    ("  SET_LOOP_STRID LOW, LD, IBUF, 0, 0", 3, "did you mean SET_LOOP_STRIDE"),
    ("XYZZY", 1, "unknown mnemonic 'XYZZY'"),
    ("BLOCK_END", 10, "BLOCK_END takes 1 operand, got 0"),
    ("BLOCK_END 1, 1", 14, "BLOCK_END takes 1 operand, got 2"),
    ("ADD VMEM1, 1, VMEM1, 0, VMEM2", 30, "ADD takes 6 operands, got 5"),
    ("BLOCK_END 1,", 13, "trailing comma"),
    ("ADD VMEM1,, VMEM1, 0, VMEM2, 0", 11, "empty operand"),
    ("ADD VMEM9, 1, VMEM1, 0, VMEM2, 0", 5, "'VMEM9' is not a valid ADD DST_NS; expected one of OBUF, IBUF, VMEM1, VMEM2, IMM"),
    ("SET_LOOP_STRIDE LOW, XX, IBUF, 0, 0", 22, "expected one of LD, ST, RD, WR"),
    ("LD_ST LD, BUFFER, 2, 0, 0", 19, "LD_ST's BUFFER takes a symbol, not the number 2"),
    ("SA_LOOP_CFG 0, LOOP, 0", 16, "expected a number for SA_LOOP_CFG's LOOP_ID, got 'LOOP'"),
    ("SA_LOOP_CFG 0, 1.5, 0", 16, "expected a number for SA_LOOP_CFG's LOOP_ID, got '1.5'"),
    ("SA_LOOP_CFG 0, 64, 0", 16, "immediate 64 does not fit SA_LOOP_CFG's 6-bit unsigned LOOP_ID field (0..63)"),
    ("SA_LOOP_CFG 0, -1, 0", 16, "immediate -1 does not fit SA_LOOP_CFG's 6-bit unsigned LOOP_ID field (0..63)"),
    ("SA_LOOP_CFG 0, 1, 0x10000", 19, "immediate 0x10000 does not fit"),
    ("BASE_SIGN_EXT VMEM1, 0, 32768", 25, "16-bit signed IMM field (-32768..32767)"),
    ("BASE_SIGN_EXT VMEM1, 0, -32769", 25, "16-bit signed IMM field (-32768..32767)"),
    ("BASE_LOW VMEM1, 0, -1", 20, "16-bit unsigned IMM field (0..65535)"),
    ("BLOCK_END 2", 11, "1-bit unsigned LAST field (0..1)"),
    ("SA_LOOP_CFG 32, 1, 0", 13, "SA_LOOP_CFG's OP_SPEC operand is fixed: it must be 0, got 32"),
    ("NOP 0, 0, 1, 0, 0, 0", 11, "NOP's SRC1_NS operand is fixed: it must be 0"),
    ("LD_START 1, VMEM1, 31, 512", 10, "LD_START's LSB_MSB operand is fixed"),
    ("INST_GROUP SYSTOLIC_ARRAY, START, 16, 0, 1", 35, "4-bit unsigned GROUP field (0..15)"),
    ("ADD, VMEM1, 1, VMEM1, 0, VMEM2, 0", 4, "unexpected ',' after mnemonic ADD"),
    ("%ADD", 1, "expected a mnemonic"),
])
def test_each_error_kind(src, column, message):
    e = asm_error(src)
    assert (e.line, e.column) == (1, column), str(e)
    assert message in e.message
    assert str(e).startswith(f"prog.s:1:{column}: ")


def test_all_errors_of_a_file_are_reported_together():
    src = "ADD VMEM1, 1, VMEM1, 0, VMEM2, 0\nFOO\n\n# comment\nBLOCK_END 5\nBLOCK_END 1\nSA_LOOP_CFG 0, 99, 0\n"
    e = asm_error(src)
    assert [(x.line, x.column) for x in e.errors] == [(2, 1), (5, 11), (7, 16)]
    text = str(e)
    assert "prog.s:2:1:" in text and "prog.s:5:11:" in text and "prog.s:7:16:" in text
    assert text.endswith("3 errors in prog.s")


def test_error_collection_stops_at_the_cap():
    with pytest.raises(AsmError) as info:
        assemble_text("FOO\n" * 50, "many.s", max_errors=5)
    assert len(info.value.errors) == 5 and info.value.truncated
    assert "stopped there" in str(info.value)


def test_comments_and_blank_lines_are_not_errors():
    assert assemble_line("   # nothing") is None and assemble_line("// nothing") is None and assemble_line("") is None
    assert assemble_line("BLOCK_END 1 // last") == assemble_line("\t\tBLOCK_END 1#last") == 0xB0000001


@pytest.mark.parametrize("word, text", [
    (0xF0000000, "undefined opcode 1111"),
    (0x19000000, "undefined CALCULUS function 1001"),
    (0x57000000, "undefined LD_ST function 0111"),
    (0x93000000, "SA_LOOP_CFG's fixed OP_SPEC bits [27:22] are 12, not 0"),  # op-spec X bits set
    (0xB0000002, "don't-care bits 0x00000002 are set in a BLOCK_END word"),
    (0x00A00000, "undefined ADD DST_NS value 5"),
    (0x0F000001, "NOP's fixed SRC2_IDX bits [4:0] are 1, not 0"),
    (0x45000000, "undefined DTYPE_CFG DTYPE value 5"),
    (0x98000003, "undefined SA_REDUCTION_LOOP LOOP_DIM value 3"),
])
def test_disassembler_refuses_non_canonical_words(word, text):
    with pytest.raises(DisasmError) as info:
        disassemble([0xB0000001, word])
    msg = str(info.value)
    assert msg.startswith(f"word 1 (0x{word:08x}): ") and text in msg, msg
    assert info.value.index == 1 and info.value.word == word


def test_format_errors_name_file_and_line():
    with pytest.raises(FormatError, match=r"^w\.txt:3: bad binary word '0101' \(expected 32 characters of 0/1\)"):
        parse_binary("0" * 32 + "\n" + "1" * 32 + "\n0101\n", "w.txt")
    with pytest.raises(FormatError, match=r"^d\.txt:2: decimal word 4294967296 does not fit 32 bits"):
        parse_decimal("1\n4294967296", "d.txt")
    with pytest.raises(FormatError, match=r"^h\.txt:1: bad hex word 'xyz'"):
        parse_hex("xyz", "h.txt")
    with pytest.raises(FormatError, match=r"^r\.bin: raw file of 5 bytes"):
        unpack_raw(b"\x00\xff\x00\x00\x01", "r.bin")
    with pytest.raises(FormatError, match=r"^m\.txt:2: bad binary word"):  # detected by the first line
        parse_words(("0" * 32 + "\n12\n").encode(), filename="m.txt")
