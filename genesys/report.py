"""The summary report: every flow result under the build dir as one table, in Markdown and HTML.

``genesys report`` reads each ``<build>/<preset>/<flow>/result.json`` into a
:class:`~genesys.flows.result.FlowResult`, then renders the same list twice: :func:`render_markdown`
and :func:`render_html` (a standalone page with status colours). ``summary.json`` holds the list as
data. A result file that cannot be read becomes a row with status ``error`` naming the file.
"""

from __future__ import annotations

import argparse
import html
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from genesys.arch import list_presets
from genesys.errors import GenesysError
from genesys.flows.result import RESULT_FILE, FlowResult, now_iso

FLOW_ORDER = ("lint", "sim", "sim_icarus", "synth")
STATUS_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700", "error": "#8250df"}
NO_RESULTS = "no flow results under {dir}; run `genesys regress` (or `genesys flow ...`) first."


# ---- reading ---------------------------------------------------------------------------------------
def collect(build_dir: Path | str) -> list[FlowResult]:
    """Every result under ``build_dir`` (``<preset>/<flow>/result.json``), sorted preset x flow.

    Unreadable files become ``error`` rows (preset and flow from the path, the problem as the reason)."""
    build_dir = Path(build_dir)
    results = []
    for path in sorted(build_dir.glob(f"*/*/{RESULT_FILE}")):
        try:
            results.append(FlowResult.read(path))
        except (GenesysError, OSError, UnicodeDecodeError) as e:
            results.append(FlowResult(preset=path.parent.parent.name, flow=path.parent.name, status="error",
                                      reason=f"unreadable result file {path}: {e}"))
    return sorted(results, key=_sort_key)


def _sort_key(r: FlowResult) -> tuple:
    presets = list_presets()
    p = (0, presets.index(r.preset), "") if r.preset in presets else (1, 0, r.preset)
    f = (FLOW_ORDER.index(r.flow), "") if r.flow in FLOW_ORDER else (len(FLOW_ORDER), r.flow)
    return p + f


