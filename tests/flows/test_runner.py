"""run_flow / regress plumbing with stand-in tools: skipped, failed, passed, interrupted, sim mapping.

The real tools run in test_fusesoc_flows.py; here a fake `fusesoc` (a small script) prints what a real
run prints, so every branch is covered on any machine.
"""

from __future__ import annotations

import json
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from genesys import cli as genesys_cli
from genesys.arch import load_arch, replace
from genesys.errors import GenesysError
from genesys.flows import runner
from genesys.flows.result import FlowResult
from genesys.tools import ToolInfo, find_tool, missing_reason

DATA = Path(__file__).parent / "data"

FAKE_FUSESOC = textwrap.dedent('''\
    #!{python}
    # Stand-in for fusesoc: echoes its inputs, then behaves as FAKE_FUSESOC_MODE says.
    import os, sys, pathlib
    args = sys.argv[1:]
    work = pathlib.Path(args[args.index("--work-root") + 1])
    work.mkdir(parents=True, exist_ok=True)
    print("INFO: Preparing", args[-1], "target", args[args.index("--target") + 1])
    print("GENESYS_PRESET=" + os.environ.get("GENESYS_PRESET", "<unset>"))
    mode = os.environ.get("FAKE_FUSESOC_MODE", "pass")
    if mode == "lint_fail":
        print(open({lint_log!r}).read(), end="")
        sys.exit(1)
    if mode == "synth_pass":
        (work / "stat.txt").write_text(open({stat!r}).read())
        (work / "genesys_npu_systolic_array_0.1.0.v").write_text("module m; endmodule\\n")
        print("Warning: Replacing memory \\\\bank with list of registers.")
    if mode == "crash":
        raise RuntimeError("generator exploded")
    sys.exit(0)
''')


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    """fusesoc is the fake script; verilator and yosys are 'found' (never run by the fake)."""
    script = tmp_path / "bin" / "fusesoc"
    script.parent.mkdir()
    script.write_text(FAKE_FUSESOC.format(python=sys.executable, lint_log=str(DATA / "fusesoc_lint_failed.log"),
                                          stat=str(DATA / "yosys_stat_4x4.txt")))
    script.chmod(0o755)
    tools = {"fusesoc": ToolInfo("fusesoc", str(script), "2.4.7", ""),
             "verilator": ToolInfo("verilator", "/fake/verilator", "5.48.0", ""),
             "icarus": ToolInfo("icarus", "/fake/iverilog", "11.0", ""),
             "yosys": ToolInfo("yosys", "/fake/yosys", "0.23", "")}
    monkeypatch.setattr(runner, "find_tool", lambda name: tools[name])
    return tools


def _missing(monkeypatch, *names):
    def fake(name):
        return ToolInfo(name, None, None, "hint") if name in names else find_tool(name)
    monkeypatch.setattr(runner, "find_tool", fake)


@pytest.mark.parametrize("flow, tool", [("lint", "verilator"), ("synth", "yosys"), ("lint", "fusesoc")])
def test_missing_tool_gives_skipped_with_the_reason(tmp_path, monkeypatch, flow, tool):
    _missing(monkeypatch, tool)
    res = runner.run_flow(flow, "4x4", tmp_path)
    assert res.status == "skipped"
    assert res.reason == missing_reason(tool)
    assert FlowResult.read(tmp_path / "4x4" / flow / "result.json") == res


def test_missing_simulator_skips_sim_without_importing_the_env(tmp_path, monkeypatch):
    _missing(monkeypatch, "icarus")
    monkeypatch.setitem(sys.modules, "genesys.verif.systolic_array.runner", None)  # import would fail
    res = runner.run_flow("sim", "4x4", tmp_path, simulator="icarus")
    assert (res.flow, res.status, res.reason) == ("sim_icarus", "skipped", missing_reason("icarus"))


def test_skipped_is_not_a_failure_for_the_cli(tmp_path, monkeypatch, capsys):
    _missing(monkeypatch, "yosys")
    assert genesys_cli.main(["flow", "synth", "--config", "4x4", "--build-dir", str(tmp_path)]) == 0
    assert "4x4 synth: SKIPPED" in capsys.readouterr().out


def test_failing_lint_quotes_the_first_error_and_counts_warnings(tmp_path, monkeypatch, fake_tools):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "lint_fail")
    res = runner.run_flow("lint", "8x4", tmp_path)
    assert res.status == "failed"
    assert res.reason.startswith("%Warning-UNUSEDPARAM: src/") and res.reason.endswith("'ARRAY_N'")
    assert res.warnings == 2 and res.metrics["warnings_by_code"] == {"UNUSEDPARAM": 2}
    assert (res.tool, res.tool_version) == ("verilator", "5.48.0")
    log = (tmp_path / res.log).read_text()
    assert res.log == "8x4/lint/lint.log"
    assert "GENESYS_PRESET=8x4" in log and "target lint" in log and "%Error: Exiting due to" in log
    assert res.command[0] == fake_tools["fusesoc"].path and "--cores-root" in res.command
    assert res.command[-1] == "genesys:npu:systolic_array"  # the VLNV, read from the core file
    assert (tmp_path / "FUSESOC_IGNORE").is_file()


