"""Read the tools' own output: Verilator diagnostics, Yosys ``stat`` reports, the first error of a log.

Metrics in a :class:`~genesys.flows.result.FlowResult` come only from here, i.e. from what the tool
printed; nothing is estimated or typed in.
"""

from __future__ import annotations

import re
from typing import Any

# %Warning-WIDTHTRUNC: rtl/x.sv:8:12: Operator ASSIGNW expects 3 bits ...
# %Error: rtl/x.sv:3:1: syntax error ...          %Error-PINMISSING: ...
# %Warning-DECLFILENAME: h.sv:1:8: Filename ...   (file:line[:col] is optional: "%Error: Exiting due to ...")
_VERILATOR_DIAG = re.compile(
    r"^%(?P<severity>Warning|Error)(?:-(?P<code>[A-Z0-9_]+))?:\s*"
    r"(?:(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?:(?P<column>\d+):)?\s*)?(?P<message>.*)$")


def parse_verilator(text: str) -> list[dict[str, Any]]:
    """Every ``%Warning``/``%Error`` diagnostic Verilator printed, in order.

    The summary line ``%Error: Exiting due to N warning(s)`` is not a diagnostic and is left out.
    """
    out = []
    for raw in text.splitlines():
        m = _VERILATOR_DIAG.match(raw.strip())
        if not m:
            continue
        if m["severity"] == "Error" and not m["code"] and not m["file"] and m["message"].startswith("Exiting due to"):
            continue
        out.append({
            "severity": m["severity"].lower(),
            "code": m["code"] or "",
            "file": m["file"] or "",
            "line": int(m["line"]) if m["line"] else 0,
            "column": int(m["column"]) if m["column"] else 0,
            "message": m["message"].strip(),
        })
    return out


def verilator_warnings(text: str) -> list[dict[str, Any]]:
    return [d for d in parse_verilator(text) if d["severity"] == "warning"]


_STAT_HEADER = re.compile(r"^=== (?P<name>.+) ===$")
_STAT_COUNT = re.compile(r"^Number of (?P<what>[a-z ]+):\s+(?P<n>\d+)$")
_STAT_CELL_TYPE = re.compile(r"^(?P<type>\S+)\s+(?P<n>\d+)$")
_STAT_AREA = re.compile(r"^Chip area for (?:top )?module '\\?(?P<module>[^']+)':\s+(?P<area>[\d.eE+-]+)$")
_STAT_KEYS = {
    "wires": "wires", "wire bits": "wire_bits", "public wires": "public_wires",
    "public wire bits": "public_wire_bits", "memories": "memories", "memory bits": "memory_bits",
    "processes": "processes", "cells": "cells",
}


def parse_yosys_stat(text: str) -> dict[str, Any]:
    """Numbers of the last ``stat`` report in ``text`` (a Yosys log or a ``tee -o`` file).

    For a hierarchical design the ``=== design hierarchy ===`` section holds the totals and is used;
    otherwise the last module's section (the flows flatten, so there is one). Returns ``{}`` when no report is found. Keys: ``module``
    (the section), ``cells``, ``cells_by_type`` ({type: count}), ``wires``, ``wire_bits``,
    ``public_wires``, ``public_wire_bits``, ``memories``, ``memory_bits``, ``processes``, and
    ``chip_area`` when Yosys printed one (liberty-mapped designs).
    """
    sections: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    in_cells = False
    for raw in text.splitlines():
        line = raw.strip()
        header = _STAT_HEADER.match(line)
        if header:
            current = {"module": header["name"], "cells_by_type": {}}
            sections.append(current)
            in_cells = False
            continue
        if current is None:
            continue
        count = _STAT_COUNT.match(line)
        if count and count["what"] in _STAT_KEYS:
            current[_STAT_KEYS[count["what"]]] = int(count["n"])
            in_cells = count["what"] == "cells"
            continue
        area = _STAT_AREA.match(line)
        if area:
            current["chip_area"] = float(area["area"])
            in_cells = False
            continue
        if in_cells:
            cell = _STAT_CELL_TYPE.match(line)
            if cell:
                current["cells_by_type"][cell["type"]] = int(cell["n"])
                continue
            in_cells = False
        if not line:
            in_cells = False
    # Only sections that carried a cell count are reports (other "=== x ===" banners may exist).
    reports = [s for s in sections if "cells" in s]
    if not reports:
        return {}
    # A stat run prints one section per module, then "design hierarchy" when there is more than one.
    last_run_start = 0
    seen: set[str] = set()
    for i, s in enumerate(reports):
        if s["module"] in seen:  # a module repeats: a later stat run starts here
            last_run_start = i
            seen = set()
        seen.add(s["module"])
        if s["module"] == "design hierarchy" and i + 1 < len(reports):
            last_run_start, seen = i + 1, set()
    run = reports[last_run_start:]
    totals = next((s for s in run if s["module"] == "design hierarchy"), run[-1])
    return totals


