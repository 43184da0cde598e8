"""Read the FPGA tools' reports: nextpnr-ecp5's JSON report and log, Vivado's report_utilization and
report_timing_summary text, and the FPGA cell counts of a Yosys ``stat`` (synth_ecp5, synth_xilinx).

Shared by the ``fpga`` (Yosys + nextpnr-ecp5) and ``vivado`` flows. Every number comes from what the tool
wrote; the device tables below are the vendors' published capacities (checked against nextpnr's own
``available`` counts for ECP5), used to pick a device and to compute utilization.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from genesys.errors import GenesysError


# ---- ECP5 devices -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ecp5Device:
    name: str        # LFE5U-45F
    flag: str        # nextpnr-ecp5 device flag: --45k
    luts: int        # LUT4s (TRELLIS_COMB sites); as many flip-flops (TRELLIS_FF)
    dsps: int        # MULT18X18D
    brams: int       # DP16KD (18 Kbit block RAM each)

    @property
    def ffs(self) -> int:
        return self.luts

    @property
    def bram_bits(self) -> int:
        return self.brams * 18 * 1024

    @property
    def lutram_bits(self) -> int:
        """Distributed RAM: a TRELLIS_DPR16X4 (64 bits) takes 6 LUT sites (slices A and B store, C writes)."""
        return self.luts // 6 * 64


# Capacities as nextpnr-ecp5 0.11 reports them ("available" in --report; LFE5U-12F is a 25F die limited
# to 12K LUTs by Lattice, so nextpnr reports the 25F's sites: the table keeps the datasheet's 12K/32 EBR).
ECP5_DEVICES: dict[str, Ecp5Device] = {d.name: d for d in (
    Ecp5Device("LFE5U-12F", "--12k", 12144, 28, 32),
    Ecp5Device("LFE5U-25F", "--25k", 24288, 28, 56),
    Ecp5Device("LFE5U-45F", "--45k", 43848, 72, 108),
    Ecp5Device("LFE5U-85F", "--85k", 83640, 156, 208),
)}
ECP5_AUTO = ("LFE5U-25F", "LFE5U-45F", "LFE5U-85F")  # the devices the flow picks from, smallest first
ECP5_SPEEDS = ("6", "7", "8")
_ECP5_NAME = re.compile(r"^(?:LFE5U-)?(?P<size>12|25|45|85)(?:F|K)?(?:-(?P<speed>[678]))?$", re.IGNORECASE)


def parse_ecp5_device(text: str) -> tuple[Ecp5Device, str]:
    """``LFE5U-45F``, ``LFE5U-45F-8``, ``45k`` or ``45`` -> (device, speed grade; 6 unless given)."""
    m = _ECP5_NAME.match(str(text).strip())
    if not m:
        raise GenesysError(f"unknown ECP5 device {text!r}; use one of {', '.join(ECP5_DEVICES)} "
                           "(optionally with a speed grade: LFE5U-45F-8)")
    return ECP5_DEVICES[f"LFE5U-{m['size']}F"], m["speed"] or "6"


# ---- Yosys cell counts --------------------------------------------------------------------------------
def ecp5_needs(cells: dict[str, int]) -> dict[str, int]:
    """What a synth_ecp5 netlist needs, from its ``stat`` cell counts: LUT sites (LUT4, two per CCU2C
    carry cell, six per TRELLIS_DPR16X4 distributed RAM, L6MUX21/PFUMX use no extra LUTs), flip-flops,
    MULT18X18D and DP16KD."""
    luts = cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0) + 6 * cells.get("TRELLIS_DPR16X4", 0)
    return {"luts": luts, "ffs": cells.get("TRELLIS_FF", 0), "dsps": cells.get("MULT18X18D", 0),
            "brams": cells.get("DP16KD", 0)}


def ecp5_shortfall(needs: dict[str, int], dev: Ecp5Device) -> list[str]:
    """The resources ``needs`` exceeds on ``dev``, as phrases ("96 MULT18X18D (it has 72)"); [] when it fits."""
    out = []
    for key, what, have in (("dsps", "multipliers (MULT18X18D)", dev.dsps), ("brams", "block RAMs (DP16KD)", dev.brams),
                            ("luts", "LUT4 sites", dev.luts), ("ffs", "flip-flops", dev.ffs)):
        if needs.get(key, 0) > have:
            out.append(f"{needs[key]:,} {what} (it has {have:,})")
    return out


def xilinx_cells(cells: dict[str, int]) -> dict[str, Any]:
    """LUTs, flip-flops, DSPs and block RAMs of a synth_xilinx netlist from its ``stat`` cell counts.
    LUTs count LUT1..LUT6 and the LUT-based RAMs/shift registers (RAM32M/RAM64M: 4 LUTs, RAM*X1*: 1 or 2,
    SRL16E/SRLC32E: 1) as Vivado's "Slice LUTs" does; brams are RAMB36 + RAMB18 primitives, with the
    36 Kbit tile equivalent (RAMB18 = half a tile) in ``bram_tiles``."""
    luts = sum(n for t, n in cells.items() if re.fullmatch(r"LUT[1-6]", t))
    lutram = 0
    for t, n in cells.items():
        if t in ("RAM32M", "RAM64M", "RAM32M16", "RAM64M8"):
            lutram += n * (8 if t.endswith(("16", "8")) else 4)
        elif re.fullmatch(r"RAM(?:32|64|128|256)X1[SD]", t):
            size = int(re.search(r"\d+", t).group(0))
            lutram += n * max(1, size // 64) * (2 if t.endswith("D") else 1)
        elif t in ("SRL16E", "SRLC16E", "SRLC32E"):
            lutram += n
    ffs = sum(n for t, n in cells.items() if re.fullmatch(r"FD[CPRS]E(?:_1)?|LD[CP]E?", t))
    dsps = sum(n for t, n in cells.items() if t.startswith("DSP48") or t == "DSP58")
    ramb36 = sum(n for t, n in cells.items() if t.startswith(("RAMB36", "FIFO36")))
    ramb18 = sum(n for t, n in cells.items() if t.startswith(("RAMB18", "FIFO18")))
    uram = sum(n for t, n in cells.items() if t.startswith("URAM"))
    return {"luts": luts + lutram, "lut_logic": luts, "lut_memory": lutram, "ffs": ffs, "dsps": dsps,
            "ramb36": ramb36, "ramb18": ramb18, "uram": uram, "bram_tiles": ramb36 + ramb18 / 2,
            "carry": sum(n for t, n in cells.items() if t.startswith("CARRY")),
            "muxf": sum(n for t, n in cells.items() if t.startswith("MUXF"))}


# ---- nextpnr ------------------------------------------------------------------------------------------
def parse_nextpnr_report(text: str, clock: str = "clk") -> dict[str, Any]:
    """nextpnr's ``--report`` JSON: ``fmax_mhz`` and ``constraint_mhz`` of ``clock`` (the clock whose name
    is ``clock``, else the one it starts, e.g. ``clk$TRELLIS_IO_IN``, else the slowest), every clock's fmax in
    ``clocks``, ``utilization`` {bel: {used, available}} and ``critical_path`` of that clock (start and end
    cell, delay in ns, logic levels, the RTL source lines its nets come from)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise GenesysError(f"nextpnr report is not valid JSON ({e.msg} at line {e.lineno})") from None
    out: dict[str, Any] = {"utilization": data.get("utilization", {}), "clocks": {}}
    fmax = data.get("fmax") or {}
    for name, v in fmax.items():
        out["clocks"][name] = round(float(v.get("achieved", 0.0)), 2)
    name = _pick_clock(list(fmax), clock, out["clocks"])
    if name is not None:
        out["clock"] = name
        out["fmax_mhz"] = out["clocks"][name]
        if fmax[name].get("constraint") is not None:
            out["constraint_mhz"] = float(fmax[name]["constraint"])
    paths = data.get("critical_paths") or []
    chosen = None
    for p in paths:
        if name is not None and p.get("from", "").endswith(f" {name}") and p.get("to", "").endswith(f" {name}"):
            chosen = p
            break
    if chosen is None and paths:
        chosen = max(paths, key=lambda p: sum(s.get("delay", 0.0) for s in p.get("path", [])))
    if chosen and chosen.get("path"):
        out["critical_path"] = _nextpnr_path(chosen)
    return out