def test_failing_flow_makes_the_cli_exit_non_zero(tmp_path, monkeypatch, fake_tools, capsys):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "lint_fail")
    assert genesys_cli.main(["flow", "lint", "--build-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "4x4 lint: FAILED" in out and "%Warning-UNUSEDPARAM" in out


def test_synth_metrics_come_from_the_stat_report(tmp_path, monkeypatch, fake_tools):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "synth_pass")
    res = runner.run_flow("synth", "4x4", tmp_path)
    assert res.status == "passed", res.reason
    assert res.metrics["cells"] == 51423 and res.metrics["cells_by_type"]["$_DFFE_PP_"] == 16384
    assert res.warnings == 1 and res.metrics["yosys_warnings"] == ["Replacing memory \\bank with list of registers."]
    assert res.metrics["netlist"] == "4x4/synth/work/fusesoc/genesys_npu_systolic_array_0.1.0.v"
    assert res.metrics["peak_rss_mb"] > 0


def test_synth_without_a_stat_report_fails(tmp_path, monkeypatch, fake_tools):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "pass")
    res = runner.run_flow("synth", "4x4", tmp_path)
    assert res.status == "failed" and "no cell statistics" in res.reason


def test_a_crashing_tool_fails_with_its_exception_line(tmp_path, monkeypatch, fake_tools):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "crash")
    res = runner.run_flow("lint", "4x4", tmp_path)
    assert res.status == "failed" and res.reason == "RuntimeError: generator exploded"


def test_a_custom_config_reaches_the_generator_as_a_snapshot(tmp_path, monkeypatch, fake_tools):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "pass")
    arch = replace(load_arch("4x4"), CLOCK_MHZ=123)
    res = runner.run_flow("lint", arch, tmp_path)
    snapshot = tmp_path / "4x4" / "lint" / "4x4.yaml"
    assert f"GENESYS_PRESET={snapshot}" in (tmp_path / res.log).read_text()
    assert load_arch(snapshot).primaries() == arch.primaries()


