"""The ``vivado`` flow: genesys_top (or one block) in an AMD/Xilinx Vivado project generated through Edalize,
synthesized and implemented out of context, with the utilization and timing reports parsed; without Vivado,
the project is still written (to copy to a Vivado machine) and Yosys ``synth_xilinx`` gives a resource
ESTIMATE.

    genesys flow vivado --config 4x4                         # part from the preset's size, clock CLOCK_MHZ
    genesys flow vivado --config 16x16 --part xcku5p-ffvb676-2-e --clock-mhz 250

The project, in ``build/<preset>/vivado/project/`` (self-contained: the RTL is copied into ``rtl/``):

- ``genesys_top.tcl`` (Edalize's Vivado flow, ``edalize.flows.vivado``): ``create_project`` for the part, the
  RTL (``read_verilog -sv``, compile order), the clock constraint ``genesys_top.xdc`` (``create_clock`` on
  port ``clk``, period 1000/clock_mhz ns) and ``genesys_ooc.tcl``, which sets synthesis to
  ``-mode out_of_context`` (genesys_top has hundreds of I/O bits, more than any package's pins; no I/O
  buffers are inserted and no pins placed). Edalize's Makefile and scripts come along (``make synth`` works;
  its bitstream target does not apply to an out-of-context design).
- ``genesys_impl.tcl``: runs ``synth_1``, then ``impl_1`` up to ``route_design``, then writes
  ``reports/utilization_synth.rpt``, ``reports/utilization.rpt`` (placed and routed),
  ``reports/timing_summary.rpt`` (``report_timing_summary``) and ``reports/utilization_hier.rpt``.
- ``build.sh``: the two Vivado batch runs (project, then ``genesys_impl.tcl``), as the flow runs them.

Figures (Vivado): luts = Slice/CLB LUTs, ffs = Slice/CLB Registers, dsps = DSPs, brams = Block RAM Tiles
rounded up (36 Kbit tiles; a RAMB18 is half a tile; the exact value is ``metrics["bram_tiles"]``), wns_ns and
tns_ns from the Design Timing Summary (WNS is Vivado's worst setup slack, positive when met), fmax_mhz =
1000 / (period - WNS).

Part: ``--part``, else the smallest entry of :data:`PARTS` whose DSPs, block RAM and LUTs cover the preset's
estimate (:func:`estimate_needs`) with headroom (DSPs and block RAM at most 80 %, LUTs at most 70 % used).
"""

from __future__ import annotations

import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesys.errors import GenesysError
from genesys.flows import fpga_reports as R
from genesys.flows import parsers
from genesys.flows.impl import FlowContext, clock_option
from genesys.tools import find_tool, missing_reason

TOOL = "vivado"
OPTIONS = {"part", "clock_mhz"}
SUPPORT_FILES = ("fpga_reports.py",)
TIMEOUTS = {"project": 1800, "build": 12 * 3600, "estimate": 4 * 3600}  # seconds
CLOCK_PORT = "clk"
PROJECT = "project"
ESTIMATE_NOTE = ("ESTIMATE: Vivado is not installed; these are Yosys synth_xilinx cell counts for the part's family "
                 "(LUTs incl. LUT RAM and shift registers, flip-flops, DSP48, RAMB36/RAMB18), not Vivado's "
                 "post-route utilization, and there is no timing. Run the project in metrics['vivado_project'] "
                 "(build.sh) on a machine with Vivado for real figures.")


@dataclass(frozen=True)
class Part:
    name: str
    family: str      # Yosys synth_xilinx -family: xc7, xcu, xcup
    luts: int
    ffs: int
    dsps: int
    bram36: int
    description: str


