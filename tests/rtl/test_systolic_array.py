"""pyuvm verification of the systolic array through run_verification: every preset tier passes with full
functional coverage, the testbench follows the DUT's parameters (non-square array, OUTPUT_REG variant),
runs are reproducible from the seed, and broken RTL fails (mutation tests)."""

from __future__ import annotations

import json
import re

import pytest

from genesys.errors import GenesysError
from genesys.render import render
from genesys.tools import ToolInfo
from genesys.verif import cocotb_runner
from genesys.verif.systolic_array.runner import TESTS, run_verification

from .conftest import require_tool


def quick_simulator() -> str:
    """Icarus when installed (no C++ build: a 4x4 run takes seconds), else Verilator. For tests whose
    point does not depend on the simulator."""
    from genesys.tools import find_tool

    if find_tool("icarus").found:
        return "icarus"
    require_tool("verilator")
    return "verilator"


def _assert_clean_pass(r, simulator: str) -> None:
    assert r.passed, r.reason
    assert r.simulator == simulator
    assert r.tests == len(TESTS) and r.failures == 0
    assert r.items > 0 and r.sim_cycles > r.items  # every vector is checked; cycles include weight loads
    assert r.coverage["bins_hit"] == r.coverage["bins_total"] > 0, r.coverage.get("missed")
    assert r.results_xml.is_file() and r.log.is_file()
    assert json.loads((r.results_xml.parent / "verif_result.json").read_text())["passed"] is True


@pytest.mark.simulator_required
@pytest.mark.parametrize("preset", ["4x4", "16x16", "8x4"])
def test_verilator(preset, tmp_path):
    require_tool("verilator")
    _assert_clean_pass(run_verification(preset, tmp_path), "verilator")


@pytest.mark.simulator_required
def test_icarus_4x4(tmp_path):
    require_tool("icarus")
    _assert_clean_pass(run_verification("4x4", tmp_path, simulator="icarus"), "icarus")


@pytest.mark.simulator_required
def test_output_reg_variant_follows_dut_latency(tmp_path):
    """The testbench reads LATENCY back from the DUT: the OUTPUT_REG variant passes unchanged."""
    render("4x4", tmp_path / "rtl", overrides={"systolic_array": {"OUTPUT_REG": True}})
    r = run_verification("4x4", tmp_path / "work", simulator=quick_simulator(), rtl_dir=tmp_path / "rtl")
    assert r.passed, r.reason
    params = json.loads((tmp_path / "work" / "reports" / "SaRandomTest.run.json").read_text())["params"]
    pe_pipe = int(re.search(r"SA_PE_PIPELINE = (\d)", (tmp_path / "rtl" / "genesys_pkg.sv").read_text()).group(1))
    assert params["OUTPUT_REG"] == 1 and params["LATENCY"] == params["ARRAY_N"] + params["ARRAY_M"] + 1 + pe_pipe


@pytest.mark.simulator_required
def test_seed_reproduces_a_run_and_one_test_can_be_selected(tmp_path):
    sim = quick_simulator()
    a = run_verification("4x4", tmp_path, simulator=sim, seed=7, items=30, test="SaRandomTest")
    b = run_verification("4x4", tmp_path, simulator=sim, seed=7, items=30, test="SaRandomTest")
    c = run_verification("4x4", tmp_path, simulator=sim, seed=8, items=30, test="SaRandomTest")
    assert a.passed and b.passed and c.passed
    assert a.tests == 1 and list(a.per_test) == ["SaRandomTest"]
    assert (a.items, a.sim_cycles) == (b.items, b.sim_cycles)
    assert (a.items, a.sim_cycles) != (c.items, c.sim_cycles)


# ---- the testbench can fail: broken RTL must be caught -------------------------------------------
MUTATIONS = {
    # the PE subtracts its product instead of adding it
    "accumulate_subtracts": ("genesys_pe.sv", "psum_in + ACC_WIDTH'(prod_add)", "psum_in - ACC_WIDTH'(prod_add)"),
    # the product loses its MSB (sign-extended from the bit below): wrong only for lowest x lowest
    "product_msb_dropped": ("genesys_pe.sv", "ACC_WIDTH'(prod_add)", "ACC_WIDTH'($signed(prod_add[PROD_WIDTH-2:0]))"),
    # weights switch one cycle late in every PE: the vector presented with wgt_load gets the old weights
    "weight_load_late": ("genesys_systolic_array.sv", ".DEPTH(i), .RESET(1)) u_ld_skew",
                         ".DEPTH(i + 1), .RESET(1)) u_ld_skew"),
}


def _mutate(mutation: str, rtl) -> None:
    file, old, new = MUTATIONS[mutation]
    render("4x4", rtl)
    text = (rtl / file).read_text()
    assert text.count(old) == 1, f"mutation site for {mutation} not found once in {file}"
    (rtl / file).write_text(text.replace(old, new))


def _assert_caught(r) -> None:
    assert not r.passed
    assert r.failures > 0 and r.tests == len(TESTS)
    assert "expected" in r.reason, r.reason  # the scoreboard's mismatch, not a crash


@pytest.mark.simulator_required
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_rtl_fails(mutation, tmp_path):
    sim = quick_simulator()
    _mutate(mutation, tmp_path / "rtl")
    _assert_caught(run_verification("4x4", tmp_path / "work", simulator=sim, rtl_dir=tmp_path / "rtl"))


@pytest.mark.simulator_required
def test_mutated_rtl_fails_on_verilator(tmp_path):
    """The same on Verilator, the default simulator (its build and result path differ from Icarus's)."""
    require_tool("verilator")
    _mutate("accumulate_subtracts", tmp_path / "rtl")
    _assert_caught(run_verification("4x4", tmp_path / "work", simulator="verilator", rtl_dir=tmp_path / "rtl"))


# ---- errors that need no simulator -----------------------------------------------------------------
def test_missing_simulator_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cocotb_runner, "find_tool", lambda name: ToolInfo(name, None, None, "install it"))
    with pytest.raises(GenesysError, match="not found"):
        run_verification("4x4", tmp_path, simulator="icarus")


def test_unknown_simulator_and_test_are_rejected(tmp_path):
    with pytest.raises(GenesysError, match="unknown simulator"):
        run_verification("4x4", tmp_path, simulator="xcelium")
    with pytest.raises(GenesysError, match="unknown test"):
        run_verification("4x4", tmp_path, test="SaNoSuchTest")
    with pytest.raises(GenesysError, match="items must be"):
        run_verification("4x4", tmp_path, items=0)


def test_rtl_dir_without_manifest_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(cocotb_runner, "find_tool", lambda name: ToolInfo(name, "/usr/bin/" + name, "0", ""))
    (tmp_path / "rtl").mkdir()
    with pytest.raises(GenesysError, match="manifest.json"):
        run_verification("4x4", tmp_path / "work", rtl_dir=tmp_path / "rtl")
