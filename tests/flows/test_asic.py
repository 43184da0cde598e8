"""The asic flow: PDK lookup, Liberty preparation, SRAM macro stubs, report parsing, area attribution, and real
Yosys + OpenSTA runs on small blocks (the whole NPU runs in `nox -s asic`)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from genesys import cli as genesys_cli
from genesys.errors import GenesysError
from genesys.flows import asic, parsers, pdk, sram_macros
from genesys.flows.runner import run_flow
from genesys.tools import find_tool

DATA = Path(__file__).parent / "data"
needs_tools = pytest.mark.skipif(not (find_tool("yosys").found and find_tool("opensta").found),
                                 reason="needs yosys and opensta (sudo apt-get install yosys opensta)")


def _shared_lib(name: str) -> Path:
    try:
        return pdk.find_liberty(name)[0]
    except GenesysError as e:
        pytest.skip(str(e))


# ---- PDK lookup --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,tech", [("sky130A", "sky130hd"), ("sky130_fd_sc_hd", "sky130hd"),
                                       ("sky130hd", "sky130hd"), ("nangate45", "nangate45")])
def test_pdk_names_follow_the_openlane_convention(name, tech):
    assert pdk.technology(name).name == tech


def test_unknown_pdk_lists_the_known_names():
    with pytest.raises(GenesysError, match="unknown PDK 'gf180'.*sky130A.*nangate45.*--liberty"):
        pdk.technology("gf180")


def test_pdk_root_layout_is_found_before_the_shared_folder(tmp_path, monkeypatch):
    src = _shared_lib("nangate45")
    target = tmp_path / "nangate45" / "lib" / "NangateOpenCellLibrary_typical.lib"
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.decompress(src.read_bytes()))
    monkeypatch.setenv("PDK_ROOT", str(tmp_path))
    path, tech = pdk.find_liberty("nangate45")
    assert path == target and tech.name == "nangate45"


def test_missing_liberty_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("PDK_ROOT", str(tmp_path))
    monkeypatch.setattr(pdk, "shared_pdk_dirs", lambda: [tmp_path / "nowhere"])
    with pytest.raises(GenesysError, match=r"no Liberty file for PDK sky130hd; looked in: .*sky130A/libs.ref"):
        pdk.find_liberty("sky130A")
    with pytest.raises(GenesysError, match="not found"):
        pdk.find_liberty(liberty=tmp_path / "x.lib")


def test_a_liberty_file_tells_its_technology():
    assert pdk.find_liberty(liberty=_shared_lib("sky130hd"))[1].name == "sky130hd"
    assert pdk.find_liberty(liberty=_shared_lib("nangate45"))[1].name == "nangate45"


def test_prepared_liberty_drops_dont_use_cells_and_knows_areas(tmp_path):
    src = _shared_lib("sky130hd")
    lib = pdk.prepare_liberty(src, pdk.technology("sky130hd"), tmp_path)
    text = lib.path.read_text()
    assert "sky130_fd_sc_hd__probe_p_8" in lib.removed and "cell (\"sky130_fd_sc_hd__probe_p_8\")" not in text
    assert not any(c.startswith("sky130_fd_sc_hd__lpflow_") for c in lib.areas)
    assert lib.areas["sky130_fd_sc_hd__inv_1"] == pytest.approx(3.7536)
    assert text.count("{") == text.count("}")
    assert lib.time_unit_ns == 1.0 and lib.cap_unit_pf == 1.0


# ---- SRAM macro stubs ---------------------------------------------------------------------------------
def _mem_json(**over) -> str:
    params = {"SIZE": "00000000000000000000001000000000", "WIDTH": "00000000000000000000000000100000",
              "ABITS": "00000000000000000000000000001001", "RD_PORTS": "00000000000000000000000000000010",
              "WR_PORTS": "00000000000000000000000000000001", "RD_CLK_ENABLE": "11", "RD_TRANSPARENCY_MASK": "00",
              "RD_WIDE_CONTINUATION": "00", "WR_WIDE_CONTINUATION": "0", "OFFSET": "0", "INIT": "x" * 64,
              "MEMID": "\\mem", "RD_CLK_POLARITY": "11", "WR_CLK_POLARITY": "1"}
    params.update(over)
    return json.dumps({"modules": {"$paramod$abc\\genesys_sa_ram": {"cells": {
        "\\mem": {"type": "$mem_v2", "parameters": params, "connections": {"RD_ARST": ["0", "0"]}}}}}})


def test_memories_are_read_from_the_yosys_json():
    (m,) = sram_macros.parse_memories(_mem_json())
    assert (m.size, m.width, m.abits, m.rd_ports, m.wr_ports, m.bits) == (512, 32, 9, 2, 1, 16384)
    assert m.sync_read and m.plain and m.why_not_macro() == "" and asic.module_base(m.module) == "genesys_sa_ram"
    assert m.macro_name() == "genesys_sram_512x32_2r1w"


@pytest.mark.parametrize("over,why", [({"RD_CLK_ENABLE": "01"}, "asynchronous read"),
                                      ({"RD_TRANSPARENCY_MASK": "10"}, "transparency"),
                                      ({"SIZE": "1000"}, "bits <")])
def test_memories_that_a_macro_cannot_be_stay_flops(over, why):
    (m,) = sram_macros.parse_memories(_mem_json(**over))
    assert why in m.why_not_macro()


def test_macro_area_model_grows_with_bits_and_ports():
    model = pdk.technology("sky130hd").sram
    a = sram_macros.macro_area
    assert a(model, 1024, 32, 2) > a(model, 512, 32, 2) > a(model, 512, 32, 1) * 0 + a(model, 256, 32, 2)
    assert a(model, 512, 32, 3) > a(model, 512, 32, 2)
    assert sram_macros.macro_access_ns(model, 4096) > sram_macros.macro_access_ns(model, 64)


def test_stub_liberty_has_one_cell_per_shape_with_timing():
    model = pdk.technology("nangate45").sram
    text = sram_macros.liberty([(512, 32, 9, 2, 1), (128, 8, 7, 1, 1)], model)
    assert text.count("  cell (") == 2 and "cell (genesys_sram_512x32_2r1w)" in text
    assert "bit_width : 18;" in text  # RD_ADDR of two ports
    assert "timing_type : rising_edge" in text and "timing_type : setup_rising" in text
    assert "STUBS from a capacity model" in text and text.count("{") == text.count("}")


# ---- report parsing and area attribution -------------------------------------------------------------------
def test_sta_worst_path_is_parsed():
    text = (DATA / "opensta_report_checks.log").read_text()
    p = parsers.parse_sta_checks(text)
    assert p["start"] == "g_row[0].g_col[0].u_pe.bank.genblk2.macro"
    assert p["end"].startswith("g_row[0].g_col[0].u_pe.psum_out")
    assert p["slack_ns"] == pytest.approx(-4.231) and not p["met"]
    assert p["arrival_ns"] == pytest.approx(9.11)
    assert parsers.parse_sta_value(text, "tns") == pytest.approx(-947.78)
    assert parsers.parse_sta_value("wns max -0.42\ntns max -3.5\n", "tns") == -3.5  # OpenSTA 2024 form
    assert parsers.parse_sta_value("wns max -0.42\n", "tns") is None


def test_area_is_attributed_to_blocks_with_instance_counts():
    stat = {"modules": {
        "genesys_top": {"cells_by_type": {"INV_X1": 10, "$paramod\\genesys_pe": 4, "genesys_simd_fu": 1}},
        "$paramod\\genesys_pe": {"cells_by_type": {"NAND2_X1": 5, "genesys_sram_64x8_1r1w": 1}},
        "genesys_simd_fu": {"cells_by_type": {"INV_X1": 2}}},
        "instances": {"genesys_top": 1, "$paramod\\genesys_pe": 4, "genesys_simd_fu": 1}}
    r = asic.area_report(stat, {"INV_X1": 1.0, "NAND2_X1": 2.0}, {"genesys_sram_64x8_1r1w": 100.0})
    assert r["by_block"] == {"array": 40.0, "buffers": 400.0, "simd": 2.0, "dma": 0.0, "control": 10.0}
    assert r["total_um2"] == 452.0 and r["cells"] == 10 + 20 + 4 + 2 and r["unknown"] == []


def test_hierarchical_stat_gives_modules_and_instances():
    s = parsers.parse_yosys_stat_modules((DATA / "yosys_stat_modules_liberty.txt").read_text())
    assert s["top"] == "top" and len(s["modules"]) == 3
    assert sum(s["instances"].values()) == 3
    assert s["modules"]["top"]["cells"] == 2


def test_critical_path_registers_are_named_by_the_rtl_signal_on_their_output():
    netlist = """  sky130_fd_sc_hd__dfxtp_1 _657327_ (
    .CLK(\\u_simd.u_fu.clk ),
    .D(_239980_),
    .Q(\\u_simd.u_fu.s1_f1[2] )
  );
  sky130_fd_sc_hd__dfxtp_1 _683190_ (
    .CLK(clk),
    .D(_1_),
    .Q(_2_)
  );
