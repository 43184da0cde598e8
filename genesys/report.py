"""The summary report: every flow result under the build dir as one table, in Markdown and HTML.

``genesys report`` reads each ``<build>/<preset>/<flow>/result.json`` into a
:class:`~genesys.flows.result.FlowResult`, then renders the same list twice: :func:`render_markdown`
and :func:`render_html` (a standalone page with status colours). ``summary.json`` holds the list as
data. A result file that cannot be read becomes a row with status ``error`` naming the file.

The implementation flows (asic, fpga, vivado, openroad) get a second table of their typed figures (area,
fmax, WNS, FPGA resources) and two plots drawn with matplotlib next to ``summary.md``: the ASIC area per
block for each preset, and fmax against the array size for each flow. A plot that cannot be drawn is
named in the summary instead; it never stops the summary.
"""

from __future__ import annotations

import argparse
import glob
import html
import json
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from genesys.arch import list_presets, load_arch
from genesys.errors import GenesysError
from genesys.flows.impl import IMPL_FLOWS as _IMPL_FLOW_MODULES
from genesys.flows.result import RESULT_FILE, FlowResult, now_iso

# Flows in report order; a variant "<flow>_<suffix>" (sim_npu, rtl_s2) follows its flow.
IMPL_FLOWS = tuple(_IMPL_FLOW_MODULES)  # the implementation flows, as genesys.flows.impl lists them
FLOW_ORDER = ("lint", "sim", "sim_icarus", "rtl", "synth", *IMPL_FLOWS)
ESTIMATE_LABEL = "estimate (Yosys synth_xilinx)"
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
    return p + _flow_rank(r.flow)


