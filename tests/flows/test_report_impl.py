"""The summary report's implementation part: the second table, the estimate and memory-model labels, the
reasons and log links of failed or skipped runs, and the two plots (area per block, fmax versus array size).

The sample results (tests/flows/data/report_impl/<preset>/<flow>/result.json) are a 4x4 asic run with SRAM
macro stubs (a real sky130hd run, trimmed), a 16x16 asic run with flip-flop memories, a failed 8x8 asic run
with its reason and log, a 4x4 ECP5 run, a 4x4 Vivado estimate (Yosys synth_xilinx), a skipped (and
cached) 4x4 openroad run and a 4x4 lint run that must stay out of the implementation table.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from genesys import report
from genesys.arch import preset_path
from genesys.flows.result import FlowResult

DATA = Path(__file__).parent / "data" / "report_impl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def build(tmp_path) -> Path:
    root = tmp_path / "build"
    shutil.copytree(DATA, root)
    return root


def _is_png(path: Path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR"


def _impl_table(markdown: str) -> list[list[str]]:
    """The implementation table's rows (header first) as lists of cells."""
    lines = markdown.splitlines()
    start = lines.index("## Implementation") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return [rows[0]] + rows[2:]  # without the |---| line


# ---- the Markdown table ---------------------------------------------------------------------------------
def test_markdown_implementation_table(build):
    out = report.write_summary(build)
    table = _impl_table(out["markdown"])
    assert table[0] == list(report.IMPL_HEADERS)
    rows = {(r[0], r[1]): dict(zip(report.IMPL_HEADERS, r, strict=True)) for r in table[1:]}
    # only implementation flows, in preset x flow order (lint is in the main table only)
    assert [(r[0], r[1]) for r in table[1:]] == [("4x4", "asic"), ("4x4", "fpga"), ("4x4", "vivado"),
                                                ("4x4", "openroad"), ("8x8", "asic"), ("16x16", "asic")]
    assert "| 4x4 | lint | passed |" in out["markdown"]  # the main table still has it

    asic = rows["4x4", "asic"]
    assert (asic["Area (mm2)"], asic["Fmax (MHz)"], asic["WNS (ns)"], asic["Clock (MHz)"]) == \
        ("0.423", "108.3", "-4.231", "200")
    assert asic["Time"] == "29.1 s" and asic["Notes"] == "macro SRAM stubs"
    big = rows["16x16", "asic"]
    assert (big["Area (mm2)"], big["Fmax (MHz)"], big["Time"]) == ("7.14", "95.1", "30 min 43 s")
    assert big["Notes"] == "memories as flip-flops"

    fpga = rows["4x4", "fpga"]
    assert fpga["LUT / FF / DSP / BRAM"] == "12,345 (50%) / 1,500 (3%) / 16 (22%) / 40 (37%)"
    assert fpga["Fmax (MHz)"] == "72.4" and fpga["Area (mm2)"] == "" and "LFE5U-45F" in fpga["Notes"]

    vivado = rows["4x4", "vivado"]
    assert vivado["LUT / FF / DSP / BRAM"] == "est. 11,890 / 1,460 / 16 / 8"
    assert vivado["Notes"].startswith("estimate (Yosys synth_xilinx)")

    failed = rows["8x8", "asic"]
    assert failed["Status"] == "**failed**" and failed["Area (mm2)"] == failed["Fmax (MHz)"] == ""
    assert failed["Notes"] == ("Yosys map step failed: ERROR: Can't open liberty file `/nope/x.lib' for reading. "
                               "([log](8x8/asic/map.log))")
    skipped = rows["4x4", "openroad"]
    assert skipped["Status"] == "skipped" and "openroad not found on PATH" in skipped["Notes"]
    assert "cached" in skipped["Notes"] and "[log]" not in skipped["Notes"]  # no log to link
    assert "[log]" not in asic["Notes"]  # a passed run's log is in the main table


def test_key_metrics_of_the_implementation_flows(build):
    by = {(r.preset, r.flow): r for r in report.collect(build)}
    assert report.key_metrics(by["4x4", "asic"]).startswith(
        "area 0.423 mm2 (macro SRAM stubs); fmax 108 MHz (WNS -4.23 ns at 200 MHz)")
    assert report.key_metrics(by["16x16", "asic"]).startswith("area 7.14 mm2 (memories as flip-flops); fmax 95 MHz")
    assert report.key_metrics(by["4x4", "fpga"]) == ("LUT 12,345 (50%), FF 1,500 (3%), DSP 16 (22%), BRAM 40 (37%); "
                                                     "fmax 72 MHz (WNS -8.81 ns at 200 MHz) on LFE5U-45F")
    assert report.key_metrics(by["4x4", "vivado"]) == ("estimate (Yosys synth_xilinx); LUT 11,890, FF 1,460, "
                                                       "DSP 16, BRAM 8 on xc7a35ticsg324-1L")
    assert report.key_metrics(by["4x4", "openroad"]) == ""
    power = FlowResult(preset="4x4", flow="openroad", status="passed", area_um2=512345.0, fmax_mhz=140.2,
                       wns_ns=0.0, clock_mhz=100.0, metrics={"power_w": 0.0123})
    assert report.key_metrics(power) == "area 0.512 mm2; fmax 140 MHz (WNS 0.00 ns at 100 MHz); power 12.3 mW"