def _pick_clock(names: list[str], wanted: str, fmax: dict[str, float]) -> str | None:
    if not names:
        return None
    if wanted in names:
        return wanted
    starting = [n for n in names if n.split("$")[0] == wanted]
    if starting:
        return starting[0]
    return min(names, key=lambda n: fmax.get(n, math.inf))


def _nextpnr_path(p: dict[str, Any]) -> dict[str, Any]:
    steps = p["path"]
    start, end = steps[0].get("from", {}), steps[-1].get("to", {})
    sources: list[str] = []
    for s in steps:
        for src in s.get("sources", []) or []:
            if "/share/yosys/" in src:  # Yosys's techmap library, not the design
                continue
            src = src.rsplit("/", 1)[-1]  # genesys_pe.sv:45.32-45.35: the rendered file's name and position
            if src not in sources:
                sources.append(src)
    return {
        "from": p.get("from", ""), "to": p.get("to", ""),
        "start": f"{start.get('cell', '')}.{start.get('port', '')}",
        "end": f"{end.get('cell', '')}.{end.get('port', '')}",
        "delay_ns": round(sum(float(s.get("delay", 0.0)) for s in steps), 3),
        # every step that is not routing (clk-to-q, logic, setup), as nextpnr's "<x> ns logic, <y> ns routing"
        "logic_ns": round(sum(float(s.get("delay", 0.0)) for s in steps if s.get("type") != "routing"), 3),
        "routing_ns": round(sum(float(s.get("delay", 0.0)) for s in steps if s.get("type") == "routing"), 3),
        "logic_levels": sum(1 for s in steps if s.get("type") == "logic"),
        "nets": [s["net"] for s in steps if s.get("type") == "routing" and s.get("net")],
        "sources": sources,
    }


