"""The openroad flow: the ORFS design generated through Edalize's OpenROAD backend (config.mk, constraint.sdc,
Makefile), the skip path without OpenROAD/ORFS, a run through a fake ORFS (a flow/Makefile that reads the design
config as ORFS does and writes ORFS's final reports), and the report parsers.

OpenROAD-flow-scripts cannot be installed here, so the report samples (tests/flows/data/openroad_*) are written in
the formats ORFS and OpenSTA produce (ORFS's report_metrics.tcl and `openroad -metrics` JSON keys; OpenSTA's
report_tns / report_worst_slack / report_power text, in its 2024 form with "max" and its older form without), with
figures made up for genesys_top 4x4 on sky130hd; they are not the output of a real run.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from genesys.errors import GenesysError
from genesys.flows import openroad
from genesys.flows import openroad_reports as reports
from genesys.flows.runner import run_flow
from genesys.tools import find_tool, missing_reason

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No real ORFS or OpenROAD: an empty bin directory first on PATH, no FLOW_HOME/ORFS_ROOT; find_tool re-probes."""
    for var in ("FLOW_HOME", "ORFS_ROOT", "OPENROAD_EXE", "YOSYS_EXE", "FAKE_ORFS_MODE", "FAKE_ORFS_DATA"):
        monkeypatch.delenv(var, raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    find_tool.cache_clear()
    yield bin_dir
    find_tool.cache_clear()


def fake_openroad(bin_dir: Path) -> Path:
    exe = bin_dir / "openroad"
    exe.write_text('#!/bin/sh\necho "OpenROAD v2.0-17598-gfake0000 (fake, $*)"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    find_tool.cache_clear()
    return exe


def fake_orfs(root: Path, platforms=("sky130hd", "nangate45")) -> Path:
    """An ORFS checkout as the flow sees it: flow/Makefile (the fake), flow/scripts/, flow/platforms/<p>/."""
    flow = root / "flow"
    (flow / "scripts").mkdir(parents=True)
    for p in platforms:
        (flow / "platforms" / p).mkdir(parents=True)
    shutil.copy(DATA / "openroad_fake_flow.mk", flow / "Makefile")
    return flow


@pytest.fixture
def orfs(tmp_path, monkeypatch, clean_env):
    """openroad on PATH and a fake ORFS in $FLOW_HOME that copies the samples."""
    fake_openroad(clean_env)
    flow = fake_orfs(tmp_path / "OpenROAD-flow-scripts")
    monkeypatch.setenv("FLOW_HOME", str(flow))
    monkeypatch.setenv("FAKE_ORFS_DATA", str(DATA))
    return flow


def work_dir(build: Path, preset: str = "4x4") -> Path:
    return build / preset / "openroad" / "work"


# ---- options ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,platform", [(None, "sky130hd"), ("sky130A", "sky130hd"), ("sky130_fd_sc_hd", "sky130hd"),
                                           ("sky130hd", "sky130hd"), ("nangate45", "nangate45"), ("asap7", "asap7")])
def test_pdk_names_map_to_orfs_platforms(name, platform):
    assert openroad.platform(name).name == platform


def test_unknown_pdk_lists_the_platforms():
    with pytest.raises(GenesysError, match=r"unknown PDK 'tsmc5'.*--pdk.*sky130hd \(sky130A, sky130_fd_sc_hd.*nangate45"):
        openroad.platform("tsmc5")


@pytest.mark.parametrize("opts,message", [
    ({"utilization": 0}, r"--utilization .* must be in \(0, 100\), not 0"),
    ({"utilization": 100}, r"--utilization .* not 100"),
    ({"utilization": "lots"}, r"--utilization must be a number, not 'lots'"),
    ({"clock_mhz": -5}, r"--clock-mhz must be in \(0, 10000\] MHz, not -5"),
])
def test_bad_option_values_are_clear_errors(opts, message):
    with pytest.raises(GenesysError, match=message):
        openroad.settings(opts, 200)


