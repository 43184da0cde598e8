"""The ``openroad`` flow: genesys_top placed and routed by OpenROAD through OpenROAD-flow-scripts (ORFS).

    genesys flow openroad --config 4x4                        # sky130hd, the preset's CLOCK_MHZ, 40 % utilization
    genesys flow openroad --config 4x4 --pdk nangate45 --clock-mhz 250 --utilization 30

1. The ORFS design is generated in ``build/<preset>/openroad/work/`` through Edalize's OpenROAD backend
   (``edalize.openroad.Openroad``): GeneSys writes the three files that backend takes (an ORFS ``config.mk``, a
   ``constraint.sdc`` and a ``Makefile`` that hands the targets to ORFS) into ``work/src/``, Edalize checks them
   and lays the design out as ORFS wants it (``config.mk``, ``constraint.sdc``, ``Makefile``, plus ``files.txt``
   and ``incdirs.txt`` listing the RTL), and gives the command that runs it:
   ``make DESIGN_CONFIG=./config.mk FLOW_HOME=<ORFS>/flow DESIGN_NAME=genesys_top SHELL=/bin/bash finish``.
2. When ``openroad`` is on PATH and ORFS's ``flow/`` directory is found (``$FLOW_HOME``, else ``$ORFS_ROOT/flow``),
   that command runs in ``work/`` with its output in ``openroad.log``: ORFS runs in its flow directory and writes
   ``logs/ reports/ results/ objects/`` into ``work/`` (``WORK_HOME``). Otherwise the result is ``skipped``, saying
   what is missing, and its metrics name the generated files, so they can be run on a machine with ORFS.
3. The final metrics (``6_report.json``; ``6_finish.rpt`` and ``6_report.log`` fill gaps, see
   :mod:`genesys.flows.openroad_reports`) give area, worst slack, TNS, fmax = 1 / (period - slack), power and
   utilization.

Memories: ORFS's Yosys maps the buffers (tens of KiB) to flip-flops, which makes a huge, slow run; a realistic
run gives SRAM macros (ADDITIONAL_LEFS / ADDITIONAL_LIBS, see docs/openroad.md and ``macros.mk``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesys.errors import GenesysError
from genesys.flows import openroad_reports as reports
from genesys.flows.impl import FlowContext
from genesys.tools import TOOLS, find_tool, tool_env

TOOL = "openroad"
OPTIONS = {"pdk", "clock_mhz", "utilization"}
SUPPORT_FILES = ("openroad_reports.py",)

ORFS_URL = "https://github.com/The-OpenROAD-Project/OpenROAD-flow-scripts"
DEFAULT_PLATFORM = "sky130hd"
DEFAULT_UTILIZATION = 40.0   # percent of the core area the standard cells take after floorplan
PLACE_DENSITY_MARGIN = 0.15  # PLACE_DENSITY = utilization + margin (global placement's target density)
IO_DELAY_FRACTION = 0.2      # input and output delays as a fraction of the clock period
CLOCK_PORT = "clk"
CLOCK_NAME = "core_clock"
MAKE_TARGET = "finish"
FLOW_VARIANT = "base"
TIMEOUT_S = 24 * 3600        # a whole place and route of the flip-flop buffers takes hours; a stuck run must end
LOG = "openroad.log"
SOURCE_DIR = "src"           # what GeneSys hands to Edalize (work/src/); Edalize lays it out in work/


@dataclass(frozen=True)
class Platform:
    """An ORFS platform (flow/platforms/<name>) and the names --pdk accepts for it."""

    name: str
    aliases: tuple[str, ...]
    time_unit_ns: float      # the unit of its Liberty time, so of SDC values and reported slack (ASAP7: ps)


PLATFORMS = {p.name: p for p in (
    Platform("sky130hd", ("sky130A", "sky130_fd_sc_hd", "sky130"), 1.0),
    Platform("sky130hs", ("sky130_fd_sc_hs",), 1.0),
    Platform("nangate45", ("nangate", "freepdk45"), 1.0),
    Platform("asap7", (), 1e-3),
    Platform("gf180", ("gf180mcu", "gf180mcuD"), 1.0),
    Platform("ihp-sg13g2", ("sg13g2", "ihp"), 1.0),
)}


def platform(name: str | None) -> Platform:
    """The ORFS platform for ``--pdk`` (OpenLane and ORFS names); GenesysError listing the choices."""
    name = name or DEFAULT_PLATFORM
    for p in PLATFORMS.values():
        if name == p.name or name in p.aliases:
            return p
    choices = "; ".join(f"{p.name}" + (f" ({', '.join(p.aliases)})" if p.aliases else "") for p in PLATFORMS.values())
    raise GenesysError(f"unknown PDK '{name}' for the openroad flow (--pdk); choose an ORFS platform: {choices}")


@dataclass(frozen=True)
class Settings:
    platform: Platform
    clock_mhz: float
    utilization: float       # percent

    @property
    def period_ns(self) -> float:
        return 1000.0 / self.clock_mhz

    @property
    def period_units(self) -> float:
        """The clock period in the platform's time unit (what the SDC says)."""
        return self.period_ns / self.platform.time_unit_ns

    @property
    def place_density(self) -> float:
        return round(min(self.utilization / 100.0 + PLACE_DENSITY_MARGIN, 0.95), 2)