def test_estimate_labelled_everywhere_it_appears(build):
    out = report.write_summary(build)
    md = out["markdown"]
    main_row = next(line for line in md.splitlines() if line.startswith("| 4x4 | vivado | passed | 1 min 28 s"))
    assert "estimate (Yosys synth_xilinx)" in main_row
    assert "- **4x4 vivado**: estimate (Yosys synth_xilinx): vivado not found on PATH" in md
    page = out["paths"]["html"].read_text()
    assert page.count("estimate (Yosys synth_xilinx)") >= 3  # main table, implementation table, details
    junit = out["paths"]["junit"].read_text()
    assert "estimate (Yosys synth_xilinx)" in junit


def test_details_under_the_table_name_memory_model_and_critical_path(build):
    md = report.write_summary(build)["markdown"]
    line = next(x for x in md.splitlines() if x.startswith("- **4x4 asic**:"))
    assert "SRAM macro STUBS" in line and "critical path g_row[0].g_col[0].u_pe.bank.genblk2.macro ->" in line
    assert "(9.11 ns)" in line and "13,446 cells" in line and "library sky130_fd_sc_hd__tt_025C_1v80" in line
    assert not any(x.startswith("- **8x8 asic**") for x in md.splitlines())  # nothing measured on a failed run


# ---- HTML --------------------------------------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.links, self.images, self._cell = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "img":
            self.images.append(attrs)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None


def test_html_implementation_table_and_embedded_plots(build):
    out = report.write_summary(build)
    page = out["paths"]["html"].read_text()
    p = _Page()
    p.feed(page)
    assert len(p.tables) == 2
    impl = p.tables[1]
    assert impl[0] == list(report.IMPL_HEADERS)
    assert len(impl) == 1 + 6
    failed = dict(zip(report.IMPL_HEADERS, impl[5], strict=True))
    assert failed["Status"] == "failed" and failed["Notes"].endswith("for reading. (log)")
    assert "8x8/asic/map.log" in p.links
    assert '<td class="num">0.423</td>' in page
    assert [i["src"] for i in p.images] == [report.AREA_PLOT, report.FMAX_PLOT]
    assert all(i["alt"] for i in p.images)


# ---- plots -------------------------------------------------------------------------------------------------
def test_plots_are_written_next_to_the_summary_and_linked(build, tmp_path):
    out_dir = tmp_path / "reports"
    out = report.write_summary(build, out_dir)
    assert set(out["plots"]) == {"area", "fmax"}
    for path in out["plots"].values():
        assert path.parent == out_dir and _is_png(path), path
    assert out["plot_notes"] == []
    md = out["markdown"]
    assert f"![ASIC cell area by block]({report.AREA_PLOT})" in md
    assert f"![fmax versus array size]({report.FMAX_PLOT})" in md
    data = json.loads((out_dir / "summary.json").read_text())
    assert data["plots"] == {"area": report.AREA_PLOT, "fmax": report.FMAX_PLOT}


def test_plot_data(build):
    results = report.collect(build)
    area = report.area_plot_data(results)
    assert [(p, m) for p, m, _ in area] == [("4x4", "macro"), ("16x16", "ff")]  # passed asic runs only
    assert area[0][2]["array"] == pytest.approx(0.1266039)
    assert set(area[1][2]) == {"array", "buffers", "simd", "dma", "control", "glue"}  # whatever keys are there
    series, missing = report.fmax_plot_data(results, build)
    assert series == {"asic": [(16, "4x4", 108.3), (256, "16x16", 95.1)], "fpga": [(16, "4x4", 72.4)]}
    assert missing == []


def test_fmax_plot_array_size_from_preset_or_snapshot_else_left_out(build):
    for name in ("my_variant", "lost"):
        FlowResult(preset=name, flow="asic", status="passed", fmax_mhz=80.0).write(build)
    snap = build / "my_variant" / "lint" / "my_variant.yaml"
    snap.parent.mkdir(parents=True)
    shutil.copy(preset_path("8x4"), snap)  # the runner's snapshot of a YAML config (ARRAY 8x4)
    series, missing = report.fmax_plot_data(report.collect(build), build)
    assert (32, "my_variant", 80.0) in series["asic"]
    assert missing == ["lost"]
    out = report.write_summary(build)
    assert any("left out lost" in n for n in out["plot_notes"])
    assert "left out lost" in out["markdown"] and "left out lost" in out["paths"]["html"].read_text()
    assert _is_png(out["plots"]["fmax"])