def test_bad_pdk_fails_the_run_with_the_choices(tmp_path):
    res = run_flow("openroad", "4x4", tmp_path / "b", pdk="tsmc5")
    assert res.status == "failed"
    assert "unknown PDK 'tsmc5'" in res.reason and "nangate45" in res.reason and "Traceback" not in res.reason
    assert not (work_dir(tmp_path / "b") / "config.mk").exists()  # nothing generated from a bad option


def test_runner_rejects_options_of_other_flows(tmp_path):
    with pytest.raises(GenesysError, match="takes no option 'liberty'"):
        run_flow("openroad", "4x4", tmp_path / "b", liberty="x.lib")


# ---- the generated ORFS design (the skip path: no OpenROAD here) -------------------------------------------
def test_skipped_without_openroad_and_orfs_with_the_design_ready(tmp_path):
    build = tmp_path / "b"
    res = run_flow("openroad", "4x4", build)
    assert res.status == "skipped" and res.tool == "openroad"
    assert res.reason.startswith("openroad not found on PATH and OpenROAD-flow-scripts not found "
                                 "($FLOW_HOME not set; $ORFS_ROOT not set); install it:")
    assert "https://github.com/The-OpenROAD-Project/OpenROAD-flow-scripts" in res.reason
    assert "FLOW_HOME" in res.reason and "4x4/openroad/work" in res.reason
    m = res.metrics
    assert m["config"] == "4x4/openroad/work/config.mk" and m["sdc"] == "4x4/openroad/work/constraint.sdc"
    for key in ("config", "sdc", "makefile", "edam"):
        assert (build / m[key]).is_file(), key
    assert m["platform"] == "sky130hd" and m["clock_period_ns"] == 5.0 and res.clock_mhz == 200
    assert res.area_um2 is None and res.wns_ns is None
    on_disk = json.loads((build / "4x4" / "openroad" / "result.json").read_text())
    assert on_disk["status"] == "skipped" and on_disk["metrics"]["config"] == m["config"]


def test_config_mk_names_the_design_platform_files_and_floorplan(tmp_path):
    build = tmp_path / "b"
    run_flow("openroad", "4x4", build)
    work = work_dir(build)
    text = (work / "config.mk").read_text()
    assert "export DESIGN_NAME      = genesys_top\n" in text
    assert "export DESIGN_NICKNAME  = genesys_top_4x4\n" in text
    assert "export PLATFORM         = sky130hd\n" in text
    assert "export SDC_FILE         = $(GENESYS_DESIGN_DIR)/constraint.sdc\n" in text
    assert "export CORE_UTILIZATION = 40\n" in text and "export PLACE_DENSITY    = 0.55\n" in text
    # largest 4x4 buffer: OBUF/VMEM 16 KiB = 131072 bits (ORFS's default limit 4096 would stop synthesis)
    assert "export SYNTH_MEMORY_MAX_BITS = 131072\n" in text
    assert "-include $(GENESYS_DESIGN_DIR)/macros.mk" in text and "ADDITIONAL_LEFS" in text
    manifest = json.loads((build / "4x4" / "openroad" / "rtl" / "manifest.json").read_text())
    named = [line.strip().rstrip("\\").strip().split("/")[-1] for line in
             text.split("export VERILOG_FILES")[1].split("export SDC_FILE")[0].splitlines()]
    assert named == manifest["files"] and named[-1] == "genesys_top.sv"  # every file, in compile order