def settings(opts: dict[str, Any], default_clock_mhz: float) -> Settings:
    """The options checked: a known PDK, 0 < clock <= 10 GHz, 0 < utilization < 100 (percent)."""
    plat = platform(opts.get("pdk"))
    clock = _number(opts.get("clock_mhz"), default_clock_mhz, "--clock-mhz")
    if not 0 < clock <= 10_000:
        raise GenesysError(f"--clock-mhz must be in (0, 10000] MHz, not {clock:g}")
    util = _number(opts.get("utilization"), DEFAULT_UTILIZATION, "--utilization")
    if not 0 < util < 100:
        raise GenesysError(f"--utilization is the core utilization in percent and must be in (0, 100), not {util:g} "
                           f"(ORFS's CORE_UTILIZATION; default {DEFAULT_UTILIZATION:g})")
    return Settings(plat, clock, util)


def _number(value: Any, default: float, option: str) -> float:
    if value is None or value == "":
        return float(default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GenesysError(f"{option} must be a number, not {value!r}") from None


# ---- finding ORFS --------------------------------------------------------------------------------------
def find_flow_home() -> tuple[Path | None, str]:
    """ORFS's flow/ directory (it holds Makefile, scripts/ and platforms/): $FLOW_HOME, else $ORFS_ROOT/flow.
    Returns (path or None, where it looked)."""
    looked = []
    for var, sub in (("FLOW_HOME", ""), ("ORFS_ROOT", "flow")):
        value = os.environ.get(var)
        if not value:
            looked.append(f"${var} not set")
            continue
        path = Path(value).expanduser() / sub if sub else Path(value).expanduser()
        if (path / "Makefile").is_file() and (path / "scripts").is_dir():
            return path.resolve(), f"${var}"
        looked.append(f"${var}={value} has no ORFS flow (Makefile and scripts/ in {path})")
    return None, "; ".join(looked)


def orfs_version(flow_home: Path | None) -> str | None:
    """ORFS's git description (a checkout or the Docker image's), "unknown" when it is no git tree."""
    if flow_home is None:
        return None
    try:
        out = subprocess.run(["git", "-C", str(flow_home), "describe", "--tags", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=30)
        return (out.stdout.strip() or "unknown") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def tool_versions(opts: dict[str, Any]) -> dict[str, str | None]:
    return {"openroad": find_tool("openroad").version, "orfs": orfs_version(find_flow_home()[0])}


def input_files(opts: dict[str, Any]) -> list[Path]:
    return []  # the options name no files; the macros.mk a user adds next to config.mk is theirs to track


# ---- the design files ------------------------------------------------------------------------------------
def nickname(top: str, preset: str) -> str:
    """DESIGN_NICKNAME: ORFS's directory name for the design (logs/<platform>/<nickname>/...); one per preset, so
    presets never share a directory, even in an ORFS that writes into its own flow directory."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{top}_{preset}")


def memory_max_bits(arch) -> int:
    """SYNTH_MEMORY_MAX_BITS: ORFS stops when Yosys finds a memory larger than this (4096 bits by default); the
    largest buffer of the preset bounds every memory of genesys_top."""
    buffers = getattr(arch, "buffers", {}) or {}
    largest = max((b.capacity_bytes for b in buffers.values()), default=0) * 8
    return max(largest, 4096)


def config_mk(ctx: FlowContext, s: Settings) -> str:
    files = " \\\n                          ".join(f"$(GENESYS_RTL_DIR)/{name}" for name in ctx.manifest["files"])
    buffers = getattr(ctx.arch, "buffers", {}) or {}
    total_kib = sum(b.capacity_bytes * (2 if b.name == "VMEM" else 1) for b in buffers.values()) / 1024
    return f"""\
# OpenROAD-flow-scripts design configuration of {ctx.top}, preset {ctx.arch.name}
# (generated by `genesys flow openroad`; a new run rewrites it: put additions in macros.mk next to it).
#
# Run from this directory:   make FLOW_HOME=<OpenROAD-flow-scripts>/flow {MAKE_TARGET}
# or from ORFS's flow/:      make DESIGN_CONFIG=$(pwd)/config.mk {MAKE_TARGET}
# Paths are relative to this file, so the directory and ../rtl can be copied to another machine together.
GENESYS_DESIGN_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
GENESYS_RTL_DIR    := $(abspath $(GENESYS_DESIGN_DIR)/../rtl)

export DESIGN_NAME      = {ctx.top}
export DESIGN_NICKNAME  = {nickname(ctx.top, ctx.arch.name)}
export PLATFORM         = {s.platform.name}

export VERILOG_FILES    = {files}
export SDC_FILE         = $(GENESYS_DESIGN_DIR)/constraint.sdc

# Floorplan from the cell area: the core is sized so the cells fill CORE_UTILIZATION percent of it
export CORE_UTILIZATION = {s.utilization:g}
export PLACE_DENSITY    = {s.place_density:.2f}
export TNS_END_PERCENT  = 100

# Memories. The preset's buffers hold {total_kib:.1f} KiB; without macros Yosys builds them from flip-flops (a
# very large and slow run), and ORFS refuses any memory above SYNTH_MEMORY_MAX_BITS (default 4096), so the limit
# is raised to the largest buffer. A realistic run provides SRAM macros instead, in macros.mk:
#   export ADDITIONAL_LEFS = <macro>.lef ...     export ADDITIONAL_LIBS = <macro>.lib ...
#   export ADDITIONAL_GDS  = <macro>.gds ...     (and the RTL memories replaced by instances of the macros)
export SYNTH_MEMORY_MAX_BITS = {memory_max_bits(ctx.arch)}

-include $(GENESYS_DESIGN_DIR)/macros.mk
"""


def constraint_sdc(ctx: FlowContext, s: Settings) -> str:
    unit = "ps" if s.platform.time_unit_ns < 1 else "ns"
    period = s.period_units
    io_delay = period * IO_DELAY_FRACTION
    return f"""\
# Timing constraints of {ctx.top}, preset {ctx.arch.name} (generated by `genesys flow openroad`)
# {s.clock_mhz:g} MHz; times in {unit}, the {s.platform.name} Liberty time unit
current_design {ctx.top}

set clk_period {period:.4f}
set clk_port [get_ports {CLOCK_PORT}]
create_clock -name {CLOCK_NAME} -period $clk_period $clk_port

# every other port is synchronous to {CLOCK_PORT}: {IO_DELAY_FRACTION:.0%} of the period outside the block
set non_clock_inputs [lsearch -inline -all -not -exact [all_inputs] $clk_port]
set_input_delay  {io_delay:.4f} -clock {CLOCK_NAME} $non_clock_inputs
set_output_delay {io_delay:.4f} -clock {CLOCK_NAME} [all_outputs]
"""


def makefile(ctx: FlowContext) -> str:
    return f"""\
# Runs OpenROAD-flow-scripts on config.mk in this directory (generated by `genesys flow openroad`).
#
#   make FLOW_HOME=<OpenROAD-flow-scripts>/flow [{MAKE_TARGET}|synth|floorplan|place|cts|route|metadata|clean_all|gui_final]
#
# FLOW_HOME may also come from the environment (ORFS's env.sh), or ORFS_ROOT=<OpenROAD-flow-scripts>. Edalize's
# OpenROAD backend calls it as  make DESIGN_CONFIG=./config.mk FLOW_HOME=<flow> DESIGN_NAME={ctx.top} SHELL=/bin/bash {MAKE_TARGET}
# ORFS runs in its flow directory (its scripts expect that) and writes logs/ reports/ results/ objects/ here
# (WORK_HOME; ORFS releases without WORK_HOME write them under FLOW_HOME).
DESIGN_CONFIG ?= ./config.mk
WORK_HOME     ?= $(CURDIR)
ifeq ($(FLOW_HOME),)
  ifneq ($(ORFS_ROOT),)
    FLOW_HOME := $(ORFS_ROOT)/flow
  endif
endif

ORFS_TARGETS := {MAKE_TARGET} synth floorplan place cts route metadata clean_all gui_final
.DEFAULT_GOAL := {MAKE_TARGET}
.PHONY: $(ORFS_TARGETS) check-flow-home

$(ORFS_TARGETS): check-flow-home
\t$(MAKE) -C $(FLOW_HOME) DESIGN_CONFIG=$(abspath $(DESIGN_CONFIG)) WORK_HOME=$(abspath $(WORK_HOME)) $@

check-flow-home:
\t@test -f "$(FLOW_HOME)/Makefile" || {{ echo "ERROR: FLOW_HOME='$(FLOW_HOME)' is not the flow/ directory of OpenROAD-flow-scripts ({ORFS_URL}); run make FLOW_HOME=<OpenROAD-flow-scripts>/flow"; exit 1; }}
"""


def edam(ctx: FlowContext, flow_home: Path | None) -> dict[str, Any]:
    """What Edalize's OpenROAD backend takes: the RTL, the three ORFS files by file type, the flow path and the
    make target. File names are relative to the work root (Edalize's convention)."""
    rtl = [{"name": os.path.relpath(f, ctx.work), "file_type": "systemVerilogSource"} for f in ctx.rtl_files()]
    return {
        "name": ctx.top,
        "toplevel": ctx.top,
        "files": rtl + [
            {"name": f"{SOURCE_DIR}/config.mk", "file_type": "configFile"},
            {"name": f"{SOURCE_DIR}/constraint.sdc", "file_type": "SDC"},
            {"name": f"{SOURCE_DIR}/Makefile", "file_type": "Makefile"},
        ],
        # Edalize requires a flow path to configure; without ORFS the Makefile's own FLOW_HOME handling applies
        "tool_options": {"openroad": {"flow_path": str(flow_home or "$(FLOW_HOME)"), "make_target": MAKE_TARGET}},
    }


def write_design(ctx: FlowContext, s: Settings, flow_home: Path | None) -> list[str]:
    """Write the ORFS design into ctx.work through Edalize; returns Edalize's run command (make ... finish)."""
    try:
        from edalize.openroad import Openroad
    except ImportError as e:
        raise GenesysError(f"Edalize's OpenROAD backend (edalize.openroad) is not available ({e}); "
                           "pip install 'edalize>=0.5' (./setup.sh installs it)") from None
    work = ctx.work
    src = work / SOURCE_DIR
    src.mkdir(parents=True, exist_ok=True)
    (src / "config.mk").write_text(config_mk(ctx, s))
    (src / "constraint.sdc").write_text(constraint_sdc(ctx, s))
    (src / "Makefile").write_text(makefile(ctx))
    description = edam(ctx, flow_home)
    (work / "edam.json").write_text(json.dumps(description, indent=2) + "\n")
    backend = Openroad(edam=description, work_root=str(work), verbose=False)
    commands: list[list[str]] = []
    # Edalize's run step calls make itself; here it only says how (the runner runs it, logged, with a time limit)
    backend._run_tool = lambda cmd, args=(), quiet=False: commands.append([cmd, *args]) or (0, None, None)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            backend.configure()
            backend.run_main()
    except (RuntimeError, OSError) as e:
        raise GenesysError(f"Edalize's OpenROAD backend could not configure the design in {work}: {e}") from None
    finally:
        (ctx.flow_dir / "edalize.log").write_text(out.getvalue())
    if not commands:
        raise GenesysError("Edalize's OpenROAD backend gave no command to run ORFS")
    return commands[0]


# ---- the run ---------------------------------------------------------------------------------------------
def missing(flow_home: Path | None, where: str, s: Settings) -> str:
    """Why the flow cannot run here ("" when it can). With only openroad missing this is missing_reason("openroad")."""
    problems = []
    if not find_tool("openroad").found:
        problems.append("openroad not found on PATH")
    if flow_home is None:
        problems.append(f"OpenROAD-flow-scripts not found ({where})")
    elif not (flow_home / "platforms" / s.platform.name).is_dir():
        problems.append(f"the OpenROAD-flow-scripts at {flow_home} has no platform {s.platform.name} "
                        f"(platforms/{s.platform.name})")
    if shutil.which("make", path=tool_env()["PATH"]) is None:
        problems.append("make not found on PATH (sudo apt-get install make)")
    return f"{' and '.join(problems)}; install it: {TOOLS['openroad'].install_hint}" if problems else ""


def orfs_env(flow_home: Path) -> dict[str, str]:
    """The tools' environment: ORFS takes OPENROAD_EXE / YOSYS_EXE from its own build (tools/install) unless set;
    when that build is absent, the openroad and yosys on PATH are named."""
    env = tool_env()
    install = flow_home.parent / "tools" / "install"
    for var, tool, built in (("OPENROAD_EXE", "openroad", install / "OpenROAD" / "bin" / "openroad"),
                             ("YOSYS_EXE", "yosys", install / "yosys" / "bin" / "yosys")):
        if not env.get(var) and not built.is_file():
            path = find_tool(tool).path
            if path:
                env[var] = path
    return env


def run(ctx: FlowContext) -> None:
    res = ctx.result
    s = settings(ctx.opts, ctx.arch.CLOCK_MHZ)
    res.clock_mhz = s.clock_mhz
    flow_home, where = find_flow_home()
    command = write_design(ctx, s, flow_home)
    work = ctx.work
    m = res.metrics
    m.update({"platform": s.platform.name, "clock_period_ns": round(s.period_ns, 6),
              "core_utilization_pct": s.utilization, "place_density": s.place_density,
              "synth_memory_max_bits": memory_max_bits(ctx.arch), "design_nickname": nickname(ctx.top, ctx.arch.name),
              "config": ctx.rel(work / "config.mk"), "sdc": ctx.rel(work / "constraint.sdc"),
              "makefile": ctx.rel(work / "Makefile"), "edam": ctx.rel(work / "edam.json")})
    why = missing(flow_home, where, s)
    if why:
        res.status = "skipped"
        res.reason = (f"{why}. The ORFS design is ready in {ctx.rel(work)}/ under the build directory: run "
                      f"`make FLOW_HOME=<OpenROAD-flow-scripts>/flow {MAKE_TARGET}` there where ORFS is installed")
        m["command"] = ["make", "FLOW_HOME=<OpenROAD-flow-scripts>/flow", MAKE_TARGET]
        return
    res.tool_version = find_tool("openroad").version or ""
    m["orfs"] = orfs_version(flow_home) or ""
    m["flow_home"] = str(flow_home)
    # ORFS is make-based and does not depend on config.mk's values: an earlier run's outputs would be reused
    for d in reports.run_dirs(work, s.platform.name, nickname(ctx.top, ctx.arch.name), FLOW_VARIANT).values():
        shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(work / "objects" / s.platform.name / nickname(ctx.top, ctx.arch.name) / FLOW_VARIANT,
                  ignore_errors=True)
    started = time.time() - 2  # file systems with coarse timestamps
    step = ctx.run_tool(command, LOG, cwd=work, env=orfs_env(flow_home), timeout=TIMEOUT_S)
    m["peak_rss_mb"] = step["peak_rss_mb"]
    log = ctx.log_text(LOG)
    m["orfs_warnings"] = len(re.findall(r"^\[WARNING [A-Z]{2,4}-\d+\]", log, re.M))
    res.warnings = m["orfs_warnings"]
    if step["returncode"] != 0:
        res.status = "failed"
        res.reason = reports.first_error(log) or f"make exited with status {step['returncode']} (ORFS); see {res.log}"
        return
    finish(ctx, s, flow_home, started)


def finish(ctx: FlowContext, s: Settings, flow_home: Path, since: float | None = None) -> None:
    """Read ORFS's final report into the result (from work/, or from FLOW_HOME in an ORFS without WORK_HOME),
    written by this run (at or after ``since``)."""
    res, m = ctx.result, ctx.result.metrics
    nick = nickname(ctx.top, ctx.arch.name)
    dirs = reports.find_run([ctx.work, flow_home], s.platform.name, nick, FLOW_VARIANT, since)
    if dirs is None:
        looked = reports.run_dirs(ctx.work, s.platform.name, nick, FLOW_VARIANT)
        res.status = "failed"
        res.reason = (f"ORFS finished but wrote no final report (6_report.json, 6_finish.rpt or metadata.json) in "
                      f"{ctx.rel(looked['logs'])} or {ctx.rel(looked['reports'])}")
        return
    got = reports.collect(dirs, s.platform.time_unit_ns, since)
    f = got["figures"]
    m["reports"] = [ctx.rel(p) for p in got["sources"]]
    m["time_unit_ns"] = got["time_unit_ns"]
    if "area_um2" in f:
        res.area_um2 = round(f["area_um2"], 1)
    for name in ("stdcell_area_um2", "macro_area_um2", "core_area_um2", "die_area_um2"):
        if name in f:
            m[name] = round(f[name], 1)
    for name in ("utilization", "power_w", "power_internal_w", "power_switching_w", "power_leakage_w",
                 "hold_worst_slack_ns", "hold_tns_ns"):
        if name in f:
            m[name] = f[name]
    for name in ("instances", "macros", "setup_violations", "hold_violations", "drc_errors",
                 "antenna_violating_nets", "wirelength_um"):
        if name in f:
            m[name] = int(f[name])
    if "fmax_hz" in f and f["fmax_hz"] > 0:
        m["orfs_fmax_mhz"] = round(f["fmax_hz"] / 1e6, 1)
    slack = f.get("worst_slack_ns")
    if slack is None:
        res.status = "failed"
        res.reason = f"ORFS's final report has no setup worst slack (finish__timing__setup__ws); read {m['reports']}"
        return
    m["worst_slack_ns"] = slack
    res.wns_ns = round(slack, 3)  # signed worst slack (see FlowResult.wns_ns)
    if "tns_ns" in f:
        res.tns_ns = round(f["tns_ns"], 3)
    if s.period_ns - slack > 0:
        res.fmax_mhz = round(1000.0 / (s.period_ns - slack), 1)
    m["notes"] = ("placed and routed by OpenROAD (ORFS); area = instance area (standard cells and macros) after "
                  "routing; timing with extracted parasitics at the platform's default corner")
    res.status, res.reason = "passed", ""
