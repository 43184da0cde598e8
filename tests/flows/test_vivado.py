"""The vivado flow: the Vivado project written through Edalize (project Tcl, clock constraint, out-of-context
setting, build script), the part and clock options, the Yosys synth_xilinx estimate when Vivado is absent (a real
run), a run through a FAKE `vivado` that writes report fixtures, and the report parsers.

Vivado cannot be installed here. The report fixtures (tests/flows/data/vivado_*.rpt) are written in the layout of
Vivado 2023.x `report_utilization` (a 7-series and an UltraScale+ device: "Slice"/"CLB" rows, the Prohibited column,
RAMB36/RAMB18 halves of a Block RAM tile) and `report_timing_summary` (Design Timing Summary, Clock Summary, Intra
Clock Table, Max Delay Paths), copied from real reports; their figures are made up for genesys designs (internally
consistent: utilization percentages, path delays and slack add up), not the output of a real run.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from genesys import cli as genesys_cli
from genesys.arch import load_arch
from genesys.errors import GenesysError
from genesys.flows import fpga_reports as R
from genesys.flows import vivado
from genesys.flows.result import FlowResult
from genesys.flows.runner import run_flow
from genesys.tools import ToolInfo, find_tool, missing_reason

DATA = Path(__file__).parent / "data"
UTIL_7, UTIL_US = DATA / "vivado_utilization_7series.rpt", DATA / "vivado_utilization_usplus.rpt"
TIMING_7, TIMING_US = DATA / "vivado_timing_summary_7series.rpt", DATA / "vivado_timing_summary_usplus.rpt"
TOP = "genesys_systolic_array"
# the `stat -tech xilinx` cell counts of synth_xilinx -family xc7 on the 4x4 systolic array (Yosys 0.23)
SA_4X4_XC7_CELLS = {"DSP48E1": 16, "FDRE": 489, "INV": 14, "LUT2": 1, "LUT5": 32, "LUT6": 128, "RAM64M": 96,
                    "SRL16E": 96}


def _no_vivado(mp: pytest.MonkeyPatch) -> None:
    """The flow's view of the tools with Vivado absent (whatever is installed here)."""
    real = vivado.find_tool
    mp.setattr(vivado, "find_tool", lambda name: ToolInfo(name, None, None, "") if name == "vivado" else real(name))


@pytest.fixture
def no_vivado(monkeypatch):
    _no_vivado(monkeypatch)


@pytest.fixture
def project_only(monkeypatch, no_vivado):
    """The project is written, the Yosys estimate is not run (it has its own test): records the part it gets."""
    seen = {}

    def stub(ctx, part):
        seen.update(ctx=ctx, part=part)
        ctx.result.status, ctx.result.reason = "skipped", "estimate stubbed out by the test"
    monkeypatch.setattr(vivado, "_estimate", stub)
    return seen


def project_dir(build: Path, preset: str = "4x4") -> Path:
    return build / preset / "vivado" / "project"


# ---- the estimate run (real Yosys; once for the module) -----------------------------------------------------------
@pytest.fixture(scope="module")
def estimate_run(tmp_path_factory):
    """vivado on the 4x4 systolic array at 150 MHz without Vivado: the project plus the synth_xilinx estimate, then
    the same again (served from the cache)."""
    if not find_tool("yosys").found:
        pytest.skip("needs yosys")
    build = tmp_path_factory.mktemp("vivado_estimate")
    with pytest.MonkeyPatch.context() as mp:
        _no_vivado(mp)
        t0 = time.monotonic()
        first = run_flow("vivado", "4x4", build, block="systolic_array", clock_mhz=150)
        seconds = time.monotonic() - t0
        t0 = time.monotonic()
        again = run_flow("vivado", "4x4", build, block="systolic_array", clock_mhz=150)
        again_seconds = time.monotonic() - t0
    return SimpleNamespace(build=build, res=first, seconds=seconds, again=again, again_seconds=again_seconds)


