"""Reading what OpenROAD-flow-scripts (ORFS) leaves after ``make finish``: the metrics JSON files and the text reports.

ORFS writes, per platform, design nickname and flow variant (``base`` unless FLOW_VARIANT is set), under its work
directory (``WORK_HOME``; the flow directory itself in ORFS releases without WORK_HOME)::

    logs/<platform>/<nickname>/<variant>/6_report.json   # `openroad -metrics`: finish__* metrics (the final report)
    logs/<platform>/<nickname>/<variant>/5_2_route.json  # detailedroute__route__drc_errors, ... (one JSON per stage)
    logs/<platform>/<nickname>/<variant>/6_report.log    # stdout of the final report: "Design area 123 u^2 45% utilization."
    reports/<platform>/<nickname>/<variant>/6_finish.rpt # report_tns / report_wns / report_worst_slack / report_power
    reports/<platform>/<nickname>/<variant>/metadata.json # `make metadata`: every stage's metrics in one flat dict

The JSON keys are ``<stage>__<group>__<name>`` (``finish__timing__setup__ws``, ``finish__design__instance__area``,
``finish__power__total``); timing is in the platform's time unit (``run__flow__platform__timing_units``, 1 ns for
sky130 and NanGate45, 1 ps for ASAP7), power in watts, area in um^2, utilization a fraction of the core. The JSON is
preferred (full precision); the text reports, rounded to the report's digits, fill what it lacks. OpenSTA prints
``worst slack max -1.23`` / ``tns max -4.56`` since 2024 and ``worst slack -1.23`` / ``tns -4.56`` before; both are read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

# finish-stage metric -> our name (the first key found wins)
FINISH_KEYS: dict[str, tuple[str, ...]] = {
    "area_um2": ("finish__design__instance__area",),
    "stdcell_area_um2": ("finish__design__instance__area__stdcell",),
    "macro_area_um2": ("finish__design__instance__area__macros",),
    "core_area_um2": ("finish__design__core__area",),
    "die_area_um2": ("finish__design__die__area",),
    "utilization": ("finish__design__instance__utilization",),
    "instances": ("finish__design__instance__count", "finish__design__instance__count__stdcell"),
    "macros": ("finish__design__instance__count__macros",),
    "worst_slack": ("finish__timing__setup__ws",),
    "tns": ("finish__timing__setup__tns",),
    "hold_worst_slack": ("finish__timing__hold__ws",),
    "hold_tns": ("finish__timing__hold__tns",),
    "setup_violations": ("finish__timing__drv__setup_violation_count",),
    "hold_violations": ("finish__timing__drv__hold_violation_count",),
    "power_w": ("finish__power__total",),
    "power_internal_w": ("finish__power__internal__total",),
    "power_switching_w": ("finish__power__switching__total",),
    "power_leakage_w": ("finish__power__leakage__total",),
    "fmax_hz": ("finish__timing__fmax",),
    "drc_errors": ("detailedroute__route__drc_errors", "finish__route__drc_errors"),
    "antenna_violating_nets": ("detailedroute__antenna__violating__nets",),
    "wirelength_um": ("detailedroute__route__wirelength",),
}
TIMING_FIELDS = ("worst_slack", "tns", "hold_worst_slack", "hold_tns")  # in the platform's time unit
TIME_UNIT_KEYS = ("run__flow__platform__timing_units", "run__flow__platform__time_units")
_UNIT_NS = {"fs": 1e-6, "ps": 1e-3, "ns": 1.0, "us": 1e3}


def run_dirs(root: Path, platform: str, nickname: str, variant: str = "base") -> dict[str, Path]:
    """ORFS's logs/, reports/ and results/ directories of one design under one work directory."""
    return {kind: Path(root) / kind / platform / nickname / variant for kind in ("logs", "reports", "results")}


def find_run(roots: list[Path], platform: str, nickname: str, variant: str = "base",
             since: float | None = None) -> dict[str, Path] | None:
    """The first root whose ORFS directories hold a final report (6_report.json, 6_finish.rpt or metadata.json),
    written at or after ``since`` (a time.time() value) when given, so an earlier run's report never counts."""
    for root in roots:
        dirs = run_dirs(root, platform, nickname, variant)
        if final_files(dirs, since):
            return dirs
    return None


def final_files(dirs: dict[str, Path], since: float | None = None) -> list[Path]:
    cands = [dirs["logs"] / "6_report.json", dirs["reports"] / "metadata.json", dirs["reports"] / "6_finish.rpt"]
    return [p for p in cands if p.is_file() and (since is None or p.stat().st_mtime >= since)]


