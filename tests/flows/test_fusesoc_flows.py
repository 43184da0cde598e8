"""The real flows on the 4x4 preset through FuseSoC/Edalize: lint (Verilator), synth (Yosys), and the
FuseSoC `sim` target running the smoke testbench. Each uses its own temporary build dir."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from genesys.arch import load_arch
from genesys.flows import parsers, runner
from genesys.render import load_blocks, render
from genesys.tools import find_tool, missing_reason, tool_env

TB = runner.REPO / "verif" / "smoke" / "tb_systolic_array.sv"


def _need(*tools: str) -> None:
    for tool in tools:
        if not find_tool(tool).found:
            pytest.skip(missing_reason(tool))


def _fusesoc(target: str, preset: str, work: Path) -> subprocess.CompletedProcess:
    """`fusesoc run` as a user would type it, isolated from ~/.config and ~/.cache."""
    conf = work.parent / "fusesoc.conf"
    conf.write_text(f"[main]\ncache_root = {work.parent / 'cache'}\n")
    env = tool_env() | {"GENESYS_PRESET": preset}
    cmd = [find_tool("fusesoc").path, "--config", str(conf), "--cores-root", str(runner.CORES_DIR), "run",
           "--no-export", "--target", target, "--work-root", str(work), runner.core_vlnv()]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=work.parent)


@pytest.mark.simulator_required
def test_lint_4x4_passes_with_no_warnings(tmp_path):
    _need("fusesoc", "verilator")
    res = runner.run_flow("lint", "4x4", tmp_path)
    log = (tmp_path / res.log).read_text()
    assert res.status == "passed", f"{res.reason}\n{log[-3000:]}"
    assert "V e r i l a t i o n   R e p o r t" in log  # Verilator itself ran
    assert "--lint-only" in (tmp_path / "4x4/lint/work/fusesoc/genesys_npu_systolic_array_0.1.0.vc").read_text()
    assert res.warnings == 0 and res.metrics["diagnostics"] == []
    assert res.metrics["top"] == load_blocks()["systolic_array"].top
    assert res.metrics["rtl_files"] == len(render("4x4", tmp_path / "rtl")["files"])
    assert res.tool == "verilator" and res.tool_version == find_tool("verilator").version
    assert json.loads((tmp_path / "4x4/lint/result.json").read_text())["status"] == "passed"


@pytest.mark.synth_required
def test_synth_4x4_reports_cells_from_yosys(tmp_path):
    _need("fusesoc", "yosys")
    res = runner.run_flow("synth", "4x4", tmp_path)
    log = (tmp_path / res.log).read_text()
    assert res.status == "passed", f"{res.reason}\n{log[-3000:]}"
    assert res.metrics["cells"] > 0
    assert sum(res.metrics["cells_by_type"].values()) == res.metrics["cells"]
    # The weight banks (one per PE) stay memories (cores/genesys_synth_generic.tcl), reported with their bits;
    # the pipeline registers are flip-flops.
    wbuf = load_arch("4x4").buffers["WBUF"]
    assert res.metrics["memories"] == wbuf.banks
    assert res.metrics["memory_bits"] == wbuf.banks * wbuf.depth * wbuf.bank_width
    flops = sum(n for t, n in res.metrics["cells_by_type"].items() if "DFF" in t)
    assert 0 < flops < res.metrics["memory_bits"]
    # The log and the tee'd stat file hold the same report.
    stat = parsers.parse_yosys_stat(log)
    assert stat["cells"] == res.metrics["cells"] and stat["cells_by_type"] == res.metrics["cells_by_type"]
    netlist = tmp_path / res.metrics["netlist"]
    assert re.search(r"^module genesys_systolic_array\(", netlist.read_text(), re.M)
    assert res.metrics["peak_rss_mb"] > 10


@pytest.mark.simulator_required
def test_fusesoc_sim_target_runs_the_smoke_testbench_on_verilator(tmp_path):
    _need("fusesoc", "verilator")
    work = tmp_path / "sim"
    res = _fusesoc("sim", "4x4", work)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert re.search(r"^PASS: 27 vectors x 4 columns checked on a 4x4 array", out, re.M), out[-3000:]
    assert (work / "Vtb_systolic_array").is_file()


@pytest.mark.simulator_required
def test_fusesoc_sim_icarus_target_on_a_non_square_preset(tmp_path):
    _need("fusesoc", "icarus")
    res = _fusesoc("sim_icarus", "8x4", tmp_path / "sim_icarus")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "PASS: 39 vectors x 4 columns checked on a 8x4 array" in out


@pytest.mark.simulator_required
def test_smoke_testbench_catches_a_broken_array(tmp_path):
    """Subtract instead of add in the PE: the testbench must report FAIL and exit non-zero."""
    _need("icarus")
    manifest = render("4x4", tmp_path / "rtl")
    pe = tmp_path / "rtl" / "genesys_pe.sv"
    text = pe.read_text()
    assert "psum_in + " in text
    pe.write_text(text.replace("psum_in + ", "psum_in - "))
    sources = [str(tmp_path / "rtl" / f) for f in manifest["files"] if f.endswith(".sv")] + [str(TB)]
    iverilog = find_tool("icarus").path
    subprocess.run([iverilog, "-g2012", "-s", TB.stem, "-o", str(tmp_path / "tb.vvp"), *sources], check=True,
                   timeout=120)
    vvp = shutil.which("vvp", path=os.path.dirname(iverilog)) or "vvp"
    res = subprocess.run([vvp, "-n", str(tmp_path / "tb.vvp")], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert "FAIL: vector 1 (input cycle 1) column 0" in res.stdout
    assert "PASS" not in res.stdout


def test_a_generator_error_fails_the_fusesoc_run_with_its_message(tmp_path):
    _need("fusesoc")
    res = _fusesoc("lint", "5x5", tmp_path / "lint")
    assert res.returncode != 0
    assert parsers.first_error(res.stdout + res.stderr).startswith("ERROR: genesys generator: unknown preset '5x5'")


@pytest.mark.simulator_required
def test_regress_lint_writes_the_summary(tmp_path, cli):
    _need("fusesoc", "verilator")
    res = cli("regress", "--config", "4x4", "--flow", "lint", "--build-dir", str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "| 4x4 | lint | passed |" in res.stdout
    assert json.loads((tmp_path / "summary.json").read_text())["totals"]["passed"] == 1
    assert (tmp_path / "FUSESOC_IGNORE").is_file() and (tmp_path / "summary.html").is_file()