@pytest.mark.synth_required
def test_project_tcl_creates_the_project_for_the_part_and_reads_every_rtl_file(estimate_run):
    build, res = estimate_run.build, estimate_run.res
    proj = project_dir(build)
    manifest = json.loads((build / "4x4" / "vivado" / "rtl" / "manifest.json").read_text())
    assert manifest["top"] == TOP
    tcl = (proj / f"{TOP}.tcl").read_text()
    part = vivado.choose_part(vivado.estimate_needs(load_arch("4x4"), load_arch("4x4").derived())).name
    assert part == res.metrics["part"] == "xc7a100tcsg324-1"
    assert f"create_project {TOP} -force\n" in tcl
    assert f"set_property part {part} [current_project]\n" in tcl
    reads = re.findall(r"^read_verilog -sv \{(.+)\}$", tcl, re.MULTILINE)
    assert reads == [f"rtl/{f}" for f in manifest["files"]]  # every file, in compile order
    for f in manifest["files"]:  # the project carries its own copy of the RTL
        assert (proj / "rtl" / f).read_bytes() == (build / "4x4" / "vivado" / "rtl" / f).read_bytes()
    assert f"read_xdc {{{TOP}.xdc}}\n" in tcl and "source {genesys_ooc.tcl}\n" in tcl
    assert f"set_property top {TOP} [current_fileset]\n" in tcl
    assert tcl.index("create_project") < tcl.index("read_verilog") < tcl.index("source {genesys_ooc.tcl}")
    m = res.metrics
    assert m["vivado_project"] == "4x4/vivado/project" and m["out_of_context"] and m["family"] == "xc7"
    assert m["part_choice"].startswith("smallest of genesys.flows.vivado.PARTS for the estimate (Artix-7 100T")


@pytest.mark.synth_required
def test_clock_constraint_ooc_setting_and_build_scripts(estimate_run):
    proj = project_dir(estimate_run.build)
    xdc = (proj / f"{TOP}.xdc").read_text()
    m = re.search(r"^create_clock -period ([\d.]+) -name clk \[get_ports clk\]$", xdc, re.MULTILINE)
    assert m and float(m[1]) == pytest.approx(1000 / 150, abs=1e-3) and estimate_run.res.clock_mhz == 150
    ooc = (proj / "genesys_ooc.tcl").read_text()
    assert ("set_property -name {STEPS.SYNTH_DESIGN.ARGS.MORE OPTIONS} -value {-mode out_of_context} "
            "-objects [get_runs synth_1]") in ooc
    impl = (proj / "genesys_impl.tcl").read_text()
    for line in ("launch_runs synth_1 -jobs 2", "launch_runs impl_1 -to_step route_design -jobs 2",
                 "report_utilization -file reports/utilization.rpt",
                 "report_timing_summary -max_paths 10 -report_unconstrained -file reports/timing_summary.rpt"):
        assert line + "\n" in impl, line
    assert impl.index("launch_runs synth_1") < impl.index("launch_runs impl_1") < impl.index("report_timing_summary")
    assert "exit 1" in impl and "ERROR: \\[genesys\\]" in impl  # a run that did not complete fails the batch run
    build_sh = proj / "build.sh"
    assert os.access(build_sh, os.X_OK) and build_sh.read_text().startswith("#!/bin/sh\n")
    assert f"-source {TOP}.tcl\n" in build_sh.read_text()
    assert f"-source genesys_impl.tcl {TOP}.xpr\n" in build_sh.read_text()
    assert (proj / "Makefile").is_file()  # Edalize's, for `make synth`
    for f in proj.rglob("*"):  # relative paths only: the folder can be copied to a Vivado machine
        if f.is_file() and f.suffix in (".tcl", ".xdc", ".sh", "") and f.parent == proj:
            assert str(estimate_run.build) not in f.read_text(), f


@pytest.mark.synth_required
def test_estimate_without_vivado_is_labelled_and_has_no_timing(estimate_run):
    res = estimate_run.res
    assert res.status == "passed", res.reason
    assert res.tool == "yosys" and res.tool_version == find_tool("yosys").version
    m = res.metrics
    assert m["estimate"] is True and m["estimate_note"].startswith("ESTIMATE: Vivado is not installed")
    assert m["estimate_tool"] == "yosys synth_xilinx" and m["vivado_missing"] == missing_reason("vivado")
    assert res.luts > 0 and res.luts == m["lut_logic"] + m["lut_memory"] and res.ffs > 0
    assert res.dsps == 16  # one DSP48E1 per PE
    assert res.fmax_mhz is None and res.wns_ns is None and res.tns_ns is None
    assert m["utilization_pct"]["dsps"] == round(100 * 16 / 240, 2)  # of the chosen xc7a100t
    assert res.log == "4x4/vivado/estimate.log" and (estimate_run.build / res.log).is_file()
    script = (estimate_run.build / "4x4" / "vivado" / "work" / "synth_xilinx.ys").read_text()
    assert f"synth_xilinx -top {TOP} -family xc7 -flatten -noiopad -noclkbuf" in script
    on_disk = json.loads((estimate_run.build / "4x4" / "vivado" / "result.json").read_text())
    assert on_disk["status"] == "passed" and on_disk["metrics"]["estimate"] is True and on_disk["fmax_mhz"] is None


@pytest.mark.synth_required
def test_estimate_rerun_is_served_from_the_cache(estimate_run):
    again = estimate_run.again
    assert again.metrics.get("cached") and again.luts == estimate_run.res.luts
    assert estimate_run.again_seconds < min(10, estimate_run.seconds / 2)