"""
    assert asic.register_signals(netlist, "_657327_", "_683190_") == {"start_signal": "u_simd.u_fu.s1_f1[2]"}
    assert asic.register_signals(netlist, "u_pe.bank.macro", "_657327_") == {"end_signal": "u_simd.u_fu.s1_f1[2]"}


# ---- real runs ---------------------------------------------------------------------------------------------
@pytest.mark.synth_required
@needs_tools
def test_asic_flow_on_the_4x4_array_with_macros_then_cached(tmp_path):
    t0 = time.monotonic()
    r = run_flow("asic", "4x4", tmp_path, block="systolic_array", pdk="nangate45", clock_mhz=400)
    first = time.monotonic() - t0
    assert r.status == "passed", r.reason
    assert r.tool == "yosys" and r.clock_mhz == 400 and r.area_um2 > 0 and r.fmax_mhz > 0
    m = r.metrics
    assert m["area_by_block"]["array"] > 0 and m["area_by_block"]["buffers"] > 0
    assert m["macros"] == 16 and "macro STUBS" in m["memory_note"]  # one weight bank per PE
    assert sum(m["area_by_block"].values()) == pytest.approx(r.area_um2, rel=1e-3)
    assert r.wns_ns == round(m["worst_slack_ns"], 3) and r.fmax_mhz == pytest.approx(1000 / (2.5 - m["worst_slack_ns"]), rel=1e-3)
    assert "u_pe" in m["critical_path"]["start"] + m["critical_path"]["end"]  # names survive flattening
    on_disk = json.loads((tmp_path / "4x4" / "asic" / "result.json").read_text())
    assert on_disk["area_um2"] == r.area_um2 and on_disk["cache_key"]
    abc = (tmp_path / "4x4" / "asic" / "work" / "abc.script").read_text()  # buffering and sizing at the period
    assert "&nf -D 2500" in abc and "buffer -p -N 16" in abc and "upsize -D 2500" in abc
    assert (tmp_path / "4x4" / "asic" / "work" / "abc.constr").read_text() == "set_driving_cell BUF_X2\nset_load 10.0\n"
    assert "ABC: Start-point = " in (tmp_path / "4x4" / "asic" / "map.log").read_text()  # stime -p ran: the script did

    t0 = time.monotonic()
    again = run_flow("asic", "4x4", tmp_path, block="systolic_array", pdk="nangate45", clock_mhz=400)
    assert again.metrics.get("cached") and again.area_um2 == r.area_um2
    assert time.monotonic() - t0 < min(10, first / 2)
    other = run_flow("asic", "4x4", tmp_path, block="systolic_array", pdk="nangate45", clock_mhz=500, force=None)
    assert not other.metrics.get("cached") and other.clock_mhz == 500


@pytest.mark.synth_required
@needs_tools
def test_asic_flow_with_flip_flop_memories_on_the_dma(tmp_path):
    r = run_flow("asic", "4x4", tmp_path, block="dma", memories="ff")
    assert r.status == "passed", r.reason
    assert r.metrics["macros"] == 0 and "flip-flops (--memories ff)" in r.metrics["memory_note"]
    assert r.metrics["area_by_block"]["dma"] == pytest.approx(r.area_um2, rel=1e-3)
    assert r.metrics["pdk"] == "sky130hd"


@pytest.mark.synth_required
@needs_tools
def test_sram_techmap_keeps_behaviour(tmp_path):
    """A memory with a reset read register mapped to a macro behaves like the RTL: both simulated by Icarus
    with the macro's behavioural model, on random stimulus."""
    if not shutil.which("iverilog"):
        pytest.skip("needs iverilog")
    rtl = tmp_path / "m.v"
    rtl.write_text("""
module m (input clk, input rst, input we, input re, input [5:0] wa, input [5:0] ra, input [15:0] d,
          input [1:0] be, output reg [15:0] q);
  reg [15:0] mem [0:63];
  always @(posedge clk) begin
    if (we && be[0]) mem[wa][7:0] <= d[7:0];
    if (we && be[1]) mem[wa][15:8] <= d[15:8];
  end
  always @(posedge clk) if (rst) q <= 16'h0; else if (re) q <= mem[ra];
endmodule
""")
    subprocess.run(["yosys", "-q", "-p", f"read_verilog {rtl}; synth -top m -run :fine; write_json {tmp_path}/j.json"],
                   check=True)
    mems = sram_macros.parse_memories((tmp_path / "j.json").read_text())
    tm, lib, shapes = sram_macros.write_files(tmp_path, mems, pdk.technology("sky130hd").sram, min_bits=64)
    assert shapes == [(64, 16, 6, 1, 1)]
    subprocess.run(["yosys", "-q", "-p", f"read_verilog {rtl}; synth -top m -run :fine; read_liberty -lib {lib}; "
                    f"techmap -map {tm}; opt; memory_map; opt; techmap; opt; rename m mapped; "
                    f"write_verilog -noattr {tmp_path}/mapped.v"], check=True)
    assert "genesys_sram_64x16_1r1w" in (tmp_path / "mapped.v").read_text()
    (tmp_path / "model.v").write_text(sram_macros.simulation_model(shapes))
    tb = tmp_path / "tb.v"
    tb.write_text("""
module tb;
  reg clk = 0, rst = 1, we = 0, re = 0; reg [5:0] wa = 0, ra = 0; reg [15:0] d = 0; reg [1:0] be = 0;
  wire [15:0] q1, q2; integer i, bad = 0;
  m ref (.clk(clk), .rst(rst), .we(we), .re(re), .wa(wa), .ra(ra), .d(d), .be(be), .q(q1));
  mapped dut (.clk(clk), .rst(rst), .we(we), .re(re), .wa(wa), .ra(ra), .d(d), .be(be), .q(q2));
  always #5 clk = ~clk;
  initial begin
    for (i = 0; i < 64; i = i + 1) begin @(negedge clk); rst = 0; we = 1; be = 3; wa = i; d = $random; end
    for (i = 0; i < 4000; i = i + 1) begin
      @(negedge clk);
      if (i > 0 && q1 !== q2) bad = bad + 1;
      rst = ($random % 9) == 0; we = $random; re = $random; wa = $random; ra = $random; d = $random; be = $random;
    end
    $display("MISMATCHES %0d", bad); $finish;
  end
endmodule
""")
    subprocess.run(["iverilog", "-o", str(tmp_path / "sim"), str(tb), str(rtl), str(tmp_path / "mapped.v"),
                    str(tmp_path / "model.v")], check=True)
    out = subprocess.run(["vvp", str(tmp_path / "sim")], capture_output=True, text=True, check=True).stdout
    assert "MISMATCHES 0" in out, out


