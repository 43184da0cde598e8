"""The rtl flow: compiled programs on genesys_top in the fast harness, bit for bit against the simulator."""

from __future__ import annotations

import pytest

from genesys.errors import GenesysError
from genesys.flows import programs, runner
from genesys.tools import find_tool


def test_program_sets_expand_and_unknown_programs_are_named():
    assert programs.expand("ci")[-1] == "cnn" and "op:conv" in programs.expand("ci")
    assert programs.expand("op:add, cnn") == ["op:add", "cnn"]
    assert "resnet18@32" in programs.expand("full")
    with pytest.raises(GenesysError, match="unknown program 'lenet'"):
        programs._model("lenet", None, 0)


@pytest.mark.simulator_required
def test_rtl_flow_runs_a_program_on_the_harness(tmp_path):
    if not find_tool("verilator").found:
        pytest.skip("verilator not installed")
    res = runner.run_flow("rtl", "4x4", tmp_path, programs="op:add,op:nope", seed=2)
    assert res.flow == "rtl_s2" and res.status == "failed"
    good, bad = res.metrics["programs"]
    assert good["name"] == "op:add" and good["passed"] and good["random_timing_exact"]
    assert good["rtl_cycles"] > 0 and good["sim_cycles"] > 0 and good["cycles_per_second"] > 0
    assert [L["name"] for L in good["layers"]] and all(L["rtl_cycles"] > 0 for L in good["layers"])
    assert not bad["passed"] and "unknown single op 'nope'" in bad["reason"] and "op:nope" in res.reason
    assert res.metrics["programs_passed"] == 1 and res.metrics["programs_total"] == 2
    assert "op:add: PASSED" in (tmp_path / res.log).read_text()