# ---- options -------------------------------------------------------------------------------------------------
def test_part_option_is_used_for_the_project_and_the_estimate(tmp_path, project_only):
    res = run_flow("vivado", "4x4", tmp_path, block="systolic_array", part="xcku5p-ffvb676-2-e", clock_mhz=250)
    assert res.status == "skipped" and project_only["part"] == "xcku5p-ffvb676-2-e"
    assert res.metrics["part"] == "xcku5p-ffvb676-2-e" and res.metrics["part_choice"] == "option"
    assert res.metrics["family"] == "xcup"
    proj = project_dir(tmp_path)
    assert "set_property part xcku5p-ffvb676-2-e [current_project]\n" in (proj / f"{TOP}.tcl").read_text()
    assert "create_clock -period 4.000 -name clk [get_ports clk]" in (proj / f"{TOP}.xdc").read_text()
    script = vivado.estimate_script(project_only["ctx"], res.metrics["family"])
    assert f"synth_xilinx -top {TOP} -family xcup -flatten -noiopad -noclkbuf" in script


@pytest.mark.parametrize("part", ["LFE5U-25F", "xc7a35t", "artix7", "xc7a35t csg324-1", ""])
def test_bad_part_names_are_rejected(part):
    with pytest.raises(GenesysError) as e:
        vivado.check_part(part)
    assert str(e.value) == (f"--part {part!r} is not a Xilinx part name; give a full part such as "
                            "xc7a100tcsg324-1 or xcku5p-ffvb676-2-e")


def test_part_names_keep_their_case_as_vivado_spells_them():
    assert vivado.check_part(" xcvu9p-flga2104-2L-e ") == "xcvu9p-flga2104-2L-e"


def test_a_preset_larger_than_every_known_part_says_so(tmp_path, project_only, monkeypatch):
    monkeypatch.setattr(vivado, "estimate_needs", lambda arch, derived: {"dsps": 10**6, "bram36": 0, "luts": 0})
    res = run_flow("vivado", "4x4", tmp_path, block="systolic_array")
    assert res.metrics["part"] == vivado.PARTS[-1].name
    assert "the estimate exceeds 80% of its dsps: give a larger part with --part" in res.metrics["part_choice"]


def test_a_bad_part_fails_the_run_before_writing_the_project(tmp_path, project_only):
    res = run_flow("vivado", "4x4", tmp_path, block="systolic_array", part="LFE5U-25F")
    assert res.status == "failed" and res.reason.startswith("--part 'LFE5U-25F' is not a Xilinx part name")
    assert not project_dir(tmp_path).exists() and "part" not in project_only


@pytest.mark.parametrize("value,message", [(0, "--clock-mhz must be in (0, 2000], not 0"),
                                           (2500, "--clock-mhz must be in (0, 2000], not 2500"),
                                           ("fast", "--clock-mhz must be a number of MHz, not 'fast'")])
def test_bad_clock_values_fail_the_run(tmp_path, project_only, value, message):
    res = run_flow("vivado", "4x4", tmp_path, block="systolic_array", clock_mhz=value)
    assert res.status == "failed" and res.reason == message
    assert not project_dir(tmp_path).exists()


def test_flow_command_rejects_options_of_other_flows(tmp_path, capsys):
    assert genesys_cli.main(["flow", "vivado", "--device", "LFE5U-25F", "--build-dir", str(tmp_path)]) != 0
    assert "flow vivado has no option --device; its options: --clock-mhz, --part" in capsys.readouterr().err
    assert not (tmp_path / "4x4").exists()


@pytest.mark.parametrize("part,family", [
    ("xc7a35tcsg324-1", "xc7"), ("xc7z020clg400-1", "xc7"), ("xc7k325tffg900-2", "xc7"), ("xc7s50csga324-1", "xc7"),
    ("xcku040-ffva1156-2-e", "xcu"), ("xcku115-flvb2104-2-e", "xcu"), ("xcvu095-ffva2104-2-e", "xcu"),
    ("xcvu440-flga2892-2-e", "xcu"), ("xcvu190-flgc2104-2-e", "xcu"),
    ("xcku5p-ffvb676-2-e", "xcup"), ("xcku15p-ffve1517-2-e", "xcup"), ("xcvu9p-flga2104-2L-e", "xcup"),
    ("xcvu13p-fhga2104-2-e", "xcup"), ("xczu3eg-sbva484-1-e", "xcup"), ("xcau25p-ffvb676-2-e", "xcup"),
    ("xcu250-figd2104-2L-e", "xcup"), ("xck26-sfvc784-2LV-c", "xcup"),
])
def test_yosys_family_of_a_part(part, family):
    assert vivado.yosys_family(part) == family


