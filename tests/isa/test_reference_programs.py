"""The GeneSys compiler's reference programs: every word reproduced bit for bit, both ways."""

from __future__ import annotations

from genesys.isa import assemble_text, disassemble
from genesys.isa.formats import detect_format, format_binary, format_decimal, parse_binary, parse_decimal


def _first_mismatch(prog, got: list[int], want: list[int]) -> str:
    lines = prog.lines()
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f"word {i} `{lines[i]}`: assembled {g:032b}, reference {w:032b}"
    return f"{len(got)} words assembled, reference has {len(want)}"


def test_assembles_to_reference_binary(ref_program):
    words = assemble_text(ref_program.text.read_text(), str(ref_program.text))
    want = parse_binary(ref_program.binary.read_text(), str(ref_program.binary))
    assert len(want) == ref_program.n_words
    assert words == want, _first_mismatch(ref_program, words, want)


def test_assembles_to_reference_decimal(ref_program):
    words = assemble_text(ref_program.text.read_text(), str(ref_program.text))
    want = parse_decimal(ref_program.decimal.read_text(), str(ref_program.decimal))
    assert len(want) == ref_program.n_words
    assert words == want, _first_mismatch(ref_program, words, want)


def test_writers_reproduce_reference_files(ref_program):
    """The text writers produce the reference files byte for byte (no final newline, unsigned decimal)."""
    words = assemble_text(ref_program.text.read_text())
    assert format_binary(words) == ref_program.binary.read_text()
    assert format_decimal(words) == ref_program.decimal.read_text()


def test_reference_formats_are_detected(ref_program):
    assert detect_format(ref_program.binary.read_bytes()) == "binary"
    assert detect_format(ref_program.decimal.read_bytes()) == "decimal"


def test_reference_words_disassemble_to_the_compiler_text(ref_program):
    words = parse_binary(ref_program.binary.read_text())
    got = disassemble(words)
    for i, (g, w) in enumerate(zip(got, ref_program.lines(), strict=True)):
        assert g == w, f"word {i} ({words[i]:032b})"


def test_reference_words_reassemble_to_themselves(ref_program):
    words = parse_binary(ref_program.binary.read_text())
    assert assemble_text(disassemble(words)) == words


def test_both_group_spellings_occur_in_the_references(ref_program):
    """INST_GROUP (resnet50) and SYNC_INST (add_test) are both real compiler output."""
    first = ref_program.lines()[0].split()[0]
    assert first == {"add_test": "SYNC_INST", "resnet50_conv_0": "INST_GROUP"}[ref_program.name]
