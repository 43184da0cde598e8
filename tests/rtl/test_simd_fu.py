"""The SIMD lane function unit (templates/simd_fu): static checks on every lint preset, the bench's
reference model against the simulator, pyuvm verification on Verilator (4 and 16 lanes) and Icarus, and a
mutation (truncation instead of round-to-nearest-even in the binary32 rounding) the scoreboard must catch."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from genesys.arch import load_arch
from genesys.render import render
from genesys.tools import tool_env
from genesys.verif.simd_fu import coverage as cov
from genesys.verif.simd_fu import reference as ref
from genesys.verif.simd_fu.runner import TESTS, run_verification

from .conftest import LINT_PRESETS, require_tool

FILES = ["genesys_pkg.sv", "genesys_simd_fu_lane.sv", "genesys_simd_fu.sv"]


@pytest.fixture(scope="module")
def fu_rtl(tmp_path_factory):
    cache: dict[str, tuple] = {}

    def get(preset: str):
        if preset not in cache:
            out = tmp_path_factory.mktemp(f"simd_fu_{preset}")
            cache[preset] = (out, render(preset, out, top_block="simd_fu"))
        return cache[preset]

    return get


def _run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=tool_env())


# ---- static checks --------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_rendered_from_the_arch(fu_rtl, preset):
    rtl, manifest = fu_rtl(preset)
    assert manifest["top"] == "genesys_simd_fu" and manifest["files"] == FILES
    text = (rtl / "genesys_simd_fu.sv").read_text()
    assert "parameter int LANES     = genesys_pkg::SIMD_LANES" in text
    assert re.search(r"parameter int DIV_STEPS = 2\b", text)
    pkg = (rtl / "genesys_pkg.sv").read_text()
    assert f"localparam int SIMD_LANES = {load_arch(preset).SIMD_LANES};" in pkg


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_verilator_lint_wall_clean(fu_rtl, preset):
    verilator = require_tool("verilator")
    rtl, manifest = fu_rtl(preset)
    r = _run([verilator, "--lint-only", "-Wall", "--top-module", "genesys_simd_fu", *manifest["files"]], rtl)
    diagnostics = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("%")]
    assert r.returncode == 0 and not diagnostics, "\n".join(diagnostics) or r.stderr


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_icarus_compiles_silently(fu_rtl, preset, tmp_path):
    iverilog = require_tool("icarus")
    rtl, manifest = fu_rtl(preset)
    r = _run([iverilog, "-g2012", "-Wall", "-o", str(tmp_path / "a.out"), "-s", "genesys_simd_fu",
              *manifest["files"]], rtl)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


@pytest.mark.synth_required
@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_yosys_reads_and_checks_hierarchy(fu_rtl, preset):
    yosys = require_tool("yosys")
    rtl, manifest = fu_rtl(preset)
    script = f"read_verilog -sv {' '.join(manifest['files'])}; hierarchy -check -top genesys_simd_fu"
    r = _run([yosys, "-q", "-p", script], rtl)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- the bench's reference model ----------------------------------------------------------------------
def test_every_isa_function_has_a_code_and_coverage_bins():
    assert len(ref.CODE) == 45  # 16 ALU + 9 CALCULUS + 6 COMPARISON + 14 DATATYPE_CAST
    names = cov.bin_names()
    assert len(names) == len(set(names))
    for fp in (False, True):
        for n in cov.valid_functions(fp):
            assert any(b.startswith(f"{'fp' if fp else 'fxp'}:{n}:") for b in names)


def test_reference_error_decisions():
    def op(name, fp=False, fmt=(32, 32, 32), b=(1, 1, 1, 1)):
        return ref.Op(*ref.CODE[name], fp, *fmt, [5, 6, 7, 8], list(b), [0] * 4)

    assert ref.expected(op("SQRT", fp=True))[0] == "UNSUPPORTED"
    assert ref.expected(op("SIGMOID"))[0] == "UNSUPPORTED"
    assert ref.expected(op("LSHIFT", fp=True))[0] == "UNSUPPORTED"
    assert ref.expected(op("DIV", b=(1, 0, 1, 1)))[0] == "DIV_BY_ZERO"
    assert ref.expected(op("DIV", fp=True, b=(1, 0, 1, 1)))[0] is None  # IEEE: inf
    assert ref.expected(op("RSHIFT", b=(1, 0xFFFFFFFF, 1, 1)))[0] == "NEG_SHIFT"
    assert ref.expected(op("ADD", fmt=(33, 32, 32)))[0] == "BAD_FIELD"
    assert ref.expected(op("DIV", fmt=(33, 32, 32), b=(0, 0, 0, 0)))[0] == "BAD_FIELD"  # lowest cause
    assert ref.expected(op("NOP"))[1] == [0, 0, 0, 0]  # the destination unchanged
    bad = ref.Op(ref.OPCODE["CALCULUS"], 15, False, 32, 32, 32, [0] * 4, [0] * 4, [0] * 4)
    assert ref.expected(bad)[0] == "ILLEGAL_INSTR"


# ---- pyuvm verification -----------------------------------------------------------------------------
def _assert_clean_pass(r, full_coverage=True):
    assert r.passed, r.reason
    assert r.tests == len(TESTS) and r.failures == 0
    assert r.items > 0
    if full_coverage:
        assert r.coverage["bins_hit"] == r.coverage["bins_total"] > 0, r.coverage.get("missed")
    assert json.loads((r.results_xml.parent / "verif_result.json").read_text())["passed"] is True


@pytest.mark.simulator_required
def test_verilator_ci_tier(tmp_path):
    """The CI tier's run: every test on 4x4 with few random items (the boundary cross product and the
    compiler's functions still run in full)."""
    require_tool("verilator")
    _assert_clean_pass(run_verification("4x4", tmp_path, items=150), full_coverage=False)


@pytest.mark.slow
@pytest.mark.simulator_required
@pytest.mark.parametrize("preset", ["4x4", "16x16"])
def test_verilator(preset, tmp_path):
    require_tool("verilator")
    _assert_clean_pass(run_verification(preset, tmp_path, items=1500))


@pytest.mark.slow
@pytest.mark.simulator_required
def test_icarus_short(tmp_path):
    require_tool("icarus")
    _assert_clean_pass(run_verification("4x4", tmp_path, simulator="icarus", items=60), full_coverage=False)


@pytest.mark.slow
@pytest.mark.simulator_required
def test_mutation_truncating_fp_rounding_is_caught(tmp_path):
    """Round toward zero instead of to nearest even in fp_pack (every binary32 MUL/ADD/DIV/cast result):
    the scoreboard must report a lane mismatch."""
    require_tool("verilator")
    rtl = tmp_path / "rtl"
    render("4x4", rtl, top_block="simd_fu")
    src = rtl / "genesys_simd_fu_lane.sv"
    good = "up   = m[2] & (m[1] | m[0] | st | m[3]);"
    text = src.read_text()
    assert good in text
    src.write_text(text.replace(good, "up   = 1'b0;"))
    r = run_verification("4x4", tmp_path / "work", rtl_dir=rtl, items=300, test="FuCompilerOpsTest")
    assert not r.passed
    assert "expected 0x" in r.reason and "lane" in r.reason, r.reason