def test_edalize_lays_out_the_design_and_lists_the_rtl(tmp_path):
    build = tmp_path / "b"
    run_flow("openroad", "4x4", build)
    work = work_dir(build)
    for name in ("config.mk", "constraint.sdc", "Makefile"):  # Edalize copies src/<file> to the name ORFS uses
        assert (work / name).read_text() == (work / "src" / name).read_text()
    files = (work / "files.txt").read_text().split()
    manifest = json.loads((build / "4x4" / "openroad" / "rtl" / "manifest.json").read_text())
    assert files == [f"../rtl/{f}" for f in manifest["files"]]
    assert all((work / f).is_file() for f in files)
    edam = json.loads((work / "edam.json").read_text())
    types = {f["name"]: f["file_type"] for f in edam["files"]}
    assert types["src/config.mk"] == "configFile" and types["src/constraint.sdc"] == "SDC"
    assert types["src/Makefile"] == "Makefile" and edam["toplevel"] == "genesys_top"
    assert edam["tool_options"]["openroad"]["make_target"] == "finish"


@pytest.mark.parametrize("opts,platform,period,io_delay,util,density", [
    ({}, "sky130hd", "5.0000", "1.0000", "40", "0.55"),
    ({"pdk": "sky130A", "clock_mhz": 250}, "sky130hd", "4.0000", "0.8000", "40", "0.55"),
    ({"pdk": "nangate45", "clock_mhz": 400, "utilization": 30}, "nangate45", "2.5000", "0.5000", "30", "0.45"),
    ({"pdk": "asap7", "clock_mhz": 1000, "utilization": 41.2}, "asap7", "1000.0000", "200.0000", "41.2", "0.56"),
])
def test_platform_clock_and_utilization_options(tmp_path, opts, platform, period, io_delay, util, density):
    build = tmp_path / "b"
    res = run_flow("openroad", "4x4", build, **opts)
    assert res.status == "skipped" and res.metrics["platform"] == platform
    work = work_dir(build)
    config = (work / "config.mk").read_text()
    assert f"export PLATFORM         = {platform}\n" in config
    assert f"export CORE_UTILIZATION = {util}\n" in config and f"export PLACE_DENSITY    = {density}\n" in config
    sdc = (work / "constraint.sdc").read_text()
    assert f"set clk_period {period}\n" in sdc  # ASAP7's Liberty time unit is the ps
    assert "create_clock -name core_clock -period $clk_period $clk_port" in sdc
    assert "set clk_port [get_ports clk]" in sdc and "current_design genesys_top" in sdc
    assert f"set_input_delay  {io_delay} -clock core_clock $non_clock_inputs" in sdc
    assert f"set_output_delay {io_delay} -clock core_clock [all_outputs]" in sdc


def test_other_presets_get_their_own_nickname_and_memory_limit(tmp_path):
    build = tmp_path / "b"
    res = run_flow("openroad", "8x8", build)
    config = (work_dir(build, "8x8") / "config.mk").read_text()
    assert "export DESIGN_NICKNAME  = genesys_top_8x8\n" in config
    assert res.metrics["synth_memory_max_bits"] > 4096


def test_skipped_when_only_openroad_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOW_HOME", str(fake_orfs(tmp_path / "orfs")))
    res = run_flow("openroad", "4x4", tmp_path / "b")
    assert res.status == "skipped"
    assert res.reason.startswith(missing_reason("openroad"))


def test_skipped_when_flow_home_is_not_orfs(tmp_path, monkeypatch, clean_env):
    fake_openroad(clean_env)
    monkeypatch.setenv("FLOW_HOME", str(tmp_path))
    res = run_flow("openroad", "4x4", tmp_path / "b")
    assert res.status == "skipped"
    assert f"$FLOW_HOME={tmp_path} has no ORFS flow (Makefile and scripts/ in {tmp_path})" in res.reason


def test_skipped_when_orfs_lacks_the_platform(tmp_path, monkeypatch, orfs):
    res = run_flow("openroad", "4x4", tmp_path / "b", pdk="asap7")
    assert res.status == "skipped"
    assert f"the OpenROAD-flow-scripts at {orfs} has no platform asap7" in res.reason