# Smallest first; capacities from AMD's product tables (7-series DS180, UltraScale+ DS891).
PARTS: tuple[Part, ...] = (
    Part("xc7a35tcsg324-1", "xc7", 20_800, 41_600, 90, 50, "Artix-7 35T (Arty A7-35)"),
    Part("xc7a100tcsg324-1", "xc7", 63_400, 126_800, 240, 135, "Artix-7 100T (Arty A7-100, Nexys A7)"),
    Part("xc7a200tsbg484-1", "xc7", 133_800, 267_600, 740, 365, "Artix-7 200T (Nexys Video)"),
    Part("xcku5p-ffvb676-2-e", "xcup", 216_960, 433_920, 1_824, 480, "Kintex UltraScale+ KU5P"),
    Part("xcku15p-ffve1517-2-e", "xcup", 522_720, 1_045_440, 1_968, 984, "Kintex UltraScale+ KU15P"),
    Part("xcvu9p-flga2104-2L-e", "xcup", 1_182_240, 2_364_480, 6_840, 2_160, "Virtex UltraScale+ VU9P (VCU118, AWS F1)"),
)
HEADROOM = {"dsps": 0.8, "bram36": 0.8, "luts": 0.7}
# LUTs per unit of the preset, fitted to synth_xilinx on 4x4 (see docs/fpga.md): a fixed part (control, DMA,
# AXI) plus each PE and each SIMD lane.
LUTS_BASE, LUTS_PER_PE, LUTS_PER_LANE = 12_000, 400, 4_000


def tool_versions(opts: dict[str, Any]) -> dict[str, str | None]:
    return {"vivado": find_tool("vivado").version, "yosys": find_tool("yosys").version}


def input_files(opts: dict[str, Any]) -> list[Path]:
    return []


def yosys_family(part: str) -> str:
    """synth_xilinx's -family for a part name: UltraScale+ (xcku<n>p, xcvu<n>p, xczu, xcau, xcsu, the Alveo xcu<n>
    and Kria xck2<n> parts), UltraScale (xcku<n>, xcvu<n> without the p: KU025..KU115, VU065..VU440), else
    7-series."""
    p = part.lower()
    known = next((x for x in PARTS if x.name.lower() == p), None)
    if known:
        return known.family
    if re.match(r"^xc(zu|au|su|ku\d+p|vu\d+p|u\d|k2\d)", p):
        return "xcup"
    if re.match(r"^xc(ku|vu)\d", p):
        return "xcu"
    return "xc7"


def check_part(part: str) -> str:
    p = str(part).strip()  # kept as given: Vivado's part names have capitals (xcvu9p-flga2104-2L-e)
    if not re.fullmatch(r"x[ca][a-z0-9]+(?:-[a-z0-9]+)+", p, re.IGNORECASE):
        raise GenesysError(f"--part {part!r} is not a Xilinx part name; give a full part such as "
                           f"xc7a100tcsg324-1 or xcku5p-ffvb676-2-e")
    return p


def _bram18(depth: int, width: int) -> int:
    """RAMB18s for one depth x width memory (a RAMB18 is 512x36 .. 16Kx1); 0 below 4 Kbit (LUT RAM)."""
    if depth * width < 4096:
        return 0
    ways = 1
    while depth > 16384:
        depth, ways = math.ceil(depth / 2), ways * 2
    per = next(w for d, w in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)) if depth <= d)
    return ways * math.ceil(width / per)


def estimate_needs(arch, derived: dict[str, Any]) -> dict[str, int]:
    """The preset's DSPs (one DSP48 per PE, four per SIMD lane for its 32-bit multiplier), 36 Kbit block RAMs
    (each buffer bank as its own memory, from the rendered geometry) and LUTs (LUTS_* above)."""
    lanes = getattr(arch, "SIMD_LANES", arch.ARRAY_M)
    bram18 = 0
    for buf, copies in (("IBUF", 1), ("WBUF", 1), ("OBUF", 1), ("BBUF", 1), ("VMEM", 2), ("IMEM", 1)):
        try:
            banks, width, depth = (int(derived[f"{buf}_{k}"]) for k in ("BANKS", "BANK_WIDTH", "DEPTH"))
        except (KeyError, TypeError, ValueError):
            continue
        bram18 += copies * banks * _bram18(depth, width)
    return {"dsps": arch.ARRAY_N * arch.ARRAY_M + 4 * lanes, "bram36": math.ceil(bram18 / 2),
            "luts": LUTS_BASE + LUTS_PER_PE * arch.ARRAY_N * arch.ARRAY_M + LUTS_PER_LANE * lanes}


def choose_part(needs: dict[str, int]) -> Part:
    for part in PARTS:
        if all(needs[k] <= HEADROOM[k] * getattr(part, k) for k in HEADROOM):
            return part
    return PARTS[-1]


