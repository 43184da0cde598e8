"""System verification of genesys_top (issue #4, deliverable 2): the pyuvm environment in verif/npu/ with the
shared agents in verif/agents/.

Fast tests (no simulator): the prepared cases agree with genesys.sim, and the comparison helpers.
CI tier (Verilator): one build of 4x4 running every test (CSR, single ops, the small CNN, program errors,
AXI faults). Slow: 16x16, the memory agent's self-test against genesys_dma, the environment against the
stub genesys_top, and mutations the environment must catch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from genesys.arch import load_arch
from genesys.isa.status import ERROR_BY_NAME
from genesys.render import render
from genesys.verif.npu import cases as npu_cases
from genesys.verif.npu import reference as ref
from genesys.verif.npu.common import load_case, load_index
from genesys.verif.npu.runner import TESTS, run_verification

from .conftest import require_tool

REPO = Path(__file__).resolve().parents[2]


# ---- without a simulator ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("npu_cases")
    npu_cases.prepare("4x4", out, ("ops", "errors", "axi"), ops=("gemm", "add"))
    return out


def test_cases_carry_the_simulator_reference(prepared):
    index = load_index(prepared)
    assert index["ARRAY_N"] == 4 and {c["suite"] for c in index["cases"]} == {"ops", "errors", "axi"}
    for c in index["cases"]:
        case, initial, final = load_case(prepared, c["name"])
        assert initial.size == final.size == case.dram_size
        words = initial[case.program_address:case.program_address + 4 * case.program_words].view("<u4")
        if case.error and case.axi_fault is None:  # a program error: cause stated, index/word from the simulator
            assert case.error["code"] == ERROR_BY_NAME[case.error["cause"]].code
            if case.error["index"] is not None:
                assert int(words[case.error["index"]]) == case.error["word"]
        elif case.axi_fault is None:  # a clean run changed DRAM (its outputs) and has counters
            assert not np.array_equal(initial, final)
            assert case.counters["cycles"] == case.sim_cycles > 0
            if case.layers:  # compiled models (hand-written programs have no layers)
                assert sum(layer["sim_cycles"] for layer in case.layers) == case.sim_cycles


def test_every_error_case_names_its_cause_once(prepared):
    causes = {load_case(prepared, c["name"])[0].error["cause"] for c in load_index(prepared)["cases"]
              if c["name"].startswith(("err_", "axi_")) and not c["name"].endswith("_clean")}
    assert {"ILLEGAL_INSTR", "IBUF_RANGE", "AXI_SLVERR", "AXI_DECERR", "AXI_TIMEOUT"} <= causes


def test_layer_attribution_from_pc_samples():
    layers = [{"name": "a", "op": "conv", "ranges": [[0, 9]], "sim_cycles": 100},
              {"name": "b", "op": "gemm", "ranges": [[10, 19]], "sim_cycles": 50},
              {"name": "c", "op": "Reshape", "ranges": [], "sim_cycles": 0}]
    samples = [(0, 1), (40, 5), (80, 9), (120, 12), (160, 18)]
    out = ref.layer_cycles(layers, samples, 170, 21)
    assert [x["rtl"] for x in out] == [80, 90, 0] and out[0]["pct"] == -20.0
    assert [x["rtl_occupancy"] for x in out] == [120, 50, 0]


def test_counter_comparison_fails_only_on_work_counters():
    sim = {n: 100 for n in ref.EXACT_COUNTERS + ref.TIMING_COUNTERS}
    rtl = dict(sim, cycles=180, macs=99)
    fails, table = ref.compare_counters(rtl, sim)
    assert fails == ["counter macs: RTL 99, simulator 100"]
    assert table["cycles"]["pct"] == 80.0 and not table["cycles"]["within"] and not table["cycles"]["exact"]


def test_dram_diff_names_regions():
    want = np.zeros(64, np.uint8)
    got = want.copy()
    got[[3, 40]] = 7
    d = ref.dram_diff(got, want, 0x1000, [{"name": "y", "addr": 32, "bytes": 16}])
    assert d["bytes"] == 2 and d["first"][0] == ("0x1003", 0, 7) and d["regions"] == ["y (1 of 16 bytes)"]
    assert ref.dram_diff(want, want.copy()) is None


# ---- on the simulator ---------------------------------------------------------------------------------
def _report(r) -> str:
    return f"{r.reason}\nper test: {json.dumps(r.per_test, indent=1)}"


@pytest.mark.simulator_required
def test_npu_4x4(tmp_path):
    """Every test on one 4x4 build: CSR, all single ops and the CNN under ideal and random AXI timing,
    program errors and AXI faults with recovery."""
    require_tool("verilator")
    r = run_verification("4x4", tmp_path)
    assert r.passed, _report(r)
    assert r.tests == len(TESTS) and r.items > 40
    cov = r.coverage
    assert cov["groups"]["op"]["hit"] == cov["groups"]["op"]["total"], cov["missed"]
    assert cov["groups"]["timing"]["hit"] == 4 and cov["groups"]["csr"]["hit"] == cov["groups"]["csr"]["total"]
    assert json.loads((tmp_path / "verif_result.json").read_text())["passed"] is True
    assert (tmp_path / "npu_summary.json").is_file()


@pytest.mark.simulator_required
def test_npu_16x16_ci_tier(tmp_path):
    """The CI tier's 16x16 run (the issue's "single operations and one small network on 4x4 and 16x16"):
    every single op and the CNN under ideal and random AXI timing, on one build."""
    require_tool("verilator")
    r = run_verification("16x16", tmp_path, tests=("NpuOpsTest", "NpuCnnTest"))
    assert r.passed, _report(r)
    assert r.coverage["groups"]["op"]["hit"] == r.coverage["groups"]["op"]["total"], r.coverage["missed"]


@pytest.mark.slow
@pytest.mark.simulator_required
def test_npu_16x16(tmp_path):
    require_tool("verilator")
    r = run_verification("16x16", tmp_path, tests=("NpuOpsTest", "NpuCnnTest", "NpuErrorTest"))
    assert r.passed, _report(r)


@pytest.mark.slow
@pytest.mark.simulator_required
def test_memory_agent_against_the_dma(tmp_path):
    """The AXI4 memory agent (responder, timing modes, SLVERR/DECERR ranges, stall, reset) and its burst
    monitor against genesys_dma and the DMA reference model."""
    require_tool("verilator")
    from genesys.verif.agents.runner import run_selftest
    r = run_selftest("4x4", tmp_path)
    assert r.passed, r.reason


def _stub_rtl(out: Path) -> Path:
    render("4x4", out, top_block="dma")
    shutil.copy(REPO / "verif" / "harness" / "genesys_top_stub.sv", out / "genesys_top_stub.sv")
    m = json.loads((out / "manifest.json").read_text())
    m["files"].append("genesys_top_stub.sv")
    m["top"] = "genesys_top"
    (out / "manifest.json").write_text(json.dumps(m))
    return out


@pytest.mark.slow
@pytest.mark.simulator_required
def test_environment_against_the_stub_top(tmp_path):
    """The environment on the stand-in genesys_top (verif/harness/genesys_top_stub.sv: the register map and
    AXI ports, no NPU): the control-register checks pass except those that need a program to fail, which
    the environment must report."""
    require_tool("verilator")
    if not (REPO / "verif" / "harness" / "genesys_top_stub.sv").is_file():
        pytest.skip("no stub genesys_top")
    r = run_verification("4x4", tmp_path / "work", rtl_dir=_stub_rtl(tmp_path / "rtl"), test="NpuCsrTest")
    assert not r.passed and "irq_enable" in r.reason, r.reason
    sb = json.loads((tmp_path / "work" / "reports" / "NpuCsrTest.scoreboard.json").read_text())
    failed = {c["bin"] for c in sb["csr"] if not c["passed"]}
    assert failed == {"irq_enable", "w1c_error"}, sb["csr"]  # the stub copies words: no program error exists


MUTATIONS = {
    # ERR_PC of an engine error one instruction late: the program-error checks must name ERR_PC
    "err_pc_off_by_one": ("genesys_top.sv", "err_pc_q <= blk_first + 32'(cs == C_RUN_SA ? sa_err_pc : simd_err_pc);",
                          "err_pc_q <= blk_first + 32'(cs == C_RUN_SA ? sa_err_pc : simd_err_pc) + 1;",
                          "NpuErrorTest", "ERR_PC"),
    # the systolic-array engine ignores DATA_BASE: the relocated run reads below its image (DECERR there)
    "sa_ignores_data_base": ("genesys_sa_engine.sv", "assign cmd_addr = data_base_q + ADDR_W'(bdram_q[x_buf]);",
                             "assign cmd_addr = ADDR_W'(bdram_q[x_buf]);", "NpuOpsTest", "base 0x40000"),
    # fixed-point ADD subtracts: the DRAM comparison with the simulator must fail on the Add output
    "simd_add_subtracts": ("genesys_simd_fu_lane.sv",
                           "genesys_pkg::ALU_ADD: begin x = {{32{al[65]}}, al} + {{32{bl[65]}}, bl};",
                           "genesys_pkg::ALU_ADD: begin x = {{32{al[65]}}, al} - {{32{bl[65]}}, bl};",
                           "NpuOpsTest", "DRAM differs"),
}


def _mutate(tmp_path: Path, file: str, good: str, bad: str) -> Path:
    rtl = tmp_path / "rtl"
    render("4x4", rtl, top_block="npu")
    src = rtl / file
    text = src.read_text()
    assert good in text, f"mutation anchor not found in {file}: {good!r}"
    src.write_text(text.replace(good, bad, 1))
    return rtl


@pytest.mark.slow
@pytest.mark.simulator_required
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutation_is_caught(tmp_path, mutation):
    """Break the rendered RTL once: the environment must fail, in the scoreboard's own words. (Verilator:
    genesys_top runs at a few cycles per second on Icarus under cocotb.)"""
    require_tool("verilator")
    file, good, bad, test, words = MUTATIONS[mutation]
    rtl = _mutate(tmp_path, file, good, bad)
    ops = ("add",) if mutation == "simd_add_subtracts" else ("gemm",)
    r = run_verification("4x4", tmp_path / "work", rtl_dir=rtl, test=test, ops=ops)
    assert not r.passed and words in r.reason, r.reason


def test_arch_of_the_prepared_cases_matches(prepared):
    arch = load_arch("4x4")
    assert load_index(prepared)["AXI_ADDR_WIDTH"] == arch.AXI_ADDR_WIDTH


def test_the_sim_flow_runs_the_npu_environment(tmp_path, monkeypatch):
    """`genesys flow sim --block npu` calls verif/npu's run_verification and names the result sim_npu."""
    import sys
    import types

    from genesys.flows import runner

    calls = []

    def fake(arch, build_dir, simulator="verilator", seed=1, items=None, rtl_dir=None, test=None):
        calls.append((arch.name, Path(build_dir), simulator, seed))
        return types.SimpleNamespace(passed=True, reason="", tests=5, failures=0, items=75, coverage={"percent": 100.0},
                                     sim_cycles=1000, wall_seconds=1.0, results_xml="", log="")

    module = types.ModuleType("genesys.verif.npu.runner")
    module.run_verification = fake
    monkeypatch.setitem(sys.modules, "genesys.verif.npu.runner", module)
    monkeypatch.setattr(runner, "find_tool", lambda name: types.SimpleNamespace(found=True, version="5.0", path=name))
    res = runner.run_flow("sim", "4x4", tmp_path, block="npu", seed=3)
    assert (res.flow, res.status, res.metrics["items"]) == ("sim_npu", "passed", 75)
    assert calls == [("4x4", tmp_path / "4x4" / "sim_npu" / "work", "verilator", 3)]
    with pytest.raises(Exception, match="no pyuvm verification for block"):
        runner.run_flow("sim", "4x4", tmp_path, block="stream")