_NEXTPNR_FMAX = re.compile(r"Max frequency for clock '(?P<clock>[^']+)': (?P<mhz>[\d.]+) MHz \((?P<verdict>PASS|FAIL) "
                           r"at (?P<target>[\d.]+) MHz\)")


def parse_nextpnr_log(text: str) -> dict[str, Any]:
    """The last ``Max frequency for clock`` lines of a nextpnr log (after routing) and the last critical
    path report's text: ``clocks`` {name: {"fmax_mhz", "target_mhz", "pass"}}, ``critical_path_text``."""
    clocks: dict[str, dict[str, Any]] = {}
    for m in _NEXTPNR_FMAX.finditer(text):
        clocks[m["clock"]] = {"fmax_mhz": float(m["mhz"]), "target_mhz": float(m["target"]),
                              "pass": m["verdict"] == "PASS"}
    out: dict[str, Any] = {"clocks": clocks}
    starts = [m.start() for m in re.finditer(r"^Info: Critical path report for clock ", text, re.MULTILINE)]
    if starts:
        block = []
        for line in text[starts[-1]:].splitlines()[1:]:
            if not line.startswith("Info:  ") or not line[6:].strip():
                break
            block.append(line[6:].rstrip())
        out["critical_path_text"] = "\n".join(block)
    return out


# ---- Vivado -------------------------------------------------------------------------------------------
def _cell(text: str) -> float | None:
    t = text.strip().lstrip("<")
    try:
        return float(t)
    except ValueError:
        return None