def clock_target(ctx: FlowContext) -> float:
    return clock_option(ctx.opts.get("clock_mhz"), ctx.arch.CLOCK_MHZ, 2000)


# ---- the project ---------------------------------------------------------------------------------------------
def xdc_text(clock_mhz: float, port: str = CLOCK_PORT) -> str:
    period = 1000.0 / clock_mhz
    return (f"# genesys: the design's one clock ({clock_mhz:g} MHz)\n"
            f"create_clock -period {period:.3f} -name {port} [get_ports {port}]\n")


OOC_TCL = """# genesys: synthesize out of context. genesys_top's ports are not device pins (it has more I/O bits than
# any package has pins): no I/O buffers, no pin placement; the clock constraint still applies.
set_property -name {STEPS.SYNTH_DESIGN.ARGS.MORE OPTIONS} -value {-mode out_of_context} -objects [get_runs synth_1]
"""

IMPL_TCL = """# genesys: synthesis, implementation to route_design, and the reports the flow parses.
#   vivado -mode batch -source genesys_top.tcl                      (creates genesys_top.xpr; Edalize-generated)
#   vivado -mode batch -source genesys_impl.tcl genesys_top.xpr     (this script)
file mkdir reports
proc genesys_check {run step} {
  set status [get_property STATUS [get_runs $run]]
  puts "genesys: $run: $status"
  if {[regexp -nocase {error|failed} $status] || ![regexp -nocase {complete} $status]} {
    puts "ERROR: \\[genesys\\] $run did not complete $step (status: $status); see [get_property DIRECTORY [get_runs $run]]/runme.log"
    exit 1
  }
}
reset_run synth_1
launch_runs synth_1 -jobs {jobs}
wait_on_run synth_1
genesys_check synth_1 synth_design
open_run synth_1 -name synth_1
report_utilization -file reports/utilization_synth.rpt
close_design
launch_runs impl_1 -to_step route_design -jobs {jobs}
wait_on_run impl_1
genesys_check impl_1 route_design
open_run impl_1
report_utilization -file reports/utilization.rpt
report_utilization -hierarchical -hierarchical_depth 3 -file reports/utilization_hier.rpt
report_timing_summary -max_paths 10 -report_unconstrained -file reports/timing_summary.rpt
puts "genesys: reports written to [pwd]/reports"
"""

BUILD_SH = """#!/bin/sh
# Build this GeneSys Vivado project (out of context) and write reports/: run it on a machine with Vivado
# (settings64.sh sourced). The same two steps `genesys flow vivado` runs.
set -e
cd "$(dirname "$0")"
vivado -mode batch -notrace -nojournal -log vivado_project.log -source {name}.tcl
vivado -mode batch -notrace -nojournal -log vivado_build.log -source genesys_impl.tcl {name}.xpr
"""


def write_project(ctx: FlowContext, part: str, clock_mhz: float, jobs: int = 2) -> Path:
    """The Vivado project files in ``<flow_dir>/project`` (RTL copied to rtl/; paths relative, so the
    folder can be copied to another machine). Returns the folder."""
    from edalize.flows.vivado import Vivado as EdalizeVivado

    proj = ctx.flow_dir / PROJECT
    if proj.exists():
        shutil.rmtree(proj)
    (proj / "rtl").mkdir(parents=True)
    files = []
    for f in ctx.rtl_files():
        shutil.copy2(f, proj / "rtl" / f.name)
        files.append({"name": f"rtl/{f.name}", "file_type": "systemVerilogSource"})
    (proj / f"{ctx.top}.xdc").write_text(xdc_text(clock_mhz))
    (proj / "genesys_ooc.tcl").write_text(OOC_TCL)
    files += [{"name": f"{ctx.top}.xdc", "file_type": "xdc"}, {"name": "genesys_ooc.tcl", "file_type": "tclSource"}]
    edam = {"name": ctx.top, "toplevel": ctx.top, "files": files, "parameters": {},
            "flow_options": {"part": part, "pnr": "vivado"}}
    try:
        EdalizeVivado(edam=edam, work_root=str(proj)).configure()
    except (RuntimeError, OSError, KeyError) as e:
        raise GenesysError(f"Edalize could not write the Vivado project in {proj}: {e}") from None
    (proj / "genesys_impl.tcl").write_text(IMPL_TCL.replace("{jobs}", str(jobs)))
    build = proj / "build.sh"
    build.write_text(BUILD_SH.replace("{name}", ctx.top))
    build.chmod(0o755)
    return proj


