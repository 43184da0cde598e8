"""The table agrees with the published sheet, is self-consistent, and feeds the docs and Verilog package."""

from __future__ import annotations

import re

from genesys.isa import FUNCTIONS, NAMESPACES, OPCODES, encoding_table, verilog_constants
from genesys.isa.doc import render_markdown
from genesys.isa.table import FUNCTIONS_LIST, INSTRUCTIONS, OPCODES_BY_KEY, layout


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().upper())


def _sheet_rows(sheet: str, section: str) -> list[list[str]]:
    block = sheet.split(f"=== SHEET {section}", 1)[1].split("=== SHEET", 1)[0]
    return [[c.strip() for c in line.split("|")] for line in block.splitlines()[1:]]


def _simd_rows(sheet: str) -> list[list[str]]:
    rows = _sheet_rows(sheet, "SIMD ISA")
    end = next(i for i, r in enumerate(rows) if r[0].startswith("Systolic Array ISA"))
    return rows[1:end], rows[end + 2:]


def test_simd_opcodes_and_functions_match_the_sheet(isa_sheet):
    simd, _ = _simd_rows(isa_sheet)
    opcode = None
    seen = set()
    for r in simd:
        if r[0]:  # a new opcode row: "0000 | ALU | ..." ("11" is the sheet's spelling of 0011)
            code = int(r[0], 2)
            opcode = next(o for o in OPCODES_BY_KEY.values() if o.group == "SIMD" and _norm(o.sheet_name) == _norm(r[1]))
            assert opcode.code == code, opcode.name
        if r[2]:
            fn = {f.code: f for f in FUNCTIONS_LIST[("SIMD", opcode.name)]}[int(r[2], 2)]
            assert _norm(fn.sheet_name) == _norm(r[3]), (opcode.name, r[2])
            seen.add((opcode.name, fn.name))
    # Functions with no sheet name are the project's documented additions in unused codes.
    table = {(op, f.name) for (g, op), fns in FUNCTIONS_LIST.items() if g == "SIMD" for f in fns if f.sheet_name}
    assert seen == table


def test_systolic_opcodes_match_the_sheet(isa_sheet):
    _, sa = _simd_rows(isa_sheet)
    sheet = {r[1]: int(r[0], 2) for r in sa if r[0]}
    assert sheet == OPCODES["SA"]
    assert FUNCTIONS["SA"]["SA_LOOP"] == {"SA_LOOP_CFG": 0, "SA_REDUCTION_LOOP": 1}


def test_namespaces_match_the_sheet(isa_sheet):
    rows = _sheet_rows(isa_sheet, "NAMESPACES")[1:]
    assert len(rows) == len(NAMESPACES)
    for r in rows:
        ns = next(n for n in NAMESPACES.values() if n.sheet_name == r[1])
        assert (ns.id, ns.rd_ports, ns.wr_ports, ns.kind, ns.simd_access) == (
            int(r[0].removeprefix("3'b").strip(), 2), int(r[2]), int(r[3]), r[4].replace("bamk", "bank"), r[5])


def test_plain_data_views():
    assert OPCODES["SA"]["SET_LOOP_STRIDE"] == 0b1100 and OPCODES["SIMD"]["DATATYPE_CAST"] == 0b0011
    assert FUNCTIONS["SIMD"]["ALU"]["NOP"] == 15 and FUNCTIONS["SIMD"]["LD_ST"]["ST_CONFIG_TILE_ADDR"] == 0b1110
    assert NAMESPACES["IMM"].id == 4 and NAMESPACES["OBUF"].rd_ports == 2


def test_every_layout_covers_32_bits_once():
    for instr in INSTRUCTIONS:
        segs = layout(instr)
        bits = [b for msb, lsb, _ in segs for b in range(msb, lsb - 1, -1)]
        assert bits == list(range(31, -1, -1)), instr.mnemonic


def test_verilog_constants_shape():
    consts = verilog_constants()
    names = [n for n, _, _ in consts]
    assert len(names) == len(set(names))
    for name, width, value in consts:
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), name
        assert 1 <= width <= 32 and 0 <= value < (1 << width), name
    d = {n: (w, v) for n, w, v in consts}
    assert d["OP_SA_LOOP"] == (4, 0b1001) and d["SIMD_OP_ALU"] == (4, 0)
    assert d["ALU_ADD"] == (4, 0) and d["NS_VMEM1"] == (3, 2) and d["PERM_START"] == (4, 3)
    assert d["F_OPCODE_LSB"] == (5, 28) and d["F_DST_NS_LSB"] == (5, 21) and d["F_LOOP_ID_W"] == (6, 6)
    assert d["SA_REDUCTION_LOOP"] == (1, 1) and d["BUFFER_BBUF"] == (2, 3) and d["LDST_NS_VMEM2"] == (2, 3)


def test_encoding_table_rows():
    rows = encoding_table()
    assert len(rows) == len(INSTRUCTIONS)
    row = next(r for r in rows if r["mnemonic"] == "SET_LOOP_STRIDE")
    assert row["layout"] == ("[31:28]=1100 [27]=LOW_HIGH [26]=0 [25:24]=ACCESS [23:22]=BUFFER "
                             "[21:16]=LOOP_ID [15:0]=STRIDE")
    assert row["syntax"] == ("SET_LOOP_STRIDE {LOW|HIGH}, {LD|ST|RD|WR}, {WBUF|IBUF|OBUF|BBUF}, "
                             "LOOP_ID(0..63), STRIDE(0..65535)")


def test_docs_list_every_mnemonic():
    text = render_markdown()
    for instr in INSTRUCTIONS:
        assert f"`{instr.mnemonic}`" in text
        for alias in instr.aliases:
            assert alias in text


def test_legality_rules_accept_exactly_what_decode_accepts():
    """The hardware's word check (genesys_word_check, generated from these rules) must reject the words the
    disassembler rejects and nothing else."""
    import random

    from genesys.isa import DisasmError, decode
    from genesys.isa.table import legality_rules

    rules = legality_rules()

    def legal(w: int) -> bool:
        return any(w & m == v and all((allowed >> ((w >> lsb) & ((1 << wd) - 1))) & 1 for lsb, wd, allowed in en)
                   for _, m, v, en in rules)

    rng = random.Random(7)
    for _ in range(50000):
        w = rng.getrandbits(32)
        if rng.random() < 0.8:  # mostly near-valid words: few operand bits set
            w = (w & 0xF0000000) | (w & rng.getrandbits(32) & rng.getrandbits(32) & 0x0FFFFFFF)
        try:
            decode(w)
            ok = True
        except DisasmError:
            ok = False
        assert legal(w) == ok, hex(w)