def parse_vivado_utilization(text: str) -> dict[str, Any]:
    """A ``report_utilization`` text report: every table row as {site type: {column: value}} under
    ``rows`` (columns as the header names them: Used, Fixed, Prohibited, Available, Util%), and the
    headline figures ``luts`` (Slice/CLB LUTs), ``ffs`` (Slice/CLB Registers), ``dsps`` (DSPs),
    ``bram_tiles`` (Block RAM Tile, 36 Kbit each, halves for RAMB18), ``ramb36``, ``ramb18``, ``uram``,
    with ``utilization_pct`` and ``available`` for luts/ffs/dsps/brams, and ``device`` from the header.
    Works for 7-series (Slice ...) and UltraScale(+) (CLB ...) reports, with or without the Prohibited
    column (Vivado 2020.1 and later), and for post-synthesis reports (names marked ``*``)."""
    rows: dict[str, dict[str, float | None]] = {}
    header: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("|") or not line.endswith("|"):
            if not line.startswith("+"):
                header = None if not line else header
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == "Site Type":
            header = cells
            continue
        if header is None or len(cells) != len(header):
            continue
        name = cells[0].rstrip("*").strip()
        if name in rows:  # the first table that lists a site type is its summary (later ones are breakdowns)
            continue
        rows[name] = {header[i]: _cell(cells[i]) for i in range(1, len(header))}
    out: dict[str, Any] = {"rows": rows}
    m = re.search(r"^\|\s*Device\s*:\s*(\S+)", text, re.MULTILINE)
    if m:
        out["device"] = m.group(1)

    def pick(*names: str) -> dict[str, float | None] | None:
        return next((rows[n] for n in names if n in rows), None)

    pct: dict[str, float] = {}
    available: dict[str, int] = {}
    for key, names in (("luts", ("CLB LUTs", "Slice LUTs")), ("ffs", ("CLB Registers", "Slice Registers")),
                       ("dsps", ("DSPs",)), ("brams", ("Block RAM Tile",))):
        row = pick(*names)
        if row is None:
            continue
        used = row.get("Used")
        if used is not None:
            out["bram_tiles" if key == "brams" else key] = used if key == "brams" else int(used)
        if row.get("Util%") is not None:
            pct[key] = row["Util%"]
        if row.get("Available") is not None:
            available[key] = int(row["Available"])
    for key, names in (("ramb36", ("RAMB36/FIFO",)), ("ramb18", ("RAMB18",)), ("uram", ("URAM",))):
        row = pick(*names)
        if row is not None and row.get("Used") is not None:
            out[key] = int(row["Used"])
    out["utilization_pct"] = pct
    out["available"] = available
    return out


_TIMING_HEAD = re.compile(r"^\s*WNS\(ns\)\s+TNS\(ns\)\s+TNS Failing Endpoints\s+TNS Total Endpoints"
                          r"(?:\s+WHS\(ns\)\s+THS\(ns\)\s+THS Failing Endpoints\s+THS Total Endpoints)?")
_NUM = r"(-?(?:\d+\.\d+|inf|\d+))"


def parse_vivado_timing_summary(text: str, clock: str = "clk") -> dict[str, Any]:
    """A ``report_timing_summary`` text report: the design's ``wns_ns``, ``tns_ns``, failing and total setup
    endpoints, ``whs_ns``/``ths_ns``; the clock ``clock``'s period and its own WNS (Intra Clock Table);
    ``met`` (Vivado's verdict line); and the worst setup path (first ``Max Delay Paths`` entry): slack,
    source, destination, data path delay, logic levels. Values Vivado prints as ``inf`` (no constrained
    paths) become None."""
    out: dict[str, Any] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _TIMING_HEAD.match(line) and "Design Timing Summary" in "\n".join(lines[max(0, i - 6):i]):
            values = _first_value_line(lines[i + 1:])
            if values:
                keys = ("wns_ns", "tns_ns", "tns_failing_endpoints", "tns_total_endpoints",
                        "whs_ns", "ths_ns", "ths_failing_endpoints", "ths_total_endpoints")
                for key, v in zip(keys, values, strict=False):
                    out[key] = _num(v, int if "endpoints" in key else float)
            break
    if "All user specified timing constraints are met." in text:
        out["met"] = True
    elif "Timing constraints are not met." in text:
        out["met"] = False
    clocks = _clock_summary(lines)
    out["clocks"] = clocks
    if clock in clocks:
        out["clock"] = clock
        out["period_ns"] = clocks[clock]["period_ns"]
        out["clock_mhz"] = clocks[clock]["frequency_mhz"]
    intra = _intra_clock(lines)
    if clock in intra:
        out["clock_wns_ns"] = intra[clock]
    path = _worst_setup_path(lines)
    if path:
        out["critical_path"] = path
    return out