# ---- a run through a fake ORFS ---------------------------------------------------------------------------
def test_fake_orfs_run_parses_the_final_reports(tmp_path, orfs):
    build = tmp_path / "b"
    res = run_flow("openroad", "4x4", build)
    assert res.status == "passed", res.reason
    # the command is the one Edalize's backend gives, run in the design directory
    work = work_dir(build)
    assert res.command == ["make", "DESIGN_CONFIG=./config.mk", f"FLOW_HOME={orfs}", "DESIGN_NAME=genesys_top",
                           "SHELL=/bin/bash", "finish"]
    assert res.tool == "openroad" and res.tool_version == "2.0-17598-gfake0000"
    log = (build / res.log).read_text()
    assert res.log == "4x4/openroad/openroad.log"
    assert f"fake ORFS in {orfs}: DESIGN_CONFIG={work}/config.mk DESIGN_NAME=genesys_top PLATFORM=sky130hd" in log
    assert f"WORK_HOME={work} CORE_UTILIZATION=40 PLACE_DENSITY=0.55" in log
    assert "read 20 Verilog files" in log and "OpenROAD v2.0-17598-gfake0000 (fake, -version)" in log
    # figures from 6_report.json (full precision), fmax from the SDC period and the worst slack
    assert res.area_um2 == 14825310.2
    assert res.wns_ns == -1.842 and res.tns_ns == -2741.55
    assert res.fmax_mhz == round(1000 / (5.0 + 1.84213), 1) == 146.2
    assert res.clock_mhz == 200
    m = res.metrics
    assert m["power_w"] == 0.530132 and m["utilization"] == 0.400002
    assert m["worst_slack_ns"] == -1.84213 and m["hold_worst_slack_ns"] == 0.0412297
    assert m["die_area_um2"] == 37301844.8 and m["instances"] == 1893442 and m["setup_violations"] == 3120
    assert m["drc_errors"] == 0 and m["antenna_violating_nets"] == 2 and m["orfs_fmax_mhz"] == 146.2
    assert m["reports"][0] == "4x4/openroad/work/logs/sky130hd/genesys_top_4x4/base/5_2_route.json"
    assert "4x4/openroad/work/reports/sky130hd/genesys_top_4x4/base/6_finish.rpt" in m["reports"]
    assert res.warnings == 1 and m["orfs"] == "unknown" and m["flow_home"] == str(orfs)


def test_fake_orfs_with_text_reports_only(tmp_path, orfs, monkeypatch):
    monkeypatch.setenv("FAKE_ORFS_MODE", "text")
    res = run_flow("openroad", "4x4", tmp_path / "b")
    assert res.status == "passed", res.reason
    assert res.area_um2 == 14825310.0 and res.wns_ns == -1.84 and res.tns_ns == -2741.55
    assert res.fmax_mhz == round(1000 / 6.84, 1)
    assert res.metrics["power_w"] == 0.483 and res.metrics["utilization"] == 0.4


def test_fake_orfs_failure_quotes_the_openroad_error(tmp_path, orfs, monkeypatch):
    monkeypatch.setenv("FAKE_ORFS_MODE", "fail")
    res = run_flow("openroad", "4x4", tmp_path / "b")
    assert res.status == "failed"
    assert res.reason == "[ERROR GPL-0302] Use a higher -density or re-floorplan with a larger core area."
    assert res.log == "4x4/openroad/openroad.log" and res.area_um2 is None


def test_fake_orfs_without_reports_fails_saying_where_it_looked(tmp_path, orfs, monkeypatch):
    monkeypatch.setenv("FAKE_ORFS_MODE", "empty")
    res = run_flow("openroad", "4x4", tmp_path / "b")
    assert res.status == "failed"
    assert res.reason.startswith("ORFS finished but wrote no final report")
    assert "4x4/openroad/work/logs/sky130hd/genesys_top_4x4/base" in res.reason


