"""Orchestration of the implementation flows with a stand-in flow module: the cache key, parallel jobs, resuming
an interrupted regression, and the summary of their results."""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

import pytest

from genesys import cli as genesys_cli
from genesys.flows import impl, runner
from genesys.flows.result import FlowResult

CALLS = "calls.txt"


def _fake_module(tmp_path: Path, sleep: float = 0.0, interrupt_on: str | None = None) -> types.ModuleType:
    """A flow module like genesys.flows.asic whose run() records its call, sleeps, and reports an area."""
    mod = types.ModuleType("genesys_test_fake_flow")
    mod.__file__ = __file__
    mod.TOOL = "faketool"
    mod.OPTIONS = {"clock_mhz"}
    mod.tool_versions = lambda opts: {"faketool": "1.0"}
    mod.input_files = lambda opts: []

    def run(ctx: impl.FlowContext) -> None:
        with (tmp_path / CALLS).open("a") as f:
            f.write(f"{ctx.arch.name} {ctx.opts.get('clock_mhz')}\n")
        if interrupt_on == ctx.arch.name:
            raise KeyboardInterrupt
        time.sleep(sleep)
        assert ctx.rtl_files() and all(p.is_file() for p in ctx.rtl_files())  # the runner rendered the RTL
        ctx.result.status, ctx.result.area_um2 = "passed", 1000.0 * ctx.arch.ARRAY_N
        ctx.result.tool_version = "1.0"
    mod.run = run
    return mod


@pytest.fixture
def fake_flow(tmp_path, monkeypatch):
    def install(**kw):
        mod = _fake_module(tmp_path, **kw)
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
        monkeypatch.setitem(impl.IMPL_FLOWS, "asic", mod.__name__)
        return mod
    return install


def _calls(tmp_path: Path) -> list[str]:
    path = tmp_path / CALLS
    return path.read_text().splitlines() if path.is_file() else []


def test_cache_key_follows_rtl_options_and_tool_version(fake_flow):
    from genesys.arch import load_arch

    fake_flow()
    a4, a8 = load_arch("4x4"), load_arch("8x4")
    base = impl.cache_key("asic", a4, "npu", {"clock_mhz": 200}, {"faketool": "1.0"})
    assert base == impl.cache_key("asic", a4, "npu", {"clock_mhz": 200}, {"faketool": "1.0"})
    assert base != impl.cache_key("asic", a8, "npu", {"clock_mhz": 200}, {"faketool": "1.0"})
    assert base != impl.cache_key("asic", a4, "npu", {"clock_mhz": 250}, {"faketool": "1.0"})
    assert base != impl.cache_key("asic", a4, "npu", {"clock_mhz": 200}, {"faketool": "1.1"})
    assert base != impl.cache_key("asic", a4, "dma", {"clock_mhz": 200}, {"faketool": "1.0"})


def test_unchanged_rerun_reuses_the_result(tmp_path, fake_flow):
    fake_flow()
    first = runner.run_flow("asic", "4x4", tmp_path / "b", clock_mhz=200)
    again = runner.run_flow("asic", "4x4", tmp_path / "b", clock_mhz=200)
    assert first.status == again.status == "passed" and again.metrics.get("cached")
    assert _calls(tmp_path) == ["4x4 200"]
    runner.run_flow("asic", "4x4", tmp_path / "b", clock_mhz=250)      # other options: runs
    runner.run_flow("asic", "4x4", tmp_path / "b", clock_mhz=250, force=True)  # forced: runs
    assert _calls(tmp_path) == ["4x4 200", "4x4 250", "4x4 250"]
    stored = FlowResult.read(tmp_path / "b" / "4x4" / "asic" / "result.json")
    assert stored.cache_key and "cached" not in stored.metrics  # the file keeps the original run


def test_a_failed_result_is_never_reused(tmp_path, fake_flow):
    mod = fake_flow()
    good_run = mod.run

    def failing(ctx):
        good_run(ctx)
        ctx.result.status, ctx.result.reason = "failed", "timing tool crashed"
    mod.run = failing
    assert runner.run_flow("asic", "4x4", tmp_path / "b").status == "failed"
    mod.run = good_run
    assert runner.run_flow("asic", "4x4", tmp_path / "b").status == "passed"
    assert len(_calls(tmp_path)) == 2