def test_part_choice_leaves_headroom():
    small = {"dsps": 10, "bram36": 10, "luts": 1_000}
    assert vivado.choose_part(small).name == "xc7a35tcsg324-1"
    assert vivado.choose_part({**small, "dsps": 72}).name == "xc7a35tcsg324-1"   # 80 % of 90
    assert vivado.choose_part({**small, "dsps": 73}).name == "xc7a100tcsg324-1"
    assert vivado.choose_part({**small, "luts": 14_559}).name == "xc7a35tcsg324-1"  # 70 % of 20,800 is 14,560
    assert vivado.choose_part({**small, "luts": 14_561}).name == "xc7a100tcsg324-1"
    assert vivado.choose_part({**small, "bram36": 41}).name == "xc7a100tcsg324-1"  # 80 % of 50 is 40
    assert vivado.choose_part({"dsps": 10**6, "bram36": 0, "luts": 0}).name == vivado.PARTS[-1].name


def test_estimate_needs_from_the_preset():
    a4 = load_arch("4x4")
    # IBUF 4 x 2048x8 (1 RAMB18 each), OBUF 4 x 1024x32 (2), VMEM 2 x 4 x 1024x32 (2), IMEM 1024x32 (2); WBUF and
    # BBUF banks are under 4 Kbit (LUT RAM): 30 RAMB18 = 15 RAMB36
    assert vivado.estimate_needs(a4, a4.derived()) == {"dsps": 16 + 4 * 4, "bram36": 15,
                                                       "luts": 12_000 + 400 * 16 + 4_000 * 4}
    assert vivado.estimate_needs(a4, {})["bram36"] == 0  # no geometry: no block RAM known
    a16 = load_arch("16x16")
    assert vivado.choose_part(vivado.estimate_needs(a16, a16.derived())).name == "xcku15p-ffve1517-2-e"
    assert [vivado._bram18(d, w) for d, w in ((128, 8), (512, 36), (512, 72), (2048, 9), (16384, 1), (32768, 2))] == \
        [0, 1, 2, 1, 1, 4]


# ---- a run through a fake Vivado ------------------------------------------------------------------------------
FAKE_VIVADO = '''#!{python}
"""Fake Vivado: `-version`; `-source <project>.tcl` writes <project>.xpr; `-source genesys_impl.tcl <project>.xpr`
copies the report fixtures to the -file paths the script names. FAKE_VIVADO_MODE: fail, project_fail, noreports."""
import os, re, shutil, sys
from pathlib import Path

args = sys.argv[1:]
if args == ["-version"]:
    print("Vivado v2023.2 (64-bit)\\nSW Build 4029153 on Fri Oct 13 20:13:54 MDT 2023\\n"
          "IP Build 4028589 on Sat Oct 14 00:45:43 MDT 2023")
    sys.exit(0)
with open(os.environ["FAKE_VIVADO_CALLS"], "a") as f:
    f.write(os.getcwd() + " " + " ".join(args) + "\\n")
print("****** Vivado v2023.2 (64-bit)")
mode = os.environ.get("FAKE_VIVADO_MODE", "")
script = Path(args[args.index("-source") + 1])
if not script.is_file():
    print(f"ERROR: [Common 17-69] Command failed: couldn't read file \\"{{script}}\\": no such file or directory")
    sys.exit(1)
tcl = script.read_text()
m = re.search(r"^create_project (\\S+) -force$", tcl, re.MULTILINE)
if m:
    if mode == "project_fail":
        print("ERROR: [Coretcl 2-106] Specified part could not be found.")
        sys.exit(1)
    part = re.search(r"^set_property part (\\S+) \\[current_project\\]$", tcl, re.MULTILINE)[1]
    Path(m[1] + ".xpr").write_text(f"<Project Product=\\"Vivado v2023.2\\" Part=\\"{{part}}\\"/>\\n")
    print("INFO: [Project 1-571] Project created")
    sys.exit(0)
xpr = [a for a in args if a.endswith(".xpr")]
if not xpr or not Path(xpr[0]).is_file():
    print(f"ERROR: [Common 17-39] 'open_project' failed due to earlier errors. ({{xpr}})")
    sys.exit(1)
print("WARNING: [Synth 8-7129] Port bias_in[3] in module genesys_pe is either unconnected or has no load")
if mode == "fail":
    print("ERROR: [Synth 8-439] module 'genesys_pe' not found [rtl/genesys_systolic_array.sv:123]")
    print("ERROR: [Common 17-69] Command failed: Synthesis failed - please see the console or run log file")
    sys.exit(1)
print("WARNING: [Timing 38-313] There are no user specified timing constraints on some ports")
if mode == "noreports":
    sys.exit(0)
for line in tcl.splitlines():
    words = line.split()
    if words[:1] == ["report_utilization"] and "-hierarchical" not in words:
        src = os.environ["FAKE_VIVADO_UTIL"]
    elif words[:1] == ["report_timing_summary"]:
        src = os.environ["FAKE_VIVADO_TIMING"]
    else:
        continue
    out = Path(words[words.index("-file") + 1])
    out.parent.mkdir(parents=True, exist_ok=True)
    if "_synth" not in out.name:
        shutil.copy(src, out)
print("genesys: reports written")
'''