# ---- cells of the table ---------------------------------------------------------------------------------
def format_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def key_metrics(r: FlowResult) -> str:
    """The few numbers that matter for a flow, from its metrics (empty when it did not run)."""
    m = r.metrics or {}
    if r.status in ("skipped", "error"):
        return ""
    parts: list[str] = []
    if r.flow == "lint":
        parts.append(f"{r.warnings} warning{'s' if r.warnings != 1 else ''}")
        if m.get("errors"):
            parts.append(f"{m['errors']} error{'s' if m['errors'] != 1 else ''}")
        codes = m.get("warnings_by_code") or {}
        if codes:
            parts.append(", ".join(f"{c} {n}" for c, n in sorted(codes.items(), key=lambda kv: -kv[1])[:3]))
    elif r.flow.startswith("sim"):
        if "tests" in m:
            parts.append(f"{m['tests'] - m.get('failures', 0)}/{m['tests']} tests")
        if m.get("items") is not None:
            parts.append(f"{m['items']} items")
        cov = coverage_summary(m.get("coverage") or {})
        if cov:
            parts.append(cov)
        if m.get("sim_cycles"):
            parts.append(f"{m['sim_cycles']:,} cycles")
    elif r.flow == "rtl":
        if m.get("programs_total") is not None:
            parts.append(f"{m['programs_passed']}/{m['programs_total']} programs bit-exact")
        if m.get("rtl_cycles"):
            parts.append(f"{m['rtl_cycles']:,} cycles ({m.get('rtl_vs_sim', 0):+.0%} vs timing model)")
        if m.get("cycles_per_second"):
            parts.append(f"{m['cycles_per_second'] / 1e3:,.0f} k cycles/s")
    elif r.flow == "synth":
        if m.get("cells") is not None:
            parts.append(f"{m['cells']:,} cells")
        by_type = m.get("cells_by_type") or {}
        flops = sum(n for t, n in by_type.items() if "DFF" in t.upper())
        if by_type:
            parts.append(f"{flops:,} flip-flops")
        if m.get("memory_bits"):
            parts.append(f"{m['memories']} memories ({m['memory_bits']:,} bits)")
        if m.get("peak_rss_mb"):
            parts.append(f"{m['peak_rss_mb']:,.0f} MB peak")
    else:
        parts.extend(f"{k} {v}" for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    if r.warnings and r.flow != "lint":
        parts.append(f"{r.warnings} warning{'s' if r.warnings != 1 else ''}")
    return "; ".join(parts)


def coverage_summary(cov: dict[str, Any]) -> str:
    """One figure for the verification's coverage dict ({"percent", "bins_hit", "bins_total", ...})."""
    parts = []
    if isinstance(cov.get("percent"), (int, float)):
        parts.append(f"coverage {cov['percent']:.1f}%")
    if isinstance(cov.get("bins_hit"), int) and isinstance(cov.get("bins_total"), int):
        parts.append(f"{cov['bins_hit']}/{cov['bins_total']} bins")
    return " ".join(parts[:1] + [f"({parts[1]})"] if len(parts) == 2 else parts)


def _tool(r: FlowResult) -> str:
    return f"{r.tool} {r.tool_version}".strip()


def _log_link(r: FlowResult, build_dir: Path, out_dir: Path) -> str:
    if not r.log:
        return ""
    return os.path.relpath(build_dir.resolve() / r.log, out_dir.resolve())


def _notes(r: FlowResult) -> str:
    return r.reason if r.status != "passed" else ""


def totals(results: list[FlowResult]) -> dict[str, int]:
    c = Counter(r.status for r in results)
    return {s: c.get(s, 0) for s in ("passed", "failed", "skipped", "error")}


HEADERS = ("Preset", "Flow", "Status", "Time", "Tool", "Key metrics", "Notes", "Log")


def rows(results: list[FlowResult], build_dir: Path, out_dir: Path) -> list[dict[str, str]]:
    """The table as plain strings, shared by both renderers."""
    return [{"Preset": r.preset, "Flow": r.flow, "Status": r.status,
             "Time": format_seconds(r.wall_seconds) if r.status != "error" else "",
             "Tool": _tool(r), "Key metrics": key_metrics(r), "Notes": _notes(r),
             "Log": _log_link(r, build_dir, out_dir)} for r in results]


# ---- renderers -----------------------------------------------------------------------------------------
def render_markdown(results: list[FlowResult], build_dir: Path, out_dir: Path) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    t = totals(results)
    lines = ["# GeneSys flow summary", "",
             f"{len(results)} results: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped"
             + (f", {t['error']} unreadable" if t["error"] else "") + ".", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    for row in rows(results, build_dir, out_dir):
        shown = dict(row, Status=f"**{row['Status']}**" if row["Status"] in ("failed", "error") else row["Status"],
                     Log=f"[log]({row['Log']})" if row["Log"] else "")
        lines.append("| " + " | ".join(cell(shown[h]) for h in HEADERS) + " |")
    return "\n".join(lines) + "\n"


def render_html(results: list[FlowResult], build_dir: Path, out_dir: Path) -> str:
    esc = html.escape
    t = totals(results)
    style = "\n".join([
        "body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}",
        "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;"
        "vertical-align:top}th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}",
        *(f"td.{s}{{color:#fff;background:{c};font-weight:600}}" for s, c in STATUS_COLOURS.items()),
    ])
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           "<title>GeneSys flow summary</title>", f"<style>\n{style}\n</style>", "</head>", "<body>",
           "<h1>GeneSys flow summary</h1>",
           f"<p>{len(results)} results: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped"
           + (f", {t['error']} unreadable" if t["error"] else "") + f". Generated {esc(now_iso())}.</p>",
           "<table>", "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in HEADERS) + "</tr></thead>", "<tbody>"]
    for row in rows(results, build_dir, out_dir):
        cells = []
        for h in HEADERS:
            value = row[h]
            if h == "Status":
                cells.append(f'<td class="{esc(value)}">{esc(value)}</td>')
            elif h == "Log":
                cells.append(f'<td><a href="{esc(value)}">log</a></td>' if value else "<td></td>")
            elif h == "Time":
                cells.append(f'<td class="num">{esc(value)}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def write_summary(build_dir: Path | str = "build", out_dir: Path | str | None = None) -> dict[str, Any]:
    """Write summary.md, summary.html and summary.json into ``out_dir`` (default: the build dir).

    Raises GenesysError when there is nothing to summarise."""
    build_dir = Path(build_dir)
    out_dir = Path(out_dir) if out_dir is not None else build_dir
    results = collect(build_dir) if build_dir.is_dir() else []
    if not results:
        raise GenesysError(NO_RESULTS.format(dir=build_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(results, build_dir, out_dir)
    paths = {"md": out_dir / "summary.md", "html": out_dir / "summary.html", "json": out_dir / "summary.json",
             "junit": out_dir / "junit.xml"}
    paths["md"].write_text(markdown)
    paths["html"].write_text(render_html(results, build_dir, out_dir))
    paths["json"].write_text(json.dumps({"generated": now_iso(), "build_dir": str(build_dir.resolve()),
                                         "totals": totals(results),
                                         "results": [r.to_dict() for r in results]}, indent=2) + "\n")
    paths["junit"].write_text(render_junit(results, build_dir))
    return {"results": results, "markdown": markdown, "paths": paths}


def render_junit(results: list[FlowResult], build_dir: Path) -> str:
    """JUnit XML for CI systems: one test suite per preset, one test case per flow (failed: the reason and
    the log's path; skipped: the reason); the key metrics go into the case's system-out."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="genesys regress")
    for preset in sorted({r.preset for r in results}):
        mine = [r for r in results if r.preset == preset]
        suite = ET.SubElement(root, "testsuite", name=preset, tests=str(len(mine)),
                              failures=str(sum(r.status == "failed" for r in mine)),
                              errors=str(sum(r.status == "error" for r in mine)),
                              skipped=str(sum(r.status == "skipped" for r in mine)),
                              time=f"{sum(r.wall_seconds for r in mine):.3f}")
        for r in mine:
            case = ET.SubElement(suite, "testcase", classname=f"genesys.{preset}", name=r.flow,
                                 time=f"{r.wall_seconds:.3f}")
            log = f" (log: {build_dir / r.log})" if r.log else ""
            if r.status in ("failed", "error"):
                ET.SubElement(case, "failure" if r.status == "failed" else "error",
                              message=r.reason or r.status).text = (r.reason or r.status) + log
            elif r.status == "skipped":
                ET.SubElement(case, "skipped", message=r.reason or "skipped")
            key = key_metrics(r)
            if key:
                ET.SubElement(case, "system-out").text = key
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---- CLI -------------------------------------------------------------------------------------------------
def register(sub) -> None:
    p = sub.add_parser("report", help="summarise every flow result under the build dir (Markdown, HTML, JSON)")
    p.add_argument("--build-dir", default="build", type=Path, help="build root to read (default build)")
    p.add_argument("-o", "--out", type=Path, help="folder for summary.md/.html/.json (default: the build dir)")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    out = write_summary(args.build_dir, args.out)
    print(out["markdown"], end="")
    print(f"\nsummary: {out['paths']['md']}, {out['paths']['html']}, {out['paths']['json']}")
    return 0