# ---- the flow ---------------------------------------------------------------------------------------------------
def run(ctx: FlowContext) -> None:
    res = ctx.result
    m = res.metrics
    clock_mhz = clock_target(ctx)
    res.clock_mhz = clock_mhz
    derived = (ctx.manifest.get("arch") or {}).get("derived", {})
    needs = estimate_needs(ctx.arch, derived)
    if ctx.opts.get("part"):
        part, choice = check_part(ctx.opts["part"]), "option"
    else:
        chosen = choose_part(needs)
        part, choice = chosen.name, f"smallest of genesys.flows.vivado.PARTS for the estimate ({chosen.description})"
        if not all(needs[k] <= HEADROOM[k] * getattr(chosen, k) for k in HEADROOM):
            choice = (f"largest of genesys.flows.vivado.PARTS ({chosen.description}); the estimate exceeds "
                      f"{', '.join(f'{HEADROOM[k]:.0%} of its {k}' for k in HEADROOM if needs[k] > HEADROOM[k] * getattr(chosen, k))}: "
                      "give a larger part with --part")
    m.update({"part": part, "part_choice": choice, "part_needs_estimate": needs, "out_of_context": True,
              "family": yosys_family(part)})
    proj = write_project(ctx, part, clock_mhz)
    m["vivado_project"] = ctx.rel(proj)
    vivado = find_tool("vivado")
    if vivado.found:
        _run_vivado(ctx, vivado.path, proj, clock_mhz)
    else:
        m["vivado_missing"] = missing_reason("vivado")
        _estimate(ctx, part)


def _run_vivado(ctx: FlowContext, vivado: str, proj: Path, clock_mhz: float) -> None:
    res, m = ctx.result, ctx.result.metrics
    res.tool, res.tool_version = "vivado", find_tool("vivado").version or ""
    t0 = time.monotonic()
    r = ctx.run_tool([vivado, "-mode", "batch", "-notrace", "-nojournal", "-nolog", "-source", f"{ctx.top}.tcl"],
                     "vivado_project.log", cwd=proj, timeout=TIMEOUTS["project"])
    if r["returncode"] != 0:
        raise GenesysError("Vivado could not create the project: " + (
            parsers.first_error(ctx.log_text("vivado_project.log")) or f"exit status {r['returncode']}"))
    r = ctx.run_tool([vivado, "-mode", "batch", "-notrace", "-nojournal", "-nolog", "-source", "genesys_impl.tcl",
                      f"{ctx.top}.xpr"], "vivado.log", cwd=proj, timeout=TIMEOUTS["build"])
    m["build_seconds"] = round(time.monotonic() - t0, 1)
    m["peak_rss_mb"] = r["peak_rss_mb"]
    log = ctx.log_text("vivado.log")
    util_path, timing_path = proj / "reports" / "utilization.rpt", proj / "reports" / "timing_summary.rpt"
    if r["returncode"] != 0 or not util_path.is_file() or not timing_path.is_file():
        raise GenesysError("Vivado build failed: " + (parsers.first_error(log) or f"exit status {r['returncode']}, "
                                                      "no reports written"))
    finish_vivado(res, util_path.read_text(errors="replace"), timing_path.read_text(errors="replace"), clock_mhz)
    res.warnings = len(re.findall(r"^WARNING:", log, re.MULTILINE))
    m["reports"] = {"utilization": ctx.rel(util_path), "timing_summary": ctx.rel(timing_path)}