# ---- metrics JSON ----------------------------------------------------------------------------------------
def load_metrics(dirs: dict[str, Path], since: float | None = None) -> tuple[dict[str, Any], list[Path]]:
    """Every stage's metrics JSON in the logs directory (in stage order) and then metadata.json, merged into one
    flat dict (a later file wins, so the final report overrides earlier stages). Unreadable files and files older
    than ``since`` are skipped."""
    merged: dict[str, Any] = {}
    used = []
    files = sorted(dirs["logs"].glob("*.json")) if dirs["logs"].is_dir() else []
    files.append(dirs["reports"] / "metadata.json")
    for path in files:
        if since is not None and path.is_file() and path.stat().st_mtime < since:
            continue
        data = read_json(path)
        if data:
            merged.update(flatten(data))
            used.append(path)
    return merged, used


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(errors="replace"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """ORFS's flat ``a__b__c`` keys from a flat or a hierarchical (``genMetrics.py --hier``) metrics dict."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}__{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def number(value: Any) -> float | None:
    """A metric as a float; ORFS writes "N/A" or "ERR" for what it could not measure."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def time_unit_ns(metrics: dict[str, Any], default: float) -> float:
    """The platform's time unit in ns as recorded in the metrics ("1ns", "1ps"), else ``default``."""
    for key in TIME_UNIT_KEYS:
        m = re.fullmatch(r"\s*([0-9.eE+-]*)\s*(fs|ps|ns|us)\s*", str(metrics.get(key, "")))
        if m:
            return float(m.group(1) or 1) * _UNIT_NS[m.group(2)]
    return default


def finish_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Our names for the final metrics found in ``metrics`` (raw units: timing in the platform's time unit)."""
    out = {}
    for name, keys in FINISH_KEYS.items():
        for key in keys:
            v = number(metrics.get(key))
            if v is not None:
                out[name] = v
                break
    return out


# ---- text reports ----------------------------------------------------------------------------------------
_NUM = r"(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|-?inf|nan)"
_WORST_SLACK = re.compile(rf"^\s*worst slack(?:\s+(max|min))?\s+{_NUM}\s*$", re.M)
_TNS = re.compile(rf"^\s*tns(?:\s+(max|min))?\s+{_NUM}\s*$", re.M)
_WNS = re.compile(rf"^\s*wns(?:\s+(max|min))?\s+{_NUM}\s*$", re.M)
_POWER_TOTAL = re.compile(rf"^\s*Total\s+{_NUM}\s+{_NUM}\s+{_NUM}\s+{_NUM}", re.M)
_DESIGN_AREA = re.compile(rf"^\s*Design area\s+{_NUM}\s+u(?:m)?\^2\s+{_NUM}%\s+utilization", re.M)


def parse_finish_report(text: str) -> dict[str, float]:
    """6_finish.rpt (ORFS report_metrics): setup worst slack, tns and wns (the ``max`` lines, or the lines without
    min/max of older OpenSTA), hold worst slack (``min``), and the total power (the first corner's, in watts).
    Only the first of each (ORFS prints each once per report)."""
    out: dict[str, float] = {}
    for regex, setup_name, hold_name in ((_WORST_SLACK, "worst_slack", "hold_worst_slack"), (_TNS, "tns", "hold_tns"),
                                         (_WNS, "wns", "hold_wns")):
        for m in regex.finditer(text):
            name = hold_name if m.group(1) == "min" else setup_name
            if name not in out:
                out[name] = float(m.group(2))
    m = _POWER_TOTAL.search(text)
    if m:
        out.update(power_internal_w=float(m.group(1)), power_switching_w=float(m.group(2)),
                   power_leakage_w=float(m.group(3)), power_w=float(m.group(4)))
    out.update(parse_design_area(text))
    return out


def parse_design_area(text: str) -> dict[str, float]:
    """OpenROAD's ``report_design_area`` line: ``Design area 4377 u^2 64% utilization.`` (the last one: the
    final report prints it after the earlier stages' in a concatenated log). Utilization as a fraction."""
    found = _DESIGN_AREA.findall(text)
    if not found:
        return {}
    area, util = found[-1]
    return {"area_um2": float(area), "utilization": float(util) / 100.0}


# ---- the whole run ---------------------------------------------------------------------------------------
def collect(dirs: dict[str, Path], default_time_unit_ns: float = 1.0, since: float | None = None) -> dict[str, Any]:
    """The final figures of one ORFS run, timing converted to ns. ``figures`` holds our names (see FINISH_KEYS;
    ``*_ns`` for timing), ``sources`` the files read (JSON first, text reports fill the gaps)."""
    metrics, used = load_metrics(dirs, since)
    unit = time_unit_ns(metrics, default_time_unit_ns)
    figures: dict[str, float] = dict(finish_metrics(metrics))
    for path in (dirs["reports"] / "6_finish.rpt", dirs["logs"] / "6_report.log"):
        if path.is_file() and (since is None or path.stat().st_mtime >= since):
            text_figures = parse_finish_report(path.read_text(errors="replace"))
            if text_figures:
                used.append(path)
            for k, v in text_figures.items():
                figures.setdefault(k, v)
    for name in (*TIMING_FIELDS, "wns", "hold_wns"):
        if name in figures:
            figures[f"{name}_ns"] = round(figures.pop(name) * unit, 9)
    return {"figures": figures, "sources": used, "time_unit_ns": unit}


# ---- errors ----------------------------------------------------------------------------------------------
_ORFS_ERROR = re.compile(r"\[ERROR [A-Z]{2,4}-\d+\].*")
_TOOL_ERROR = re.compile(r"^(?:ERROR|Error):\s*\S.*|^\S+:\d+: \*\*\* .*")
_MAKE_ERROR = re.compile(r"make(?:\[\d+\])?: \*\*\* .*")


def first_error(text: str) -> str:
    """The line of an ORFS log that says what went wrong: an OpenROAD ``[ERROR XXX-nnnn]`` message first, then a
    Yosys/script ``ERROR:`` line or a make file error, and make's ``*** ... Error N`` last (it only says which step)."""
    for regex in (_ORFS_ERROR, _TOOL_ERROR, _MAKE_ERROR):
        for line in text.splitlines():
            m = regex.search(line.strip())
            if m:
                return m.group(0).strip()
    return ""