def test_vivado_estimate_with_fmax_is_a_series_of_its_own(build):
    r = FlowResult.read(build / "4x4" / "vivado" / "result.json")
    r.fmax_mhz = 150.0
    r.write(build)
    series, _ = report.fmax_plot_data(report.collect(build), build)
    assert series["vivado (estimate (Yosys synth_xilinx))"] == [(16, "4x4", 150.0)]
    assert "vivado" not in series
    row = next(x for x in _impl_table(report.write_summary(build)["markdown"]) if x[1] == "vivado")
    assert row[4] == "est. 150.0"


def test_no_plot_without_data(tmp_path):
    build = tmp_path / "build"
    shutil.copytree(DATA / "4x4" / "lint", build / "4x4" / "lint")
    shutil.copytree(DATA / "4x4" / "openroad", build / "4x4" / "openroad")
    shutil.copytree(DATA / "8x8" / "asic", build / "8x8" / "asic")
    (build / report.AREA_PLOT).write_bytes(PNG_MAGIC)  # from an earlier summary with data: removed
    out = report.write_summary(build)
    assert out["plots"] == {} and out["plot_notes"] == []
    assert not list(build.glob("*.png"))
    assert "## Implementation" in out["markdown"]  # the skipped and failed runs are still listed
    assert "![" not in out["markdown"] and "<img" not in out["paths"]["html"].read_text()


def test_no_implementation_section_without_implementation_results(tmp_path):
    build = tmp_path / "build"
    shutil.copytree(DATA / "4x4" / "lint", build / "4x4" / "lint")
    out = report.write_summary(build)
    assert "Implementation" not in out["markdown"] and "Implementation" not in out["paths"]["html"].read_text()
    assert out["plots"] == {}


def test_a_failing_plot_never_fails_the_summary(build, monkeypatch):
    def boom(data, path):
        path.write_bytes(b"half")
        raise RuntimeError("no fonts")

    monkeypatch.setattr(report, "draw_area_plot", boom)
    out = report.write_summary(build)
    assert set(out["plots"]) == {"fmax"}
    assert not (build / report.AREA_PLOT).exists()
    assert out["plot_notes"] == ["plot of area by block not drawn: RuntimeError: no fonts"]
    assert "- plot of area by block not drawn: RuntimeError: no fonts" in out["markdown"]
    assert "not drawn: RuntimeError: no fonts" in out["paths"]["html"].read_text()
    assert report.AREA_PLOT not in out["markdown"]


# ---- summary.json, ordering, formatting -------------------------------------------------------------------
def test_summary_json_keeps_the_typed_figures_and_metrics(build):
    report.write_summary(build)
    data = json.loads((build / "summary.json").read_text())
    by = {(r["preset"], r["flow"]): r for r in data["results"]}
    asic = by["4x4", "asic"]
    assert (asic["area_um2"], asic["fmax_mhz"], asic["wns_ns"], asic["tns_ns"], asic["clock_mhz"]) == \
        (423461.5, 108.3, -4.231, -947.78, 200.0)
    assert asic["metrics"]["area_by_block"]["buffers"] == 296857.6
    assert asic["metrics"]["critical_path"]["delay_ns"] == 9.11
    fpga = by["4x4", "fpga"]
    assert (fpga["luts"], fpga["ffs"], fpga["dsps"], fpga["brams"]) == (12345, 1500, 16, 40)
    assert by["4x4", "vivado"]["metrics"]["estimate"] is True
    assert by["4x4", "openroad"]["metrics"]["cached"] is True
    assert all(r["schema"] == "genesys.flow_result/2" for r in data["results"])


def test_flow_order_puts_variants_after_their_flow():
    flows = ["openroad", "synth", "rtl_s10", "sim_npu", "vivado", "rtl", "zz_custom", "asic", "rtl_s2", "sim",
             "fpga", "lint", "sim_icarus"]
    got = [r.flow for r in sorted((FlowResult(preset="4x4", flow=f, status="passed") for f in flows),
                                  key=report._sort_key)]
    assert got == ["lint", "sim", "sim_npu", "sim_icarus", "rtl", "rtl_s2", "rtl_s10", "synth", "asic", "fpga",
                   "vivado", "openroad", "zz_custom"]


@pytest.mark.parametrize("um2, text", [(1_234_567.0, "1.23"), (45_600.0, "0.0456"), (12_345_678.0, "12.3"),
                                       (1_234_000_000.0, "1,234"), (0.0, "0")])
def test_format_mm2(um2, text):
    assert report.format_mm2(um2) == text