def parse_yosys_stat_modules(text: str) -> dict[str, Any]:
    """Every module of a hierarchical ``stat`` report: ``{"modules": {name: {"cells_by_type", "cells"}},
    "instances": {module: count in the whole design}, "top": name}`` (``instances`` from the design hierarchy
    section; a design of one module counts it once). Cell types that are modules of the design are submodule
    instances, not cells."""
    modules: dict[str, dict[str, Any]] = {}
    instances: dict[str, int] = {}
    section = None
    in_cells = in_hier = False
    for raw in text.splitlines():
        line = raw.strip()
        header = _STAT_HEADER.match(line)
        if header:
            name = header["name"]
            in_hier, in_cells = name == "design hierarchy", False
            section = None if in_hier else modules.setdefault(name.lstrip("\\"), {"cells_by_type": {}, "cells": 0})
            if section is not None:
                section["cells_by_type"].clear()
            continue
        count = _STAT_COUNT.match(line)
        if count:
            in_cells = count["what"] == "cells" and section is not None
            if in_cells:
                section["cells"] = int(count["n"])
            if in_hier:
                in_hier = False  # the hierarchy list ends where the totals begin
            continue
        if in_hier:
            m = _STAT_CELL_TYPE.match(line)
            if m:
                instances[m["type"].lstrip("\\")] = int(m["n"])
            continue
        if in_cells:
            m = _STAT_CELL_TYPE.match(line)
            if m:
                section["cells_by_type"][m["type"]] = int(m["n"])
                continue
            in_cells = False
    top = next(iter(instances), None)
    if not instances and len(modules) == 1:
        top = next(iter(modules))
        instances[top] = 1
    return {"modules": modules, "instances": instances, "top": top}


def parse_sta_checks(text: str) -> dict[str, Any]:
    """The worst path of an OpenSTA ``report_checks -path_delay max`` report: startpoint, endpoint, data
    arrival (ns), required time, slack (ns), and the path's cells. ``{}`` when there is no path."""
    start = re.search(r"^Startpoint:\s*(\S+)(?:\s*\((.*?)\))?", text, re.M)
    end = re.search(r"^Endpoint:\s*(\S+)(?:\s*\((.*?)\))?", text, re.M)
    slack = re.search(r"^\s*(-?[\d.]+)\s+slack\s+\((MET|VIOLATED)\)", text, re.M)
    if not (start and end and slack):
        return {}
    arrival = re.search(r"^\s*(-?[\d.]+)\s+data arrival time", text, re.M)
    required = re.search(r"^\s*(-?[\d.]+)\s+data required time", text, re.M)
    group = re.search(r"^Path Group:\s*(\S+)", text, re.M)
    return {"start": start.group(1), "start_kind": (start.group(2) or "").strip(), "end": end.group(1),
            "end_kind": (end.group(2) or "").strip(), "arrival_ns": float(arrival.group(1)) if arrival else None,
            "required_ns": float(required.group(1)) if required else None, "slack_ns": float(slack.group(1)),
            "met": slack.group(2) == "MET", "group": group.group(1) if group else ""}


def parse_sta_value(text: str, name: str) -> float | None:
    """A ``report_wns`` / ``report_tns`` line: ``tns -1.23`` (OpenSTA 2.0), ``tns max -1.23`` (2024 releases)."""
    m = re.search(rf"^{name}(?:\s+max)?\s+(-?[\d.]+)", text, re.M)
    return float(m.group(1)) if m else None


# "Warning: ..." or, for front-end messages, "file.v:4: Warning: ...".
_YOSYS_WARNING = re.compile(r"^(?:\S+:\d+: )?Warning: (?P<message>.*)$")


def yosys_warnings(text: str) -> list[str]:
    """The distinct messages of a Yosys log's warnings, in first-seen order (Yosys repeats some, e.g. a
    `check` run twice; its own end-of-run line "Warnings: N unique messages, M total" counts the same)."""
    seen: dict[str, None] = {}
    for raw in text.splitlines():
        m = _YOSYS_WARNING.match(raw.strip())
        if m:
            seen.setdefault(m["message"].strip(), None)
    return list(seen)


# Lines that state an error, from the tools a flow runs (most specific first within a line).
_ERROR_LINE = re.compile(
    r"^(?:%Error\b|%Warning-[A-Z0-9_]+:|ERROR:|Error:|FAIL\b|FAILED\b|Traceback \(most recent call last\))"
    r"|: (?:fatal )?error:|\*\*\* .*Error \d+", re.IGNORECASE)


def first_error(text: str) -> str:
    """The first line of ``text`` that states an error, stripped; ``""`` when there is none.

    Verilator's diagnostics (with -Wall every warning is fatal), Yosys and FuseSoC ``ERROR:`` lines,
    compiler ``error:`` lines and make's ``*** ... Error N`` all count. For a Python traceback the
    exception line that ends it is quoted, not the ``Traceback`` header.
    """
    lines = [raw.rstrip() for raw in text.splitlines()]
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or not _ERROR_LINE.search(line):
            continue
        if line.startswith("Traceback (most recent call last)"):
            for later in lines[i + 1:]:
                if later and not later[0].isspace():
                    return later.strip()
        return line
    return ""


_DUMP_CELL = re.compile(r"^\s*cell \$mem_v2 ")
_DUMP_PARAM = re.compile(r"^\s*parameter \\(SIZE|WIDTH) (\d+)")


def parse_yosys_memories(text: str) -> dict[str, int]:
    """Memories Yosys kept as ``$mem_v2`` cells, from a ``dump t:$mem_v2`` listing: their count and
    total bits (Σ SIZE × WIDTH). ``stat`` does not count memory cells, so the synth script dumps them."""
    count = bits = 0
    size = width = None
    for line in text.splitlines():
        if _DUMP_CELL.match(line):
            count += 1
            size = width = None
            continue
        m = _DUMP_PARAM.match(line)
        if m:
            if m[1] == "SIZE":
                size = int(m[2])
            else:
                width = int(m[2])
            if size is not None and width is not None:
                bits += size * width
                size = width = None
    return {"memories": count, "memory_bits": bits}