def test_parallel_jobs_run_side_by_side(tmp_path, fake_flow):
    fake_flow(sleep=2.0)
    t0 = time.monotonic()
    results = runner.regress(["4x4", "8x4"], ["asic"], tmp_path / "b", progress=False, jobs=2,
                             impl_opts={"asic": {"force": True}})
    wall = time.monotonic() - t0
    assert [(r.preset, r.status) for r in results] == [("4x4", "passed"), ("8x4", "passed")]
    assert wall < 2 * 2.0 + 1.5, f"two 2 s jobs took {wall:.1f} s with 2 workers"
    assert sorted(_calls(tmp_path)) == ["4x4 None", "8x4 None"]


def test_interrupted_regression_resumes_without_redoing_finished_jobs(tmp_path, fake_flow):
    fake_flow(interrupt_on="8x4")
    b = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        runner.regress(["4x4", "8x4"], ["asic"], b, progress=False, jobs=1, impl_opts={"asic": {"force": True}})
    assert FlowResult.read(b / "4x4" / "asic" / "result.json").status == "passed"
    interrupted = FlowResult.read(b / "8x4" / "asic" / "result.json")
    assert interrupted.status == "failed" and "interrupted" in interrupted.reason
    assert json.loads((b / runner.REGRESS_STATE).read_text())["jobs"] == ["4x4 asic", "8x4 asic"]

    fake_flow()  # the cause of the interruption is gone
    results = runner.regress(["4x4", "8x4"], ["asic"], b, progress=False, jobs=1,
                             impl_opts={"asic": {"force": True}}, resume=True)
    assert [r.status for r in results] == ["passed", "passed"]
    assert results[0].metrics.get("resumed") and not results[1].metrics.get("resumed")
    assert _calls(tmp_path) == ["4x4 None", "8x4 None", "8x4 None"]  # 4x4 not redone, even forced
    assert json.loads((b / runner.REGRESS_STATE).read_text())["finished"]

    # a regression that ran to its end leaves nothing to resume: --resume then runs everything
    results = runner.regress(["4x4", "8x4"], ["asic"], b, progress=False, jobs=1,
                             impl_opts={"asic": {"force": True}}, resume=True)
    assert not any(r.metrics.get("resumed") for r in results) and len(_calls(tmp_path)) == 5


def test_resume_runs_a_failed_job_again(tmp_path, fake_flow):
    mod = fake_flow()
    good_run = mod.run

    def failing(ctx):
        good_run(ctx)
        if ctx.arch.name == "8x4":
            ctx.result.status, ctx.result.reason = "failed", "tool crashed"
    mod.run = failing
    b = tmp_path / "b"
    runner.regress(["4x4", "8x4"], ["asic"], b, progress=False, jobs=1)
    state = json.loads((b / runner.REGRESS_STATE).read_text())
    (b / runner.REGRESS_STATE).write_text(json.dumps({**state, "finished": False}))  # as if interrupted after
    mod.run = good_run
    results = runner.regress(["4x4", "8x4"], ["asic"], b, progress=False, jobs=1, resume=True)
    assert [(r.status, bool(r.metrics.get("resumed"))) for r in results] == [("passed", True), ("passed", False)]


def test_regress_command_runs_impl_flows_and_writes_the_summary(tmp_path, fake_flow, capsys):
    fake_flow()
    code = genesys_cli.main(["regress", "--flow", "asic", "--config", "4x4", "--config", "8x4", "--clock-mhz", "150",
                             "--jobs", "2", "--build-dir", str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert code == 0 and "4x4 asic: PASSED" in out and "8x4 asic: PASSED" in out
    assert sorted(_calls(tmp_path)) == ["4x4 150.0", "8x4 150.0"]
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert "Implementation" in summary and "4x4" in summary


def test_regress_refuses_an_option_no_chosen_flow_takes(tmp_path, capsys):
    code = genesys_cli.main(["regress", "--flow", "lint", "--pdk", "sky130A", "--build-dir", str(tmp_path)])
    assert code != 0 and "--pdk applies to none of the flows run (lint)" in capsys.readouterr().err