def _flow_rank(flow: str) -> tuple:
    """FLOW_ORDER's position; a variant ``<flow>_<suffix>`` right after its flow (natural order of the
    suffixes: rtl_s2 before rtl_s10); unknown flows last, by name."""
    natural = tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", flow) if t)
    if flow in FLOW_ORDER:
        return (FLOW_ORDER.index(flow), 0, natural)
    bases = [b for b in FLOW_ORDER if flow.startswith(b + "_")]
    if bases:
        return (FLOW_ORDER.index(max(bases, key=len)), 1, natural)
    return (len(FLOW_ORDER), 0, natural)


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
    elif r.flow in IMPL_FLOWS:
        parts.extend(_impl_key_metrics(r))
    else:
        parts.extend(f"{k} {v}" for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    if r.warnings and r.flow != "lint":
        parts.append(f"{r.warnings} warning{'s' if r.warnings != 1 else ''}")
    return "; ".join(parts)


def _impl_key_metrics(r: FlowResult) -> list[str]:
    """asic/openroad: "area 1.23 mm2 (macro SRAM stubs)", "fmax 187 MHz (WNS -0.35 ns at 200 MHz)";
    fpga/vivado: "LUT 12,345 (50%), FF ..., DSP 16, BRAM 40", "fmax 72 MHz on LFE5U-45F"; a Vivado estimate
    starts with "estimate (Yosys synth_xilinx)"."""
    m = r.metrics or {}
    parts: list[str] = []
    if is_estimate(r):
        parts.append(ESTIMATE_LABEL)
    if r.area_um2 is not None:
        model = memory_model_label(r)
        parts.append(f"area {format_mm2(r.area_um2)} mm2" + (f" ({model})" if model else ""))
    resources = resources_text(r, with_pct=True)
    if resources:
        parts.append(resources)
    timing = []
    if r.fmax_mhz is not None:
        timing.append(f"fmax {format_mhz(r.fmax_mhz)} MHz")
        if r.wns_ns is not None:
            timing.append(f"(WNS {r.wns_ns:.2f} ns" + (f" at {r.clock_mhz:g} MHz)" if r.clock_mhz else ")"))
    elif r.wns_ns is not None:
        timing.append(f"WNS {r.wns_ns:.2f} ns" + (f" at {r.clock_mhz:g} MHz" if r.clock_mhz else ""))
    device = m.get("device") or m.get("part")
    if device and r.flow in ("fpga", "vivado"):
        if timing:
            timing.append(f"on {device}")
        elif parts:
            parts[-1] += f" on {device}"
        else:
            parts.append(f"on {device}")
    if timing:
        parts.append(" ".join(timing))
    if isinstance(m.get("power_w"), (int, float)):
        parts.append(f"power {format_watts(m['power_w'])}")
    return parts


def is_estimate(r: FlowResult) -> bool:
    return bool((r.metrics or {}).get("estimate"))


def memory_model_label(r: FlowResult) -> str:
    model = (r.metrics or {}).get("memory_model")
    return {"macro": "macro SRAM stubs", "ff": "memories as flip-flops"}.get(model, str(model or ""))


def format_mm2(um2: float) -> str:
    """um^2 as mm^2 with three significant digits (1.23, 0.0456, 12.3, 1,234)."""
    mm2 = um2 / 1e6
    if mm2 == 0 or not math.isfinite(mm2):
        return f"{mm2:g}"
    decimals = max(0, 2 - math.floor(math.log10(abs(mm2))))
    return f"{mm2:,.{decimals}f}"


def format_mhz(mhz: float) -> str:
    return f"{mhz:,.0f}" if abs(mhz) >= 10 else f"{mhz:.1f}"


def format_watts(w: float) -> str:
    return f"{w:.3g} W" if abs(w) >= 1 else f"{w * 1e3:.3g} mW"


def resources_text(r: FlowResult, with_pct: bool = False) -> str:
    """"LUT 12,345 (50%), FF 2,000, DSP 16, BRAM 40" from the typed figures (percentages from
    metrics["utilization_pct"] when asked); empty when the flow counts none."""
    pct = (r.metrics or {}).get("utilization_pct") or {}
    parts = []
    for name, key in (("LUT", "luts"), ("FF", "ffs"), ("DSP", "dsps"), ("BRAM", "brams")):
        value = getattr(r, key)
        if value is None:
            continue
        p = pct.get(key) if with_pct else None
        parts.append(f"{name} {value:,}" + (f" ({p:.0f}%)" if isinstance(p, (int, float)) else ""))
    return ", ".join(parts)


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
    notes = [r.reason] if r.status != "passed" and r.reason else []
    if (r.metrics or {}).get("cached"):
        notes.append(CACHED_NOTE)
    return "; ".join(notes)


CACHED_NOTE = "cached (reused from an earlier identical run)"


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


# ---- the implementation table -----------------------------------------------------------------------------
IMPL_HEADERS = ("Preset", "Flow", "Status", "Area (mm2)", "Fmax (MHz)", "WNS (ns)", "Clock (MHz)",
                "LUT / FF / DSP / BRAM", "Time", "Notes")
IMPL_NUMERIC = ("Area (mm2)", "Fmax (MHz)", "WNS (ns)", "Clock (MHz)", "LUT / FF / DSP / BRAM", "Time")


def impl_results(results: list[FlowResult]) -> list[FlowResult]:
    return [r for r in results if r.flow in IMPL_FLOWS]


def _resources_cell(r: FlowResult) -> str:
    """"12,345 (50%) / 2,000 / 16 / 40": LUT / FF / DSP / BRAM, "-" for one not counted."""
    values = [getattr(r, k) for k in ("luts", "ffs", "dsps", "brams")]
    if all(v is None for v in values):
        return ""
    pct = (r.metrics or {}).get("utilization_pct") or {}
    cells = []
    for key, v in zip(("luts", "ffs", "dsps", "brams"), values, strict=True):
        p = pct.get(key)
        cells.append("-" if v is None else f"{v:,}" + (f" ({p:.0f}%)" if isinstance(p, (int, float)) else ""))
    return ("est. " if is_estimate(r) else "") + " / ".join(cells)


def _impl_notes(r: FlowResult) -> str:
    """Why it failed or was skipped; for a passed run, what the figures are (estimate, memory model, device)."""
    m = r.metrics or {}
    notes = []
    if r.status != "passed":
        notes.append(r.reason)
    if is_estimate(r):
        notes.append(ESTIMATE_LABEL)
    if r.status == "passed":
        if r.flow in ("asic", "openroad") and memory_model_label(r):
            notes.append(memory_model_label(r))
        if r.flow in ("fpga", "vivado") and (m.get("device") or m.get("part")):
            notes.append(str(m.get("device") or m.get("part")))
        if isinstance(m.get("power_w"), (int, float)):
            notes.append(f"power {format_watts(m['power_w'])}")
    if m.get("cached"):
        notes.append(CACHED_NOTE)
    return "; ".join(n for n in notes if n)


def impl_rows(results: list[FlowResult], build_dir: Path, out_dir: Path) -> list[dict[str, str]]:
    """The implementation table as plain strings (``Log``: the log's link, shown in the notes of a run that
    failed or was skipped)."""
    out = []
    for r in impl_results(results):
        est = "est. " if is_estimate(r) else ""
        out.append({
            "Preset": r.preset, "Flow": r.flow, "Status": r.status,
            "Area (mm2)": est + format_mm2(r.area_um2) if r.area_um2 is not None else "",
            "Fmax (MHz)": est + f"{r.fmax_mhz:,.1f}" if r.fmax_mhz is not None else "",
            "WNS (ns)": f"{r.wns_ns:.3f}" if r.wns_ns is not None else "",
            "Clock (MHz)": f"{r.clock_mhz:g}" if r.clock_mhz is not None else "",
            "LUT / FF / DSP / BRAM": _resources_cell(r),
            "Time": format_seconds(r.wall_seconds) if r.status != "error" else "",
            "Notes": _impl_notes(r),
            "Log": _log_link(r, build_dir, out_dir) if r.status != "passed" else ""})
    return out


def impl_details(results: list[FlowResult]) -> list[tuple[str, str]]:
    """(``"4x4 asic"``, text) for what a passed run's figures rest on: the memory model's note, the critical
    path, the library, the estimate's note. Shown under the implementation table."""
    out = []
    for r in impl_results(results):
        m = r.metrics or {}
        if r.status != "passed":
            continue
        parts = []
        if is_estimate(r):
            parts.append(f"{ESTIMATE_LABEL}" + (f": {m['estimate_note']}" if m.get("estimate_note") else ""))
        if m.get("memory_note"):
            parts.append(str(m["memory_note"]))
        path = m.get("critical_path")
        if isinstance(path, dict) and path.get("start"):
            delay = path.get("delay_ns")
            start = path.get("start_signal") or path["start"]  # the RTL signal where the asic flow found one
            parts.append(f"critical path {start} -> {path.get('end_signal') or path.get('end', '?')}"
                         + (f" ({delay:.2f} ns)" if isinstance(delay, (int, float)) else ""))
        if isinstance(m.get("cells"), int) and r.flow == "asic":
            parts.append(f"{m['cells']:,} cells")
        if m.get("library") or m.get("liberty"):
            parts.append(f"library {m.get('library') or Path(str(m['liberty'])).name}")
        if r.flow == "asic" and m.get("notes"):
            parts.append(str(m["notes"]))
        if parts:
            out.append((f"{r.preset} {r.flow}", "; ".join(parts)))
    return out


# ---- plots -------------------------------------------------------------------------------------------------
AREA_PLOT = "area_by_block.png"
FMAX_PLOT = "fmax_vs_array_size.png"
BLOCK_ORDER = ("array", "buffers", "simd", "dma", "control")
_MARKERS = {"asic": "o", "fpga": "s", "vivado": "^", "openroad": "D"}


def area_plot_data(results: list[FlowResult]) -> list[tuple[str, str, dict[str, float]]]:
    """(preset, memory model, {block: mm2}) for each passed asic result with an area per block."""
    data = []
    for r in results:
        blocks = (r.metrics or {}).get("area_by_block")
        if r.flow != "asic" or r.status != "passed" or not isinstance(blocks, dict):
            continue
        mm2 = {str(k): v / 1e6 for k, v in blocks.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if mm2 and sum(mm2.values()) > 0:
            data.append((r.preset, str((r.metrics or {}).get("memory_model") or ""), mm2))
    return data


def array_size(preset: str, build_dir: Path) -> int | None:
    """ARRAY_N * ARRAY_M of a preset: the built-in preset, else a config snapshot the flows left in the build
    dir (``<preset>/<flow>/<preset>.yaml``); None when neither loads."""
    pattern = f"{glob.escape(preset)}/*/{glob.escape(preset)}.yaml"
    candidates: list[str | Path] = [preset, *sorted(build_dir.glob(pattern))]
    for spec in candidates:
        try:
            arch = load_arch(spec)
        except (GenesysError, OSError, ValueError):
            continue
        return int(arch.ARRAY_N) * int(arch.ARRAY_M)
    return None


def fmax_plot_data(results: list[FlowResult], build_dir: Path) -> tuple[dict[str, list[tuple[int, str, float]]],
                                                                        list[str]]:
    """{series: [(PEs, preset, fmax MHz)]} for each passed implementation result with an fmax (a Vivado
    estimate is a series of its own), and the presets left out because their array size is unknown."""
    series: dict[str, list[tuple[int, str, float]]] = {}
    missing: list[str] = []
    sizes: dict[str, int | None] = {}
    for r in impl_results(results):
        if r.status != "passed" or r.fmax_mhz is None:
            continue
        if r.preset not in sizes:
            sizes[r.preset] = array_size(r.preset, build_dir)
        if sizes[r.preset] is None:
            if r.preset not in missing:
                missing.append(r.preset)
            continue
        name = f"{r.flow} ({ESTIMATE_LABEL})" if is_estimate(r) else r.flow
        series.setdefault(name, []).append((sizes[r.preset], r.preset, float(r.fmax_mhz)))
    return series, missing


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg, without pyplot's global state
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def draw_area_plot(data: list[tuple[str, str, dict[str, float]]], path: Path) -> None:
    """Stacked bars: one per preset, one segment per block, in mm^2, the total above each bar."""
    blocks = [b for b in BLOCK_ORDER if any(b in d for _, _, d in data)]
    for _, _, d in data:
        blocks += [b for b in d if b not in blocks]
    blocks = [b for b in blocks if any(d.get(b, 0.0) > 0 for _, _, d in data)]  # no legend entry for 0 mm2
    fig = _new_figure(max(5.0, 1.3 * len(data) + 3.0), 4.5)
    ax = fig.add_subplot()
    xs = list(range(len(data)))
    bottom = [0.0] * len(data)
    for i, block in enumerate(blocks):
        heights = [d.get(block, 0.0) for _, _, d in data]
        ax.bar(xs, heights, 0.6, bottom=bottom, label=block, color=f"C{i % 10}", edgecolor="white", linewidth=0.5)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    for x, total in zip(xs, bottom, strict=True):
        ax.annotate(f"{format_mm2(total * 1e6)} mm\u00b2", (x, total), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9)
    models = {"macro": "macro SRAM stubs", "ff": "memories as FFs"}
    ax.set_xticks(xs, [p + (f"\n{models.get(m, m)}" if m else "") for p, m, _ in data])
    ax.set_ylabel("cell area (mm\u00b2)")
    ax.set_ylim(0, max(bottom) * 1.15)
    ax.set_title("ASIC cell area by block (asic flow)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], title="block", loc="upper left", fontsize=9)  # in the stack's order
    _save(fig, path)


def draw_fmax_plot(series: dict[str, list[tuple[int, str, float]]], path: Path) -> None:
    """fmax against ARRAY_N * ARRAY_M (log2 axis, preset names as tick labels), one series per flow."""
    from matplotlib.ticker import NullLocator

    fig = _new_figure(7.0, 4.5)
    ax = fig.add_subplot()
    for name, points in sorted(series.items(), key=lambda kv: (_flow_rank(kv[0].split(" ")[0]), kv[0])):
        points = sorted(points)
        flow = name.split(" ")[0]
        estimate = name != flow
        colour = f"C{IMPL_FLOWS.index(flow) if flow in IMPL_FLOWS else 9}"
        ax.plot([p[0] for p in points], [p[2] for p in points], marker=_MARKERS.get(flow, "x"), markersize=7,
                linestyle="--" if estimate else "-", color=colour, label=name,
                markerfacecolor="none" if estimate else colour)
    ticks: dict[int, list[str]] = {}
    for points in series.values():
        for x, preset, _ in points:
            if preset not in ticks.setdefault(x, []):
                ticks[x].append(preset)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_minor_locator(NullLocator())
    xs = sorted(ticks)
    ax.set_xticks(xs, ["/".join(ticks[x]) + f"\n({x} PEs)" for x in xs])
    ax.set_xlim(xs[0] / 1.6, xs[-1] * 1.6)
    ax.set_ylim(bottom=0, top=max(p[2] for pts in series.values() for p in pts) * 1.15)
    ax.set_xlabel("array size ARRAY_N x ARRAY_M (log2 scale)")
    ax.set_ylabel("fmax (MHz)")
    ax.set_title("fmax versus array size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    _save(fig, path)


def make_plots(results: list[FlowResult], build_dir: Path, out_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """Draw the plots that have data into ``out_dir``: ({"area": path, "fmax": path}, notes). A plot without
    data is not drawn (and an old file of it is removed); one that fails is named in the notes instead."""
    plots: dict[str, Path] = {}
    notes: list[str] = []
    area = area_plot_data(results)
    fmax, missing = fmax_plot_data(results, build_dir)
    if missing:
        notes.append(f"fmax plot: left out {', '.join(missing)} (array size unknown: not a built-in preset and no "
                     "config snapshot in the build dir)")
    jobs = (("area", AREA_PLOT, "area by block", area, draw_area_plot),
            ("fmax", FMAX_PLOT, "fmax versus array size", fmax, draw_fmax_plot))
    for key, name, title, data, draw in jobs:
        path = out_dir / name
        if not data:
            path.unlink(missing_ok=True)  # a plot from an earlier summary would no longer match the data
            continue
        try:
            draw(data, path)
        except Exception as e:  # a plot must never stop the summary
            path.unlink(missing_ok=True)
            notes.append(f"plot of {title} not drawn: {type(e).__name__}: {e}")
        else:
            plots[key] = path
    return plots, notes


PLOT_TITLES = {"area": "ASIC cell area by block", "fmax": "fmax versus array size"}


# ---- renderers -----------------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: list[FlowResult], build_dir: Path, out_dir: Path,
                    plots: dict[str, Path] | None = None, plot_notes: list[str] | tuple = ()) -> str:
    cell = _md_cell

    t = totals(results)
    lines = ["# GeneSys flow summary", "",
             f"{len(results)} results: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped"
             + (f", {t['error']} unreadable" if t["error"] else "") + ".", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    for row in rows(results, build_dir, out_dir):
        shown = dict(row, Status=f"**{row['Status']}**" if row["Status"] in ("failed", "error") else row["Status"],
                     Log=f"[log]({row['Log']})" if row["Log"] else "")
        lines.append("| " + " | ".join(cell(shown[h]) for h in HEADERS) + " |")
    lines += _markdown_impl(results, build_dir, out_dir, plots or {}, plot_notes)
    return "\n".join(lines) + "\n"


def _markdown_impl(results: list[FlowResult], build_dir: Path, out_dir: Path, plots: dict[str, Path],
                   plot_notes: list[str] | tuple) -> list[str]:
    """The implementation section: its table, what the figures rest on, the plots (none without results)."""
    table = impl_rows(results, build_dir, out_dir)
    if not table:
        return []
    lines = ["", "## Implementation", "",
             "| " + " | ".join(IMPL_HEADERS) + " |",
             "|" + "|".join("---:" if h in IMPL_NUMERIC else "---" for h in IMPL_HEADERS) + "|"]
    for row in table:
        notes = row["Notes"] + (f" ([log]({row['Log']}))" if row["Log"] else "")
        shown = dict(row, Status=f"**{row['Status']}**" if row["Status"] in ("failed", "error") else row["Status"],
                     Notes=notes.strip())
        lines.append("| " + " | ".join(_md_cell(shown[h]) for h in IMPL_HEADERS) + " |")
    details = impl_details(results)
    if details:
        lines += ["", *(f"- **{who}**: {text}" for who, text in details)]
    for key, path in plots.items():
        lines += ["", f"![{PLOT_TITLES.get(key, key)}]({_rel_link(path, out_dir)})"]
    if plot_notes:
        lines += ["", *(f"- {note}" for note in plot_notes)]
    return lines


def _rel_link(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), out_dir.resolve())).as_posix()


def render_html(results: list[FlowResult], build_dir: Path, out_dir: Path,
                plots: dict[str, Path] | None = None, plot_notes: list[str] | tuple = ()) -> str:
    esc = html.escape
    t = totals(results)
    style = "\n".join([
        "body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}",
        "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;"
        "vertical-align:top}th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}",
        "h2{margin-top:1.5em}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #d0d7de}",
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
    out += ["</tbody>", "</table>"]
    out += _html_impl(results, build_dir, out_dir, plots or {}, plot_notes)
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_impl(results: list[FlowResult], build_dir: Path, out_dir: Path, plots: dict[str, Path],
               plot_notes: list[str] | tuple) -> list[str]:
    esc = html.escape
    table = impl_rows(results, build_dir, out_dir)
    if not table:
        return []
    out = ["<h2>Implementation</h2>", '<table class="impl">',
           "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in IMPL_HEADERS) + "</tr></thead>", "<tbody>"]
    for row in table:
        cells = []
        for h in IMPL_HEADERS:
            value = row[h]
            if h == "Status":
                cells.append(f'<td class="{esc(value)}">{esc(value)}</td>')
            elif h in IMPL_NUMERIC:
                cells.append(f'<td class="num">{esc(value)}</td>')
            elif h == "Notes" and row["Log"]:
                cells.append(f'<td>{esc(value)} (<a href="{esc(row["Log"])}">log</a>)</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    details = impl_details(results)
    if details:
        out += ["<ul>", *(f"<li><strong>{esc(who)}</strong>: {esc(text)}</li>" for who, text in details), "</ul>"]
    for key, path in plots.items():
        title = esc(PLOT_TITLES.get(key, key))
        out.append(f'<figure><img src="{esc(_rel_link(path, out_dir))}" alt="{title}">'
                   f"<figcaption>{title}</figcaption></figure>")
    if plot_notes:
        out += ["<ul>", *(f"<li>{esc(note)}</li>" for note in plot_notes), "</ul>"]
    return out


def write_summary(build_dir: Path | str = "build", out_dir: Path | str | None = None) -> dict[str, Any]:
    """Write summary.md, summary.html, summary.json, junit.xml and the plots (PNG) into ``out_dir`` (default:
    the build dir). Returns the results, the Markdown, ``paths`` of the files, ``plots`` ({"area", "fmax"}:
    the PNGs drawn) and ``plot_notes`` (plots or points left out, and why).

    Raises GenesysError when there is nothing to summarise."""
    build_dir = Path(build_dir)
    out_dir = Path(out_dir) if out_dir is not None else build_dir
    results = collect(build_dir) if build_dir.is_dir() else []
    if not results:
        raise GenesysError(NO_RESULTS.format(dir=build_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    plots, plot_notes = make_plots(results, build_dir, out_dir)
    markdown = render_markdown(results, build_dir, out_dir, plots, plot_notes)
    paths = {"md": out_dir / "summary.md", "html": out_dir / "summary.html", "json": out_dir / "summary.json",
             "junit": out_dir / "junit.xml"}
    paths["md"].write_text(markdown)
    paths["html"].write_text(render_html(results, build_dir, out_dir, plots, plot_notes))
    paths["json"].write_text(json.dumps({"generated": now_iso(), "build_dir": str(build_dir.resolve()),
                                         "totals": totals(results),
                                         "plots": {k: _rel_link(p, out_dir) for k, p in plots.items()},
                                         "plot_notes": plot_notes,
                                         "results": [r.to_dict() for r in results]}, indent=2) + "\n")
    paths["junit"].write_text(render_junit(results, build_dir))
    return {"results": results, "markdown": markdown, "paths": paths, "plots": plots, "plot_notes": plot_notes}


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
    if out["plots"]:
        print("plots: " + ", ".join(str(p) for p in out["plots"].values()))
    return 0