def test_interrupt_writes_the_result_and_keeps_other_flows(tmp_path, monkeypatch, fake_tools):
    FlowResult(preset="4x4", flow="synth", status="passed", metrics={"cells": 7}).write(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(runner, "run_logged", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_flow("lint", "4x4", tmp_path)
    lint = FlowResult.read(tmp_path / "4x4" / "lint" / "result.json")
    assert lint.status == "failed" and "interrupted" in lint.reason
    assert FlowResult.read(tmp_path / "4x4" / "synth" / "result.json").metrics == {"cells": 7}


def test_an_internal_error_is_recorded_not_raised(tmp_path, monkeypatch, fake_tools):
    def broken(*args, **kwargs):
        raise ValueError("parser bug")
    monkeypatch.setattr(runner, "_finish_lint", broken)
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "pass")
    res = runner.run_flow("lint", "4x4", tmp_path)
    assert res.status == "failed" and res.reason == "internal error: ValueError: parser bug"
    assert "Traceback" in (tmp_path / res.log).read_text()


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(GenesysError, match="unknown flow"):
        runner.run_flow("place", "4x4", tmp_path)
    with pytest.raises(GenesysError, match="takes no option 'simulator'"):
        runner.run_flow("lint", "4x4", tmp_path, simulator="icarus")
    with pytest.raises(GenesysError, match="unknown simulator"):
        runner.run_flow("sim", "4x4", tmp_path, simulator="xcelium")


# ---- sim: the pyuvm runner's result mapped into a FlowResult ---------------------------------------------
@dataclass
class FakeVerif:
    passed: bool
    simulator: str
    tests: int = 2
    failures: int = 0
    items: int = 64
    coverage: dict = field(default_factory=lambda: {"percent": 100.0})
    sim_cycles: int = 4321
    wall_seconds: float = 3.5
    results_xml: str = ""
    log: str = ""
    reason: str = ""


@pytest.fixture
def fake_verif(monkeypatch, fake_tools):
    calls = []

    def run_verification(arch, build_dir, simulator="verilator", seed=1, items=None, rtl_dir=None, test=None):
        calls.append({"arch": arch.name, "build_dir": Path(build_dir), "simulator": simulator, "seed": seed,
                      "items": items})
        Path(build_dir).mkdir(parents=True, exist_ok=True)
        log = Path(build_dir) / "sim.log"
        log.write_text("cocotb log\n")
        xml = Path(build_dir) / "results.xml"
        xml.write_text("<testsuites/>")
        ok = seed != 13
        return FakeVerif(passed=ok, simulator=simulator, failures=0 if ok else 1, results_xml=str(xml),
                         log=str(log), reason="" if ok else "scoreboard: column 2 mismatch")

    for name in ("genesys.verif.systolic_array.runner", "genesys.verif.npu.runner"):
        module = types.ModuleType(name)
        module.run_verification = run_verification
        monkeypatch.setitem(sys.modules, name, module)
    return calls


@pytest.fixture
def fake_programs(monkeypatch):
    """The rtl flow's programs, without compiling or running anything."""
    from genesys.flows import programs

    calls = []

    def run_programs(arch, names, seed=1, latency=20, progress=True, on_result=None):
        calls.append((arch.name, list(names), seed))
        out = [programs.ProgramResult(n, True, sim_cycles=1000, rtl_cycles=1500, diff=0.5, cycles_per_second=1e5,
                                      random_timing_exact=True) for n in names]
        for r in out:
            if on_result:
                on_result(r)
        return out

    monkeypatch.setattr(programs, "run_programs", run_programs)
    return calls


def test_sim_flow_maps_the_verification_result(tmp_path, fake_verif):
    res = runner.run_flow("sim", "4x4", tmp_path, simulator="icarus", seed=5, items=10)
    assert fake_verif == [{"arch": "4x4", "build_dir": tmp_path / "4x4" / "sim_icarus" / "work",
                           "simulator": "icarus", "seed": 5, "items": 10}]
    assert (res.flow, res.status, res.tool, res.tool_version) == ("sim_icarus", "passed", "icarus", "11.0")
    assert res.metrics["tests"] == 2 and res.metrics["coverage"] == {"percent": 100.0}
    assert res.metrics["sim_cycles"] == 4321 and res.metrics["seed"] == 5
    assert res.log == "4x4/sim_icarus/work/sim.log"
    assert res.metrics["results_xml"] == "4x4/sim_icarus/work/results.xml"


def test_failed_verification_fails_the_flow_with_its_reason(tmp_path, fake_verif):
    res = runner.run_flow("sim", "4x4", tmp_path, seed=13)
    assert (res.flow, res.status, res.reason) == ("sim", "failed", "scoreboard: column 2 mismatch")


# ---- regress ----------------------------------------------------------------------------------------------
def test_regress_runs_presets_by_flows_in_order_and_summarises(tmp_path, monkeypatch, fake_tools, fake_verif,
                                                               fake_programs, capsys):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "synth_pass")  # lint passes too: the fake prints no diagnostics
    code = genesys_cli.main(["regress", "--config", "8x4", "--config", "4x4", "--build-dir", str(tmp_path),
                             "--seed", "1", "--seed", "2", "--flow", "lint", "--flow", "sim", "--flow", "rtl",
                             "--flow", "synth", "--jobs", "1"])  # one process: the fakes record calls
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    flows = ["lint", "rtl", "rtl_s2", "sim", "sim_npu", "synth"]
    got = [(r["preset"], r["flow"]) for r in summary["results"]]
    assert sorted(got) == sorted([(p, f) for p in ("4x4", "8x4") for f in flows])
    assert summary["totals"]["passed"] == 12
    assert fake_programs == [("8x4", runner_programs_ci(), 1), ("8x4", runner_programs_ci(), 2),
                             ("4x4", runner_programs_ci(), 1), ("4x4", runner_programs_ci(), 2)]
    assert "| 8x4 | synth | passed |" in out and (tmp_path / "summary.html").is_file()
    assert "5/5 programs bit-exact" in out and "+50% vs timing model" in out
    assert (tmp_path / "4x4" / "rtl_s2" / "result.json").is_file() and (tmp_path / "junit.xml").is_file()


def test_regress_runs_every_flow_by_default_including_the_implementation_flows():
    from genesys.flows.runner import FLOWS, IMPL_FLOW_NAMES, regress_jobs

    jobs = regress_jobs([load_arch("4x4")], FLOWS)
    assert {f for _, f, _ in jobs} == set(FLOWS) and set(IMPL_FLOW_NAMES) <= {f for _, f, _ in jobs}
    assert all(o["block"] == "npu" for _, f, o in jobs if f in IMPL_FLOW_NAMES)


def runner_programs_ci():
    from genesys.flows.programs import expand

    return expand("ci")


def test_regress_exits_non_zero_when_a_flow_fails(tmp_path, monkeypatch, fake_tools, capsys):
    monkeypatch.setenv("FAKE_FUSESOC_MODE", "lint_fail")
    code = genesys_cli.main(["regress", "--flow", "lint", "--build-dir", str(tmp_path)])
    assert code == 1
    assert "| 4x4 | lint | **failed** |" in capsys.readouterr().out


def test_regress_validates_every_config_before_running(tmp_path, fake_tools):
    with pytest.raises(GenesysError, match="unknown preset"):
        runner.regress(["4x4", "5x5"], ["lint"], tmp_path, progress=False)
    assert not (tmp_path / "4x4").exists()