def finish_vivado(res, util_text: str, timing_text: str, clock_mhz: float) -> None:
    """Fill the result from Vivado's post-route utilization and timing summary reports."""
    m = res.metrics
    util = R.parse_vivado_utilization(util_text)
    timing = R.parse_vivado_timing_summary(timing_text, CLOCK_PORT)
    res.luts, res.ffs, res.dsps = util.get("luts"), util.get("ffs"), util.get("dsps")
    tiles = util.get("bram_tiles")
    res.brams = math.ceil(tiles) if tiles is not None else None
    m.update({"bram_tiles": tiles, "ramb36": util.get("ramb36"), "ramb18": util.get("ramb18"), "uram": util.get("uram"),
              "utilization_pct": util.get("utilization_pct", {}), "available": util.get("available", {})})
    if util.get("device"):
        m["device"] = util["device"]
    wns = timing.get("clock_wns_ns", timing.get("wns_ns"))
    period = timing.get("period_ns", 1000.0 / clock_mhz)
    res.wns_ns = wns
    res.tns_ns = timing.get("tns_ns")
    res.fmax_mhz = R.fmax_from_slack(period, wns)
    for key in ("whs_ns", "tns_failing_endpoints", "tns_total_endpoints", "met"):
        if key in timing:
            m[key] = timing[key]
    if timing.get("critical_path"):
        m["critical_path"] = timing["critical_path"]
    if res.luts is None or wns is None:
        res.status = "failed"
        res.reason = ("Vivado's reports have no " + ("LUT count" if res.luts is None else
                                                     f"setup slack for clock '{CLOCK_PORT}'") + "; see the reports")
        return
    res.status, res.reason = "passed", ""


def estimate_script(ctx: FlowContext, family: str) -> str:
    reads = "\n".join(f"read_verilog -sv {f}" for f in ctx.rtl_files())
    return f"""# genesys vivado flow without Vivado: a Yosys synth_xilinx utilization ESTIMATE (out of context: no I/O buffers)
{reads}
synth_xilinx -top {ctx.top} -family {family} -flatten -noiopad -noclkbuf
tee -q -o stat.txt stat -tech xilinx
"""


def _estimate(ctx: FlowContext, part: str) -> None:
    res, m = ctx.result, ctx.result.metrics
    yosys = find_tool("yosys")
    if not yosys.found:
        res.status = "skipped"
        res.reason = (f"{missing_reason('vivado')}; the project is written ({m['vivado_project']}) but the Yosys "
                      f"estimate needs Yosys too: {missing_reason('yosys')}")
        return
    res.tool, res.tool_version = "yosys", yosys.version or ""
    log = ctx.run_yosys("estimate", estimate_script(ctx, yosys_family(part)),
                        what="Yosys synth_xilinx (the estimate without Vivado)", timeout=TIMEOUTS["estimate"],
                        script_name="synth_xilinx.ys")
    stat_path = ctx.work / "stat.txt"
    cells = parsers.parse_yosys_stat(stat_path.read_text() if stat_path.is_file() else log).get("cells_by_type", {})
    if not cells:
        raise GenesysError(f"Yosys synth_xilinx finished but wrote no cell statistics ({stat_path})")
    finish_estimate(res, cells, part)


def finish_estimate(res, cells: dict[str, int], part: str) -> None:
    m = res.metrics
    x = R.xilinx_cells(cells)
    res.luts, res.ffs, res.dsps = x["luts"], x["ffs"], x["dsps"]
    res.brams = math.ceil(x["bram_tiles"])
    res.fmax_mhz = res.wns_ns = res.tns_ns = None
    m.update({"estimate": True, "estimate_note": ESTIMATE_NOTE, "estimate_tool": "yosys synth_xilinx",
              "bram_tiles": x["bram_tiles"], "ramb36": x["ramb36"], "ramb18": x["ramb18"], "uram": x["uram"],
              "lut_logic": x["lut_logic"], "lut_memory": x["lut_memory"], "carry": x["carry"], "muxf": x["muxf"],
              "synth_cells": {k: cells[k] for k in sorted(cells)}})
    known = next((p for p in PARTS if p.name == part), None)
    if known:
        m["utilization_pct"] = {k: round(100.0 * v / cap, 2) for k, v, cap in (
            ("luts", x["luts"], known.luts), ("ffs", x["ffs"], known.ffs), ("dsps", x["dsps"], known.dsps),
            ("brams", x["bram_tiles"], known.bram36))}
    res.status, res.reason = "passed", ""
