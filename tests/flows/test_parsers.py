"""Parsers of the tools' own output, against text captured from Verilator 5.048, Yosys 0.23 and FuseSoC 2.4.7."""

from __future__ import annotations

from pathlib import Path

from genesys.flows import parsers

DATA = Path(__file__).parent / "data"


def _read(name: str) -> str:
    return (DATA / name).read_text()


# ---- Verilator ---------------------------------------------------------------------------------------
def test_verilator_warnings_are_parsed_with_code_location_and_message():
    diags = parsers.parse_verilator(_read("verilator_lint_warnings.log"))
    assert [(d["severity"], d["code"], d["file"], d["line"], d["column"]) for d in diags] == [
        ("warning", "DECLFILENAME", "h.sv", 1, 8),
        ("warning", "WIDTHTRUNC", "h.sv", 8, 12),
    ]
    assert diags[1]["message"].startswith("Operator ASSIGNW expects 3 bits on the Assign RHS")


def test_verilator_exit_summary_is_not_a_diagnostic():
    text = _read("verilator_lint_warnings.log")
    assert "%Error: Exiting due to 2 warning(s)" in text
    assert all(d["severity"] == "warning" for d in parsers.parse_verilator(text))


def test_verilator_errors_without_a_code_or_location():
    text = ("%Error: t.sv:3:1: syntax error, unexpected endmodule\n"
            "%Error-PINMISSING: t.sv:9:5: Cell has missing pin: 'clk'\n"
            "%Error: Cannot find file containing module: 'nope'\n")
    diags = parsers.parse_verilator(text)
    assert [(d["severity"], d["code"], d["file"], d["line"]) for d in diags] == [
        ("error", "", "t.sv", 3), ("error", "PINMISSING", "t.sv", 9), ("error", "", "", 0)]
    assert diags[2]["message"] == "Cannot find file containing module: 'nope'"


def test_fusesoc_lint_log_gives_warnings_and_the_first_error_line():
    text = _read("fusesoc_lint_failed.log")
    warnings = parsers.verilator_warnings(text)
    assert len(warnings) == 2
    assert warnings[0]["code"] == "UNUSEDPARAM"
    assert warnings[0]["file"].endswith("genesys_pkg.sv")
    assert (warnings[0]["line"], warnings[0]["column"]) == (10, 18)
    assert warnings[0]["message"] == "Parameter is not used: 'ARRAY_N'"
    assert parsers.first_error(text).startswith("%Warning-UNUSEDPARAM: src/")


# ---- Yosys stat ----------------------------------------------------------------------------------------
def test_yosys_stat_of_a_flat_design():
    stat = parsers.parse_yosys_stat(_read("yosys_stat_4x4.txt"))
    assert stat["module"] == "genesys_systolic_array"
    assert stat["cells"] == 51423
    assert stat["wires"] == 35500 and stat["wire_bits"] == 57153
    assert stat["cells_by_type"]["$_DFFE_PP_"] == 16384
    assert stat["cells_by_type"]["$_MUX_"] == 16256
    assert len(stat["cells_by_type"]) == 14
    assert sum(stat["cells_by_type"].values()) == stat["cells"]


def test_yosys_stat_of_a_hierarchy_uses_the_design_totals_of_the_last_run():
    text = _read("yosys_stat_hierarchy.txt")
    assert text.count("=== design hierarchy ===") == 2  # the file holds two stat runs
    stat = parsers.parse_yosys_stat(text)
    assert stat["module"] == "design hierarchy"
    assert stat["cells"] == 20
    assert stat["cells_by_type"] == {"$_ANDNOT_": 2, "$_DFF_P_": 8, "$_NAND_": 2, "$_NOT_": 2, "$_XNOR_": 2,
                                     "$_XOR_": 4}
    assert "sub" not in stat["cells_by_type"]  # the per-module counts of instances are not cells


def test_yosys_stat_takes_the_last_report_of_a_log():
    early = "=== m ===\n\n   Number of cells:                  3\n     $_AND_     3\n\n"
    late = "=== m ===\n\n   Number of cells:                  5\n     $_OR_      5\n\n"
    stat = parsers.parse_yosys_stat("2.1 Printing statistics.\n" + early + "9. Printing statistics.\n" + late)
    assert stat["cells"] == 5 and stat["cells_by_type"] == {"$_OR_": 5}


def test_yosys_stat_with_a_chip_area():
    text = ("=== top ===\n\n   Number of cells:                  2\n     NAND2_X1     2\n\n"
            "   Chip area for module '\\top': 1.596000\n")
    stat = parsers.parse_yosys_stat(text)
    assert stat["cells_by_type"] == {"NAND2_X1": 2}
    assert stat["chip_area"] == 1.596


def test_no_stat_report_gives_an_empty_dict():
    assert parsers.parse_yosys_stat("ERROR: Module `\\nope' not found!\n") == {}


def test_yosys_warnings_are_distinct_and_match_yosys_own_count():
    text = _read("yosys_warnings.log")
    assert "Warnings: 3 unique messages, 5 total" in text
    warnings = parsers.yosys_warnings(text)
    assert len(warnings) == 3
    assert warnings[0] == "Identifier `\\undeclared_net' is implicitly declared."
    assert "Wire md.\\z is used but has no driver." in warnings


# ---- first error line ----------------------------------------------------------------------------------
def test_first_error_of_yosys_and_fusesoc():
    text = ("INFO: Preparing genesys:npu:systolic_array:0.1.0\n"
            "src/x/genesys_pe.sv:4: ERROR: syntax error, unexpected TOK_ID\n"
            "make: *** [Makefile:8: top.v] Error 1\n"
            "ERROR: Failed to build genesys:npu:systolic_array:0.1.0 : '['make']' exited with an error: 2\n")
    assert parsers.first_error(text) == "src/x/genesys_pe.sv:4: ERROR: syntax error, unexpected TOK_ID"


def test_first_error_of_a_generator_failure_is_its_own_message():
    text = ("INFO: Generating genesys:npu:systolic_array-systolic_array_rtl:0.1.0\n"
            "ERROR: genesys generator: unknown preset '5x5'. Known presets: 4x4, 8x4\n"
            "ERROR: Failed to run generator 'systolic_array_rtl'\n")
    assert parsers.first_error(text) == "ERROR: genesys generator: unknown preset '5x5'. Known presets: 4x4, 8x4"


def test_first_error_of_a_traceback_is_the_exception():
    text = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    boom()\n"
            "ZeroDivisionError: division by zero\n")
    assert parsers.first_error(text) == "ZeroDivisionError: division by zero"


def test_no_error_line():
    assert parsers.first_error("INFO: all good\nWARNING: Config file was not found\n") == ""


def test_yosys_memory_dump_counts_cells_and_bits():
    # captured from `dump t:$mem_v2` after synthesizing 4x4 (two of its 16 weight banks: 128 x 8 bits each)
    text = (DATA / "yosys_mem_dump.txt").read_text()
    assert parsers.parse_yosys_memories(text) == {"memories": 2, "memory_bits": 2 * 128 * 8}
    assert parsers.parse_yosys_memories("") == {"memories": 0, "memory_bits": 0}