@pytest.fixture
def fake_vivado(tmp_path, monkeypatch):
    """A `vivado` first on PATH that writes the 7-series report fixtures (FAKE_VIVADO_* select others)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "vivado"
    exe.write_text(FAKE_VIVADO.replace("{python}", sys.executable).replace("{{", "{").replace("}}", "}"))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    calls = tmp_path / "vivado_calls.txt"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_VIVADO_CALLS", str(calls))
    monkeypatch.setenv("FAKE_VIVADO_UTIL", str(UTIL_7))
    monkeypatch.setenv("FAKE_VIVADO_TIMING", str(TIMING_7))
    monkeypatch.delenv("FAKE_VIVADO_MODE", raising=False)
    find_tool.cache_clear()
    yield SimpleNamespace(exe=exe, calls=calls)
    find_tool.cache_clear()


def test_fake_vivado_run_parses_the_reports(tmp_path, fake_vivado):
    build = tmp_path / "b"
    res = run_flow("vivado", "4x4", build, block="systolic_array")
    assert res.status == "passed", res.reason
    assert res.tool == "vivado" and res.tool_version == "2023.2"
    proj = project_dir(build)
    calls = fake_vivado.calls.read_text().splitlines()  # project first, then the build, both in the project folder
    assert calls == [f"{proj} -mode batch -notrace -nojournal -nolog -source {TOP}.tcl",
                     f"{proj} -mode batch -notrace -nojournal -nolog -source genesys_impl.tcl {TOP}.xpr"]
    assert res.command == [str(fake_vivado.exe), "-mode", "batch", "-notrace", "-nojournal", "-nolog", "-source",
                           "genesys_impl.tcl", f"{TOP}.xpr"]
    assert res.log == "4x4/vivado/vivado.log" and res.warnings == 2
    # figures: report_utilization (Slice LUTs, Slice Registers, DSPs, Block RAM Tile rounded up) and the timing
    # summary (clk's WNS; fmax from the clock period and WNS)
    assert (res.luts, res.ffs, res.dsps, res.brams) == (742, 517, 16, 3)
    assert res.wns_ns == -1.747 and res.tns_ns == -412.876 and res.clock_mhz == 200
    assert res.fmax_mhz == round(1000 / (5.0 + 1.747), 2) == 148.21
    m = res.metrics
    assert (m["bram_tiles"], m["ramb36"], m["ramb18"]) == (2.5, 2, 1) and m["device"] == "xc7a100tcsg324-1"
    assert m["met"] is False and m["tns_failing_endpoints"] == 352 and m["whs_ns"] == 0.081
    assert m["utilization_pct"] == {"luts": 1.17, "ffs": 0.41, "dsps": 6.67, "brams": 1.85}
    assert m["critical_path"]["slack_ns"] == -1.747 and m["critical_path"]["logic_levels"] == 4
    assert m["reports"] == {"utilization": "4x4/vivado/project/reports/utilization.rpt",
                            "timing_summary": "4x4/vivado/project/reports/timing_summary.rpt"}
    assert "estimate" not in m and "vivado_missing" not in m and m["build_seconds"] >= 0
    on_disk = json.loads((build / "4x4" / "vivado" / "result.json").read_text())
    assert on_disk["status"] == "passed" and on_disk["fmax_mhz"] == 148.21 and on_disk["tool"] == "vivado"

    again = run_flow("vivado", "4x4", build, block="systolic_array")
    assert again.metrics.get("cached") and len(fake_vivado.calls.read_text().splitlines()) == 2


def test_fake_vivado_on_an_ultrascale_plus_part(tmp_path, fake_vivado, monkeypatch):
    monkeypatch.setenv("FAKE_VIVADO_UTIL", str(UTIL_US))
    monkeypatch.setenv("FAKE_VIVADO_TIMING", str(TIMING_US))
    res = run_flow("vivado", "4x4", tmp_path / "b", block="systolic_array", part="xcku5p-ffvb676-2-e", clock_mhz=250)
    assert res.status == "passed", res.reason
    assert (res.luts, res.ffs, res.dsps, res.brams) == (101_837, 58_214, 320, 141)
    assert res.wns_ns == 0.412 and res.tns_ns == 0.0 and res.fmax_mhz == round(1000 / (4.0 - 0.412), 2) == 278.71
    assert res.metrics["met"] is True and res.metrics["uram"] == 0 and res.metrics["family"] == "xcup"
    assert res.metrics["device"] == "xcku5p-ffvb676-2-e"
    assert 'Part="xcku5p-ffvb676-2-e"' in (project_dir(tmp_path / "b") / f"{TOP}.xpr").read_text()


def test_fake_vivado_build_error_fails_with_its_error_line(tmp_path, fake_vivado, monkeypatch):
    monkeypatch.setenv("FAKE_VIVADO_MODE", "fail")
    res = run_flow("vivado", "4x4", tmp_path / "b", block="systolic_array")
    assert res.status == "failed"
    assert res.reason == ("Vivado build failed: ERROR: [Synth 8-439] module 'genesys_pe' not found "
                          "[rtl/genesys_systolic_array.sv:123]")
    assert res.log == "4x4/vivado/vivado.log" and res.luts is None and res.fmax_mhz is None
    assert "ERROR: [Synth 8-439]" in (tmp_path / "b" / res.log).read_text()
    assert not run_flow("vivado", "4x4", tmp_path / "b", block="systolic_array").metrics.get("cached")  # not cached


def test_fake_vivado_project_error_fails_with_its_error_line(tmp_path, fake_vivado, monkeypatch):
    monkeypatch.setenv("FAKE_VIVADO_MODE", "project_fail")
    res = run_flow("vivado", "4x4", tmp_path / "b", block="systolic_array")
    assert res.status == "failed"
    assert res.reason == "Vivado could not create the project: ERROR: [Coretcl 2-106] Specified part could not be found."
    assert res.log == "4x4/vivado/vivado_project.log"
    assert len(fake_vivado.calls.read_text().splitlines()) == 1  # the build never started


def test_vivado_exiting_0_without_reports_fails(tmp_path, fake_vivado, monkeypatch):
    monkeypatch.setenv("FAKE_VIVADO_MODE", "noreports")
    res = run_flow("vivado", "4x4", tmp_path / "b", block="systolic_array")
    assert res.status == "failed" and res.reason == "Vivado build failed: exit status 0, no reports written"


def test_written_project_builds_elsewhere_with_build_sh(tmp_path, project_only, fake_vivado):
    """The estimate path's promise: copy project/ to a Vivado machine and run build.sh there."""
    run_flow("vivado", "4x4", tmp_path / "b", block="systolic_array")
    moved = tmp_path / "elsewhere"
    shutil.copytree(project_dir(tmp_path / "b"), moved)
    shutil.rmtree(tmp_path / "b")
    out = subprocess.run(["./build.sh"], cwd=moved, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    calls = fake_vivado.calls.read_text().splitlines()
    assert calls == [f"{moved} -mode batch -notrace -nojournal -log vivado_project.log -source {TOP}.tcl",
                     f"{moved} -mode batch -notrace -nojournal -log vivado_build.log -source genesys_impl.tcl {TOP}.xpr"]
    assert (moved / f"{TOP}.xpr").is_file()
    util = R.parse_vivado_utilization((moved / "reports" / "utilization.rpt").read_text())
    assert util["luts"] == 742


# ---- report parsers -------------------------------------------------------------------------------------------
def test_utilization_report_7_series():
    u = R.parse_vivado_utilization(UTIL_7.read_text())
    assert u["device"] == "xc7a100tcsg324-1"
    assert (u["luts"], u["ffs"], u["dsps"], u["bram_tiles"], u["ramb36"], u["ramb18"]) == (742, 517, 16, 2.5, 2, 1)
    assert "uram" not in u
    assert u["available"] == {"luts": 63_400, "ffs": 126_800, "dsps": 240, "brams": 135}
    assert u["utilization_pct"] == {"luts": 1.17, "ffs": 0.41, "dsps": 6.67, "brams": 1.85}
    rows = u["rows"]
    assert rows["LUT as Distributed RAM"]["Used"] == 384 and rows["LUT as Distributed RAM"]["Available"] is None
    assert rows["LUT as Shift Register"]["Used"] == 96 and rows["Slice"]["Used"] == 231
    assert rows["LUT as Logic"] == {"Used": 262, "Fixed": 0, "Prohibited": 0, "Available": 63_400, "Util%": 0.41}
    assert rows["Bonded IOB"]["Used"] == 0  # out of context: no I/O buffers
    assert "FDRE" not in rows and "Total" not in rows  # Primitives and register tables are not site rows


def test_utilization_report_ultrascale_plus():
    u = R.parse_vivado_utilization(UTIL_US.read_text())
    assert u["device"] == "xcku5p-ffvb676-2-e"
    assert (u["luts"], u["ffs"], u["dsps"], u["bram_tiles"], u["ramb36"], u["ramb18"], u["uram"]) == (
        101_837, 58_214, 320, 140.5, 128, 25, 0)
    assert u["available"] == {"luts": 216_960, "ffs": 433_920, "dsps": 1_824, "brams": 480}
    assert u["utilization_pct"]["luts"] == 46.94 and u["rows"]["CARRY8"]["Used"] == 3652
    assert u["rows"]["BUFGCTRL"]["Available"] == 32  # "BUFGCTRL*"


def test_utilization_report_without_prohibited_column_and_synthesis_marks():
    """Vivado before 2020.1 has no Prohibited column; post-synthesis reports mark estimates with '*'."""
    text = """| Device       : 7a35tcsg324-1
+-------------------------+------+-------+-----------+-------+
|        Site Type        | Used | Fixed | Available | Util% |
+-------------------------+------+-------+-----------+-------+
| Slice LUTs*             |  642 |     0 |     20800 |  3.09 |
| Slice Registers         |  811 |     0 |     41600 |  1.95 |
+-------------------------+------+-------+-----------+-------+

+----------------+------+-------+-----------+-------+
|    Site Type   | Used | Fixed | Available | Util% |
+----------------+------+-------+-----------+-------+
| DSPs           |    4 |     0 |        90 |  4.44 |
|   DSP48E1 only |    4 |       |           |       |
+----------------+------+-------+-----------+-------+
| Block RAM Tile |    0 |     0 |        50 |  0.00 |
"""
    u = R.parse_vivado_utilization(text)
    assert (u["luts"], u["ffs"], u["dsps"], u["device"]) == (642, 811, 4, "7a35tcsg324-1")
    assert u["available"]["luts"] == 20_800 and u["utilization_pct"]["dsps"] == 4.44
    assert u["bram_tiles"] == 0 and R.parse_vivado_utilization("") == {"rows": {}, "utilization_pct": {},
                                                                        "available": {}}


def test_timing_summary_7_series_not_met():
    t = R.parse_vivado_timing_summary(TIMING_7.read_text())
    assert (t["wns_ns"], t["tns_ns"], t["tns_failing_endpoints"], t["tns_total_endpoints"]) == (-1.747, -412.876, 352,
                                                                                                2346)
    assert (t["whs_ns"], t["ths_ns"], t["ths_failing_endpoints"], t["ths_total_endpoints"]) == (0.081, 0.0, 0, 2346)
    assert t["met"] is False and t["clock"] == "clk" and t["period_ns"] == 5.0 and t["clock_mhz"] == 200.0
    assert t["clock_wns_ns"] == -1.747 and t["clocks"] == {"clk": {"period_ns": 5.0, "frequency_mhz": 200.0}}
    assert t["critical_path"] == {
        "slack_ns": -1.747, "source": "g_row[3].g_col[1].u_pe/wgt_reg[2]/C",
        "destination": "g_row[3].g_col[1].u_pe/psum_out_reg[19]/D", "path_group": "clk", "requirement_ns": 5.0,
        "data_path_ns": 6.635, "logic_ns": 5.263, "route_ns": 1.372, "logic_levels": 4,
        "logic_cells": "CARRY4=2 DSP48E1=1 LUT2=1"}


def test_timing_summary_ultrascale_plus_met():
    t = R.parse_vivado_timing_summary(TIMING_US.read_text())
    assert (t["wns_ns"], t["tns_ns"], t["whs_ns"]) == (0.412, 0.0, 0.01) and t["met"] is True
    assert t["period_ns"] == 4.0 and t["clock_wns_ns"] == 0.412 and t["tns_total_endpoints"] == 96_112
    p = t["critical_path"]
    assert p["slack_ns"] == 0.412 and p["logic_levels"] == 5 and p["data_path_ns"] == pytest.approx(
        p["logic_ns"] + p["route_ns"])
    assert R.parse_vivado_timing_summary(TIMING_US.read_text(), clock="sys_clk").get("clock") is None


def test_timing_summary_without_constrained_paths():
    """Vivado prints inf for the slack of a design without constrained paths."""
    text = TIMING_US.read_text()
    row = re.search(r"^ +0\.412 +0\.000 .*$", text, re.MULTILINE)[0]
    inf = row.replace("  0.412", "    inf", 1).replace("  0.010", "    inf", 1).replace("96112", "    0")
    t = R.parse_vivado_timing_summary(text.replace(row, inf, 1))
    assert t["wns_ns"] is None and t["whs_ns"] is None and t["tns_total_endpoints"] == 0 and t["tns_ns"] == 0.0


def test_finish_vivado_without_slack_or_luts_fails():
    res = FlowResult(preset="4x4", flow="vivado", status="failed")
    vivado.finish_vivado(res, UTIL_7.read_text(), "Timing Summary Report\n", 200.0)
    assert res.status == "failed" and res.luts == 742
    assert res.reason == "Vivado's reports have no setup slack for clock 'clk'; see the reports"
    res = FlowResult(preset="4x4", flow="vivado", status="failed")
    vivado.finish_vivado(res, "", TIMING_7.read_text(), 200.0)
    assert res.status == "failed" and res.reason == "Vivado's reports have no LUT count; see the reports"


def test_finish_vivado_uses_the_design_wns_and_the_target_period_without_clock_tables():
    """Without the clk row in the Clock Summary / Intra Clock Table, the design WNS and 1000/clock_mhz are used."""
    text = TIMING_7.read_text().replace("\nclk ", "\nsys_clk ")
    res = FlowResult(preset="4x4", flow="vivado", status="failed")
    vivado.finish_vivado(res, UTIL_7.read_text(), text, 250.0)
    assert res.status == "passed" and res.wns_ns == -1.747 and res.fmax_mhz == round(1000 / (4.0 + 1.747), 2)


@pytest.mark.parametrize("period,wns,fmax", [(5.0, -1.747, 148.21), (4.0, 0.412, 278.71), (10.0, 0.0, 100.0),
                                             (5.0, None, None), (1.0, 1.0, None), (1.0, 2.0, None)])
def test_fmax_from_slack(period, wns, fmax):
    assert R.fmax_from_slack(period, wns) == fmax


def test_xilinx_cells_of_a_real_synth_xilinx_netlist():
    x = R.xilinx_cells(SA_4X4_XC7_CELLS)
    assert (x["lut_logic"], x["lut_memory"], x["luts"]) == (1 + 32 + 128, 96 * 4 + 96, 161 + 480)
    assert (x["ffs"], x["dsps"], x["ramb36"], x["ramb18"], x["bram_tiles"], x["uram"]) == (489, 16, 0, 0, 0, 0)


def test_xilinx_cells_count_each_kind():
    x = R.xilinx_cells({"LUT1": 1, "LUT3": 2, "RAM32X1S": 1, "RAM32X1D": 1, "RAM64X1D": 1, "RAM128X1S": 1,
                        "RAM128X1D": 1, "RAM256X1S": 1, "RAM32M": 1, "RAM64M8": 1, "SRLC32E": 3, "FDCE": 2, "FDPE": 1,
                        "FDSE": 1, "FDRE_1": 1, "LDCE": 1, "DSP48E2": 3, "RAMB36E2": 2, "RAMB18E2": 3, "FIFO36E1": 1,
                        "URAM288": 4, "CARRY8": 5, "MUXF7": 2, "MUXF8": 1, "BUFG": 1, "IBUF": 9})
    # LUT RAM as UG474/UG574 count it: RAM32X1S 1, RAM32X1D 2, RAM64X1D 2, RAM128X1S 2, RAM128X1D 4, RAM256X1S 4,
    # RAM32M 4, RAM64M8 8; SRLs 1 each
    assert x["lut_logic"] == 3 and x["lut_memory"] == 1 + 2 + 2 + 2 + 4 + 4 + 4 + 8 + 3 and x["luts"] == 3 + 30
    assert x["ffs"] == 6 and x["dsps"] == 3 and (x["ramb36"], x["ramb18"]) == (3, 3) and x["bram_tiles"] == 4.5
    assert (x["uram"], x["carry"], x["muxf"]) == (4, 5, 3)


def test_finish_estimate_labels_the_figures():
    res = FlowResult(preset="4x4", flow="vivado", status="failed")
    vivado.finish_estimate(res, {**SA_4X4_XC7_CELLS, "RAMB18E1": 3}, "xc7a35tcsg324-1")
    assert res.status == "passed" and res.metrics["estimate"] is True and res.fmax_mhz is None
    assert (res.luts, res.ffs, res.dsps, res.brams) == (641, 489, 16, math.ceil(1.5))
    assert res.metrics["utilization_pct"] == {"luts": round(100 * 641 / 20_800, 2), "ffs": round(100 * 489 / 41_600, 2),
                                              "dsps": round(100 * 16 / 90, 2), "brams": round(100 * 1.5 / 50, 2)}
    other = FlowResult(preset="4x4", flow="vivado", status="failed")
    vivado.finish_estimate(other, SA_4X4_XC7_CELLS, "xc7k325tffg900-2")  # not in PARTS: no percentages
    assert "utilization_pct" not in other.metrics and other.luts == 641


def test_missing_yosys_and_vivado_skip_with_both_hints(tmp_path, no_vivado, monkeypatch):
    real = vivado.find_tool
    monkeypatch.setattr(vivado, "find_tool", lambda name: ToolInfo(name, None, None, "") if name in ("vivado", "yosys")
                        else real(name))
    res = run_flow("vivado", "4x4", tmp_path, block="systolic_array")
    assert res.status == "skipped"
    assert res.reason == (f"{missing_reason('vivado')}; the project is written (4x4/vivado/project) but the Yosys "
                          f"estimate needs Yosys too: {missing_reason('yosys')}")
    assert (project_dir(tmp_path) / f"{TOP}.tcl").is_file()