def _first_value_line(lines: list[str]) -> list[str] | None:
    for line in lines[:4]:
        parts = line.split()
        if parts and all(re.fullmatch(_NUM, p) for p in parts):
            return parts
    return None


def _num(v: str, kind: type) -> float | int | None:
    if v == "inf":
        return None
    return kind(float(v)) if kind is int else float(v)


def _section(lines: list[str], title: str) -> list[str]:
    """The lines after a ``| <title>`` banner up to the next banner."""
    for i, line in enumerate(lines):
        if line.strip() == f"| {title}":
            body = []
            for later in lines[i + 3:]:
                if later.startswith("| ") or later.startswith("-----------------------------------------------"
                                                                 "-------------------------------------------------"):
                    if body:
                        break
                    continue
                body.append(later)
            return body
    return []


def _clock_summary(lines: list[str]) -> dict[str, dict[str, float]]:
    clocks = {}
    for line in _section(lines, "Clock Summary"):
        m = re.match(r"^\s*(\S+)\s+\{[^}]*\}\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            clocks[m.group(1)] = {"period_ns": float(m.group(2)), "frequency_mhz": float(m.group(3))}
    return clocks


def _intra_clock(lines: list[str]) -> dict[str, float | None]:
    out = {}
    for line in _section(lines, "Intra Clock Table"):
        parts = line.split()
        if len(parts) >= 3 and not parts[0].startswith(("Clock", "-----")) and re.fullmatch(_NUM, parts[1]):
            out[parts[0]] = _num(parts[1], float)
    return out


def _worst_setup_path(lines: list[str]) -> dict[str, Any] | None:
    for i, line in enumerate(lines):
        if line.strip() != "Max Delay Paths":
            continue
        path: dict[str, Any] = {}
        for later in lines[i + 1:i + 40]:
            s = later.strip()
            if s.startswith("Min Delay Paths") or s.startswith("Location"):
                break
            m = re.match(r"^Slack(?: \((MET|VIOLATED)\))?\s*:\s*(-?[\d.]+|inf)ns", s)
            if m:
                path["slack_ns"] = _num(m.group(2), float)
                continue
            for key, label in (("source", "Source:"), ("destination", "Destination:"), ("path_group", "Path Group:")):
                if s.startswith(label) and key not in path:
                    path[key] = s[len(label):].strip()
            m = re.match(r"^Data Path Delay:\s*(-?[\d.]+)ns\s*\(logic ([\d.]+)ns.*route ([\d.]+)ns", s)
            if m:
                path.update(data_path_ns=float(m.group(1)), logic_ns=float(m.group(2)), route_ns=float(m.group(3)))
            m = re.match(r"^Logic Levels:\s*(\d+)\s*(?:\((.*)\))?", s)
            if m:
                path["logic_levels"] = int(m.group(1))
                if m.group(2):
                    path["logic_cells"] = m.group(2).strip()
            m = re.match(r"^Requirement:\s*([\d.]+)ns", s)
            if m:
                path["requirement_ns"] = float(m.group(1))
        return path or None
    return None


def fmax_from_slack(period_ns: float, wns_ns: float | None) -> float | None:
    """The clock frequency at which the worst setup path would just meet timing: 1000 / (period - WNS)."""
    if wns_ns is None or period_ns - wns_ns <= 0:
        return None
    return round(1000.0 / (period_ns - wns_ns), 2)