# ---- the command line -----------------------------------------------------------------------------------
def test_flow_command_rejects_options_of_other_flows(tmp_path, capsys):
    assert genesys_cli.main(["flow", "asic", "--device", "LFE5U-25F", "--build-dir", str(tmp_path)]) != 0
    assert "flow asic has no option --device; its options: --clock-mhz, --liberty, --memories, --pdk" in \
        capsys.readouterr().err
    assert not (tmp_path / "4x4").exists()  # refused before any work
    assert genesys_cli.main(["flow", "lint", "--pdk", "nangate45", "--build-dir", str(tmp_path)]) != 0
    assert "flow lint has no option --pdk (the implementation flows asic, fpga, vivado, openroad take it)" in \
        capsys.readouterr().err
    assert genesys_cli.main(["flow", "synth", "--force", "--build-dir", str(tmp_path)]) != 0
    assert "flow synth has no option --force" in capsys.readouterr().err
    assert not (tmp_path / "4x4").exists()


def test_a_wrong_pdk_or_liberty_fails_and_a_missing_pdk_skips(tmp_path, monkeypatch):
    if not (find_tool("yosys").found and find_tool("opensta").found):
        pytest.skip("needs yosys and opensta")
    r = run_flow("asic", "4x4", tmp_path, block="dma", liberty=str(tmp_path / "nope.lib"))
    assert r.status == "failed" and "nope.lib not found (--liberty)" in r.reason
    r = run_flow("asic", "4x4", tmp_path, block="dma", clock_mhz=0)
    assert r.status == "failed" and r.reason == "--clock-mhz must be in (0, 10000], not 0"
    monkeypatch.setenv("GENESYS_PDK_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(pdk, "shared_pdk_dirs", lambda: [tmp_path / "empty"])
    monkeypatch.delenv("PDK_ROOT", raising=False)
    r = run_flow("asic", "4x4", tmp_path, block="dma", pdk="nangate45")
    assert r.status == "skipped" and r.reason.startswith("no Liberty file for PDK nangate45; looked in")


def test_bad_memories_value_is_a_clear_failure(tmp_path):
    if not (find_tool("yosys").found and find_tool("opensta").found):
        pytest.skip("needs yosys and opensta")
    r = run_flow("asic", "4x4", tmp_path, block="dma", memories="sram")
    assert r.status == "failed" and "--memories must be one of macro, ff" in r.reason