def test_an_earlier_runs_reports_never_count(tmp_path, orfs, monkeypatch):
    build = tmp_path / "b"
    assert run_flow("openroad", "4x4", build).status == "passed"
    # ORFS does not depend on config.mk's values: the flow clears its outputs before a new run
    monkeypatch.setenv("FAKE_ORFS_MODE", "empty")
    res = run_flow("openroad", "4x4", build, utilization=30)
    assert res.status == "failed" and "wrote no final report" in res.reason
    # an ORFS without WORK_HOME writes under FLOW_HOME: there only reports written by this run count
    old = reports.run_dirs(orfs, "sky130hd", "genesys_top_4x4")["logs"] / "6_report.json"
    old.parent.mkdir(parents=True)
    shutil.copy(DATA / "openroad_6_report.json", old)
    os.utime(old, (1e9, 1e9))
    res = run_flow("openroad", "4x4", build, utilization=35)
    assert res.status == "failed" and "wrote no final report" in res.reason


def test_orfs_without_work_home_writes_under_flow_home(tmp_path, orfs, monkeypatch):
    monkeypatch.setenv("FAKE_ORFS_MODE", "old")
    res = run_flow("openroad", "4x4", tmp_path / "b")
    assert res.status == "passed", res.reason
    assert res.area_um2 == 14825310.2
    assert res.metrics["reports"][-1] == str(orfs / "logs" / "sky130hd" / "genesys_top_4x4" / "base" / "6_report.log")


def test_orfs_found_through_orfs_root(tmp_path, monkeypatch, orfs):
    monkeypatch.delenv("FLOW_HOME")
    monkeypatch.setenv("ORFS_ROOT", str(orfs.parent))
    res = run_flow("openroad", "4x4", tmp_path / "b", pdk="nangate45", clock_mhz=250)
    assert res.status == "passed", res.reason
    assert f"FLOW_HOME={orfs}" in res.command
    assert res.fmax_mhz == round(1000 / (4.0 + 1.84213), 1)
    assert (work_dir(tmp_path / "b") / "logs" / "nangate45" / "genesys_top_4x4" / "base" / "6_report.json").is_file()


