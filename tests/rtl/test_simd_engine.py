"""The SIMD engine (templates/simd, genesys_simd_engine): static checks on every lint preset, the bench's
reference against the simulator, pyuvm verification on Verilator (compiled SIMD groups of a tiny CNN, random
legal groups, random illegal groups) and mutations (the RAW forwarding broken) that the bench must catch."""

from __future__ import annotations

import random
import subprocess

import pytest

from genesys.arch import load_arch
from genesys.isa.status import ERROR_BY_NAME
from genesys.render import render
from genesys.tools import tool_env
from genesys.verif.simd_engine import sequences as seqs
from genesys.verif.simd_engine.reference import cause_of, compiled_cases
from genesys.verif.simd_engine.runner import run_verification

from .conftest import LINT_PRESETS, require_tool

TOP = "genesys_simd_engine"


@pytest.fixture(scope="module")
def simd_rtl(tmp_path_factory):
    cache: dict[str, tuple] = {}

    def get(preset: str):
        if preset not in cache:
            out = tmp_path_factory.mktemp(f"simd_{preset}")
            cache[preset] = (out, render(preset, out, top_block="simd"))
        return cache[preset]

    return get


def _run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=tool_env())


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_verilator_lint_wall_clean(simd_rtl, preset):
    verilator = require_tool("verilator")
    rtl, manifest = simd_rtl(preset)
    assert manifest["top"] == TOP
    r = _run([verilator, "--lint-only", "-Wall", "--top-module", TOP, *manifest["files"]], rtl)
    diagnostics = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("%")]
    assert r.returncode == 0 and not diagnostics, "\n".join(diagnostics) or r.stderr


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_icarus_compiles(simd_rtl, preset, tmp_path):
    iverilog = require_tool("icarus")
    rtl, manifest = simd_rtl(preset)
    r = _run([iverilog, "-g2012", "-o", str(tmp_path / "a.out"), "-s", TOP, *manifest["files"]], rtl)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_yosys_reads_and_checks_hierarchy(simd_rtl, preset):
    yosys = require_tool("yosys")
    rtl, manifest = simd_rtl(preset)
    r = _run([yosys, "-q", "-p", f"read_verilog -sv {' '.join(manifest['files'])}; hierarchy -check -top {TOP}"], rtl)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- the bench's reference side -------------------------------------------------------------------
def test_compiled_cases_come_from_a_real_program():
    cases = compiled_cases(load_arch("4x4"), 50)
    assert len(cases) >= 8
    assert all(c.error is None and c.busy > 0 for c in cases)
    assert any(c.bytes["VMEM1"][1] for c in cases) and any(c.bytes["VMEM2"][0] for c in cases)


def test_random_groups_are_mostly_legal_and_errors_cover_the_causes():
    arch = load_arch("4x4")
    rng = random.Random(3)
    legal = sum(seqs.random_case(arch, rng, "r", False).error is None for _ in range(60))
    assert legal >= 40
    causes = {c.error[0] for c in (seqs.random_case(arch, rng, "e", True) for _ in range(150)) if c.error}
    for name in ("BAD_FIELD", "VMEM_RANGE", "UNSUPPORTED"):
        assert ERROR_BY_NAME[name].code in causes


def test_cause_mapping():
    assert cause_of("division by zero (a lane of src2 is 0)") == ERROR_BY_NAME["DIV_BY_ZERO"].code
    assert cause_of("the source 1 row 1030 of OBUF at iteration (loop 0 = 3) is outside OBUF (rows 0..1023)") == \
        ERROR_BY_NAME["OBUF_RANGE"].code
    assert cause_of("SET_ITER gives a loop 1 or more iterations, not 0") == ERROR_BY_NAME["BAD_FIELD"].code


# ---- verification ---------------------------------------------------------------------------------
def _assert_clean_pass(r):
    assert r.passed, r.reason
    assert r.failures == 0 and r.items > 0


@pytest.mark.simulator_required
def test_verilator_4x4(tmp_path):
    require_tool("verilator")
    _assert_clean_pass(run_verification("4x4", tmp_path, items=8))


@pytest.mark.slow
@pytest.mark.simulator_required
def test_verilator_16x16(tmp_path):
    require_tool("verilator")
    _assert_clean_pass(run_verification("16x16", tmp_path, items=20))


# RAW hazards are resolved by forwarding FU results (docs/npu.md, SIMD engine): break it two ways
# name: (line, mutated line, test that must fail, items)
MUTATIONS = {
    # no hazard detection at all: every operand is read from VMEM even while a write to its row is in flight
    "no_forwarding": ("        if (!d_hz[p] && d_hm[", "        if (1'b0 && d_hm[", "SimdCompiledTest", 8),
    # a result already on fu_out while the dependent op is in D is not captured (stale VMEM row instead);
    # the compiled chains never reach that case (their dependent op is always in D before the result)
    "no_capture_in_d": ("        r_fw   <= d_hz_now;", "        r_fw   <= '0;", "SimdRandomTest", 40),
}


@pytest.mark.simulator_required
@pytest.mark.parametrize("mutation", [
    "no_forwarding", pytest.param("no_capture_in_d", marks=pytest.mark.slow)])
def test_mutation_forwarding_is_caught(tmp_path, mutation):
    """Break the RAW forwarding: a body that reads a row still in flight must fail against the simulator."""
    require_tool("verilator")
    rtl = tmp_path / "rtl"
    render("4x4", rtl, top_block="simd")
    src = rtl / "genesys_simd_engine.sv"
    good, bad, test, items = MUTATIONS[mutation]
    text = src.read_text()
    assert text.count(good) == 1
    src.write_text(text.replace(good, bad))
    r = run_verification("4x4", tmp_path / "work", rtl_dir=rtl, items=items, test=test)
    assert not r.passed
    assert "differ" in r.reason, r.reason