def test_generated_design_runs_elsewhere_with_make_alone(tmp_path, orfs):
    """The skip path's promise: copy rtl/ and work/ to a machine with ORFS and run make FLOW_HOME=... there."""
    build = tmp_path / "b"
    run_flow("openroad", "4x4", build)
    moved = tmp_path / "elsewhere"
    shutil.copytree(build / "4x4" / "openroad", moved, ignore=shutil.ignore_patterns("logs", "reports"))
    shutil.rmtree(build)
    env = {**os.environ, "OPENROAD_EXE": "openroad"}
    out = subprocess.run(["make", f"FLOW_HOME={orfs}"], cwd=moved / "work", env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "read 20 Verilog files" in out.stdout
    assert (moved / "work" / "logs" / "sky130hd" / "genesys_top_4x4" / "base" / "6_report.json").is_file()


def test_makefile_without_flow_home_says_what_to_set(tmp_path):
    build = tmp_path / "b"
    run_flow("openroad", "4x4", build)
    out = subprocess.run(["make"], cwd=work_dir(build), capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "ERROR: FLOW_HOME='' is not the flow/ directory of OpenROAD-flow-scripts" in out.stdout
    assert reports.first_error(out.stdout).startswith("ERROR: FLOW_HOME=''")


# ---- report parsers --------------------------------------------------------------------------------------
def test_finish_report_2024_format():
    got = reports.parse_finish_report((DATA / "openroad_6_finish.rpt").read_text())
    assert got["worst_slack"] == -1.84 and got["tns"] == -2741.55 and got["wns"] == -1.84
    assert got["power_w"] == 0.530 and got["power_internal_w"] == 0.412 and got["power_leakage_w"] == 4.37e-05
    assert "area_um2" not in got  # report_design_area goes to the log, not the .rpt


def test_finish_report_older_format_and_design_area():
    got = reports.parse_finish_report((DATA / "openroad_6_finish_2023.rpt").read_text())
    assert got["worst_slack"] == -1.84 and got["tns"] == -2741.55 and got["power_w"] == 0.483
    assert got["area_um2"] == 14825310.0 and got["utilization"] == 0.4


def test_hold_lines_do_not_count_as_setup():
    got = reports.parse_finish_report("worst slack min 0.04\nworst slack max -0.50\ntns min 0.00\ntns max -3.25\n")
    assert got == {"worst_slack": -0.5, "hold_worst_slack": 0.04, "tns": -3.25, "hold_tns": 0.0}


def test_design_area_line_variants():
    assert reports.parse_design_area("Design area 4377 u^2 64% utilization.\n") == {"area_um2": 4377.0,
                                                                                    "utilization": 0.64}
    text = "Design area 100 u^2 10% utilization.\nDesign area 2.5e3 um^2 41.5% utilization.\n"
    assert reports.parse_design_area(text) == {"area_um2": 2500.0, "utilization": 0.415}
    assert reports.parse_design_area("no area here") == {}


def test_metrics_json_merge_units_and_missing_values(tmp_path):
    dirs = reports.run_dirs(tmp_path, "asap7", "genesys_top_4x4")
    dirs["logs"].mkdir(parents=True)
    (dirs["logs"] / "2_1_floorplan.json").write_text(json.dumps({"run__flow__platform__timing_units": "1ps",
                                                                 "floorplan__timing__setup__ws": -900}))
    (dirs["logs"] / "6_report.json").write_text(json.dumps({"finish__timing__setup__ws": -125.5,
                                                            "finish__timing__setup__tns": "N/A",
                                                            "finish__design__instance__area": 812.25}))
    got = reports.collect(dirs, default_time_unit_ns=1.0)
    assert got["time_unit_ns"] == 1e-3
    assert got["figures"]["worst_slack_ns"] == -0.1255 and "tns_ns" not in got["figures"]
    assert got["figures"]["area_um2"] == 812.25
    assert [p.name for p in got["sources"]] == ["2_1_floorplan.json", "6_report.json"]


def test_hierarchical_metadata_is_flattened(tmp_path):
    dirs = reports.run_dirs(tmp_path, "sky130hd", "d")
    dirs["reports"].mkdir(parents=True)
    (dirs["reports"] / "metadata.json").write_text(json.dumps(
        {"finish": {"timing": {"setup": {"ws": 0.25, "tns": 0}}, "power": {"total": 0.01}}}))
    assert reports.find_run([tmp_path / "none", tmp_path], "sky130hd", "d") == dirs
    f = reports.collect(dirs)["figures"]
    assert f["worst_slack_ns"] == 0.25 and f["tns_ns"] == 0.0 and f["power_w"] == 0.01


def test_sample_json_keys_map_to_figures():
    data = json.loads((DATA / "openroad_6_report.json").read_text())
    got = reports.finish_metrics(data)
    assert got["area_um2"] == 14825310.2 and got["worst_slack"] == -1.84213 and got["power_w"] == 0.530132
    assert got["utilization"] == 0.400002 and got["fmax_hz"] == 146152000.0 and got["hold_violations"] == 0


def test_first_error_prefers_the_openroad_message():
    text = (DATA / "openroad_make_failed.log").read_text()
    assert reports.first_error(text) == "[ERROR GPL-0302] Use a higher -density or re-floorplan with a larger core area."
    assert reports.first_error("ERROR: Module `foo' referenced in module `genesys_top' is not part of the design.\n"
                               "make: *** [Makefile:25: finish] Error 2") .startswith("ERROR: Module `foo'")
    assert reports.first_error("make[1]: *** [Makefile:440: do-1_1_yosys] Error 1\n") == \
        "make[1]: *** [Makefile:440: do-1_1_yosys] Error 1"
    assert reports.first_error("[WARNING STA-0366] port not found\nall fine\n") == ""
