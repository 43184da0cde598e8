"""The ``asic`` flow: genesys_top (or one block) mapped to a standard-cell Liberty library by Yosys + ABC and
timed by OpenSTA against the preset's clock.

    genesys flow asic --config 16x16                       # sky130 HD (the default PDK), the preset's CLOCK_MHZ
    genesys flow asic --config 4x4 --pdk nangate45 --clock-mhz 500
    genesys flow asic --config 4x4 --liberty my_cells.lib.gz --memories ff

Three steps, each with its log in ``build/<preset>/asic/``:

1. ``elab.log``: Yosys elaborates the rendered RTL and runs the coarse synthesis (``synth -run :fine``, no
   resource sharing, hierarchy kept), then lists the inferred memories (``memories.json``).
2. ``map.log``: memories become SRAM macro stubs (``--memories macro``, the default: one macro per memory of at
   least 1 kbit with registered reads, area and timing from the node's capacity model, see
   :mod:`genesys.flows.sram_macros`) or flip-flops (``--memories ff``); the logic is mapped to the library
   (``dfflibmap``, ``abc -D <period>``), ``stat`` per module gives the area by block, and the design is
   flattened into ``netlist.v`` for timing. Cells are named after the public wires they drive (``rename -wire``,
   linear; Yosys 0.23's ``autoname`` takes tens of minutes on the whole NPU); the critical path's registers are
   also reported by the RTL signal on their output (:func:`register_signals`).
3. ``sta.log``: OpenSTA with one clock on ``clk``, inputs and outputs constrained to the same clock with zero
   external delay: worst slack, total negative slack, the critical path, and fmax = 1 / (period - slack).

Area is cell area (no placement or routing overhead); timing uses the Liberty delays without wires (no
parasitics). Both are stated in the result's ``metrics["notes"]``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from genesys.errors import GenesysError
from genesys.flows import parsers, pdk, sram_macros
from genesys.flows.impl import FlowContext, clock_option
from genesys.tools import find_tool, missing_reason

TOOL = "yosys"
OPTIONS = {"pdk", "liberty", "clock_mhz", "memories"}
SUPPORT_FILES = ("pdk.py", "sram_macros.py")
MEMORY_MODELS = ("macro", "ff")
TIMEOUTS = {"elab": 3 * 3600, "map": 6 * 3600, "sta": 3600}  # seconds; a stuck tool must not hang a regression

# Which block each RTL module belongs to in the area breakdown (by module name; the first match wins). Macro
# cells count as "buffers" wherever they sit (a PE's weight bank is a buffer, not array logic).
BLOCK_OF_MODULE = (
    ("array", ("genesys_systolic_array", "genesys_pe", "genesys_sa_delay")),
    ("buffers", ("genesys_sa_ram", "genesys_simd_vmem")),
    ("simd", ("genesys_simd_",)),
    ("dma", ("genesys_dma", "genesys_stream_")),
    ("control", ("genesys_",)),
)
BLOCKS = tuple(b for b, _ in BLOCK_OF_MODULE)


def tool_versions(opts: dict[str, Any]) -> dict[str, str | None]:
    return {"yosys": find_tool("yosys").version, "opensta": find_tool("opensta").version}


def input_files(opts: dict[str, Any]) -> list[Path]:
    try:
        return [pdk.find_liberty(opts.get("pdk"), opts.get("liberty"))[0]]
    except GenesysError:
        return []  # run() reports it


def block_of(module: str) -> str:
    base = module_base(module)
    for block, prefixes in BLOCK_OF_MODULE:
        if any(base.startswith(p) for p in prefixes):
            return block
    return "control"


def module_base(module: str) -> str:
    """``$paramod$ab12\\genesys_pe`` / ``$paramod\\genesys_sa_ram\\WIDTH=...`` / ``\\genesys_top`` -> the RTL name."""
    m = re.search(r"\\(genesys_\w+)", "\\" + module)
    return m.group(1) if m else module.lstrip("\\")


# ABC's mapping as Yosys 0.23 runs it with -liberty -D, then what that leaves out: fanout buffering (at most
# MAX_FANOUT loads per net, slews under MAX_SLEW_PS ps; -p: flip-flop outputs and module inputs too, which ABC
# sees as primary inputs) and gate sizing against the period ({D}). Without them one control net with a thousand
# loads on a minimum-size gate or flip-flop shows tens to hundreds of ns (OpenLane's scripts do the same).
MAX_FANOUT, MAX_SLEW_PS, ABC_LOAD_FF = 16, 1500, 10.0
ABC_SCRIPT = f"""strash
&get -n
&fraig -x
&put
scorr
dc2
dretime
strash
&get -n
&dch -f
&nf {{D}}
&put
buffer -p -N {MAX_FANOUT} -S {MAX_SLEW_PS}
upsize {{D}}
dnsize {{D}}
stime -p
"""


def clock_target(ctx: FlowContext) -> float:
    """--clock-mhz, else the preset's CLOCK_MHZ (the ASIC target)."""
    return clock_option(ctx.opts.get("clock_mhz"), ctx.arch.CLOCK_MHZ, 10_000)


def run(ctx: FlowContext) -> None:
    res = ctx.result
    for tool in ("yosys", "opensta"):
        if not find_tool(tool).found:
            res.status, res.reason = "skipped", missing_reason(tool)
            return
    res.tool_version = find_tool("yosys").version or ""
    memories = ctx.opts.get("memories") or "macro"
    if memories not in MEMORY_MODELS:
        raise GenesysError(f"--memories must be one of {', '.join(MEMORY_MODELS)}, not {memories!r}")
    try:  # a PDK that is not installed skips; a wrong --pdk or --liberty fails (raised on)
        lib_src, tech = pdk.find_liberty(ctx.opts.get("pdk"), ctx.opts.get("liberty"))
    except pdk.LibertyNotInstalled as e:
        res.status, res.reason = "skipped", str(e)
        return
    clock_mhz = clock_target(ctx)
    period_ns = 1000.0 / clock_mhz
    res.clock_mhz = clock_mhz
    lib = pdk.prepare_liberty(lib_src, tech, ctx.build_root / ".liberty")
    if abs(lib.time_unit_ns - 1.0) > 1e-9:  # the period, ABC's -D and the macro stubs are all written in ns
        raise GenesysError(f"{lib_src}: time_unit is {lib.time_unit_ns:g} ns; the asic flow times libraries in "
                           "1ns units (sky130, NanGate45, most open PDKs): convert the library or ask for support")
    m = res.metrics
    m.update({"pdk": tech.name, "liberty": str(lib_src), "library": lib.library, "memory_model": memories,
              "dont_use_cells": len(lib.removed), "opensta_version": find_tool("opensta").version or ""})
    work = ctx.work

    # 1. elaborate + coarse synthesis; list the memories
    reads = "\n".join(f"read_verilog -sv {f}" for f in ctx.rtl_files())
    _yosys(ctx, "elab", f"""{reads}
hierarchy -check -top {ctx.top}
synth -top {ctx.top} -noshare -run :fine
write_rtlil elab.il
delete c:* t:$mem_v2 %d
write_json memories.json
""")
    mems = sram_macros.parse_memories((work / "memories.json").read_text())

    # 2. memories -> macros or flops; map to the library; area per module; flat netlist for STA
    abc_script = work / "abc.script"
    abc_script.write_text(ABC_SCRIPT.replace("{D}", f"-D {period_ns * 1000:.0f}"))  # Yosys substitutes only inline
    # ABC's primary inputs (flip-flop outputs, module inputs) are driven by the library's small buffer rather than
    # ideally, so their fanout costs delay and gets buffered too; outputs see ABC_LOAD_FF of load.
    abc_constr = work / "abc.constr"
    abc_constr.write_text(f"set_driving_cell {tech.buffer[0]}\nset_load {ABC_LOAD_FF}\n")
    macro_lib = None
    shapes: list = []
    if memories == "macro":
        techmap, macro_lib, shapes = sram_macros.write_files(work, mems, tech.sram)
    macro_read = f"read_liberty -lib {macro_lib}\ntechmap -map {techmap}\n" if shapes else ""
    stat_libs = f"-liberty {lib.path}" + (f" -liberty {macro_lib}" if shapes else "")
    (hi, hi_pin), (lo, lo_pin), (buf, buf_in, buf_out) = tech.tie_hi, tech.tie_lo, tech.buffer
    _yosys(ctx, "map", f"""read_rtlil elab.il
{macro_read}opt -fast -full
memory_map
opt -full
techmap
opt -fast
dfflibmap -liberty {lib.path}
opt_clean
abc -liberty {lib.path} -D {period_ns * 1000:.0f} -constr {abc_constr} -script {abc_script}
opt_clean
hilomap -hicell {hi} {hi_pin} -locell {lo} {lo_pin}
opt_clean
tee -q -o stat.txt stat {stat_libs}
rename -wire
flatten
setundef -zero
splitnets -ports
hilomap -hicell {hi} {hi_pin} -locell {lo} {lo_pin}
insbuf -buf {buf} {buf_in} {buf_out}
opt_clean -purge
check
write_verilog -noattr -noexpr -nohex -nodec netlist.v
""")
    macro_areas = {sram_macros.macro_name(*s): sram_macros.macro_area(tech.sram, s[0], s[1], s[3] + s[4])
                   for s in shapes}
    area = area_report(parsers.parse_yosys_stat_modules((work / "stat.txt").read_text()), lib.areas, macro_areas)
    res.area_um2 = round(area["total_um2"], 1)
    m.update({"area_by_block": {k: round(v, 1) for k, v in area["by_block"].items()},
              "area_logic_um2": round(area["logic_um2"], 1), "area_macros_um2": round(area["macros_um2"], 1),
              "cells": area["cells"], "flip_flops": area["flip_flops"],
              "cells_by_type": dict(area["cells_by_type"].most_common(40)),
              "unknown_cells": area["unknown"][:20]})
    m.update(memory_summary(mems, area["instances"], memories, tech))
    m["notes"] = ("cell area only (no placement, routing or power grid); timing from Liberty delays without "
                  "wire parasitics, ideal clock, zero input/output delay")

    # 3. timing
    t0 = time.monotonic()
    sta = _sta(ctx, lib.path, macro_lib if shapes else None, period_ns)
    m["sta_seconds"] = round(time.monotonic() - t0, 1)
    path = parsers.parse_sta_checks(sta)
    if not path:
        raise GenesysError(f"OpenSTA reported no timing path; see {ctx.flow_dir / 'sta.log'}")
    slack = path["slack_ns"]
    res.wns_ns = round(slack, 3)  # signed worst slack, as Vivado's WNS: negative when the clock is missed
    tns = parsers.parse_sta_value(sta, "tns")
    res.tns_ns = round(tns, 3) if tns is not None else None
    res.fmax_mhz = round(1000.0 / (period_ns - slack), 1)
    m["worst_slack_ns"] = slack
    m["critical_path"] = {"start": path["start"], "end": path["end"], "delay_ns": path["arrival_ns"],
                          "start_kind": path["start_kind"], "end_kind": path["end_kind"],
                          **register_signals((work / "netlist.v").read_text(errors="replace"),
                                             path["start"], path["end"])}
    res.warnings = len(parsers.yosys_warnings(ctx.log_text("map.log")))  # the mapping's, not STA's
    res.status, res.reason = "passed", ""


def register_signals(netlist: str, start: str, end: str) -> dict[str, str]:
    """The RTL signals of the critical path's end registers: ABC and flatten leave flip-flops with numbered
    names (``_657327_``), but the net on a flip-flop's Q keeps its RTL name (``u_simd.u_fu.s1_f1[2]``)."""
    out = {}
    for key, cell in (("start_signal", start), ("end_signal", end)):
        m = re.search(rf"^\s*\S+ {re.escape(cell)} \((.*?)\);", netlist, re.M | re.S)
        q = re.search(r"\.Q\(\\?([^()]*?)\s*\)", m.group(1)) if m else None
        if q and not re.fullmatch(r"_\d+_", q.group(1)):
            out[key] = q.group(1)
    return out


def _yosys(ctx: FlowContext, step: str, script: str) -> None:
    ctx.run_yosys(step, script, what=f"Yosys {step} step", timeout=TIMEOUTS[step])


def _sta(ctx: FlowContext, lib: Path, macro_lib: Path | None, period_ns: float) -> str:
    script = ctx.work / "sta.tcl"
    script.write_text(f"""read_liberty {lib}
{f'read_liberty {macro_lib}' if macro_lib else ''}
read_verilog {ctx.work / 'netlist.v'}
link_design {ctx.top}
create_clock -name clk -period {period_ns:.4f} [get_ports clk]
set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay 0 -clock clk [all_outputs]
report_checks -path_delay max -digits 3
report_wns
report_tns
exit
""")
    run = ctx.run_tool([find_tool("opensta").path, "-no_splash", "-exit", str(script)], "sta.log",
                       timeout=TIMEOUTS["sta"])
    text = ctx.log_text("sta.log")
    errors = [ln for ln in text.splitlines() if ln.startswith("Error")]
    if run["returncode"] != 0 or errors:
        raise GenesysError(f"OpenSTA failed: {errors[0] if errors else 'exit status ' + str(run['returncode'])}")
    return text


def area_report(stat: dict[str, Any], cell_areas: dict[str, float], macro_areas: dict[str, float]) -> dict[str, Any]:
    """Cell area of the whole design and per block from a hierarchical ``stat``: each module's own cells
    (library cells and macros, not submodule instances) times how often the module occurs in the design."""
    modules, instances = stat["modules"], stat["instances"]
    if not modules:
        raise GenesysError("Yosys printed no per-module statistics (stat.txt is empty)")
    by_block = dict.fromkeys(BLOCKS, 0.0)
    cells_by_type: Counter = Counter()
    unknown: list[str] = []
    logic = macros = 0.0
    for name, sec in modules.items():
        n = instances.get(name, 0)
        if not n:
            continue
        block = block_of(name)
        for ctype, count in sec["cells_by_type"].items():
            if ctype.lstrip("\\") in modules or ctype in modules:
                continue  # a submodule instance: counted in its own module
            if ctype in macro_areas:
                a = macro_areas[ctype] * count * n
                macros += a
                by_block["buffers"] += a
            elif ctype in cell_areas:
                a = cell_areas[ctype] * count * n
                logic += a
                by_block[block] += a
            else:
                unknown.append(ctype)
                continue
            cells_by_type[ctype] += count * n
    flops = sum(c for t, c in cells_by_type.items() if re.search(r"__(e|s|se)?df|^S?DFF", t))
    return {"total_um2": logic + macros, "logic_um2": logic, "macros_um2": macros, "by_block": by_block,
            "instances": instances,
            "cells": sum(cells_by_type.values()), "cells_by_type": cells_by_type, "flip_flops": flops,
            "unknown": sorted(set(unknown))}


def memory_summary(mems: list[sram_macros.Memory], instances: dict[str, int], model_name: str,
                   tech: pdk.Technology) -> dict[str, Any]:
    """Every inferred memory with how many times it occurs and what it became, and the note every report of
    this result must carry about how memories were modelled."""
    rows, macro_bits, ff_bits, macros = [], 0, 0, 0
    for x in mems:
        n = instances.get(x.module, instances.get(x.module.lstrip("\\"), 1))
        why = x.why_not_macro() if model_name == "macro" else "--memories ff"
        if why:
            ff_bits += x.bits * n
        else:
            macro_bits += x.bits * n
            macros += n
        rows.append({"module": module_base(x.module), "memory": x.memid or x.name.lstrip("\\"), "instances": n,
                     "depth": x.size, "width": x.width, "read_ports": x.rd_ports, "write_ports": x.wr_ports,
                     "bits": x.bits, "as": f"flip-flops ({why})" if why else f"macro {x.macro_name()}"})
    if model_name == "macro":
        note = (f"{macros} memories ({macro_bits:,} bits) are SRAM macro STUBS with area and timing from a capacity "
                f"model ({tech.sram.source}), not compiled SRAMs; {ff_bits:,} memory bits are flip-flops")
    else:
        note = f"every memory ({ff_bits:,} bits) is flip-flops (--memories ff); SRAM macros would be far smaller"
    return {"memories": rows, "memory_note": note, "memory_bits_macro": macro_bits, "memory_bits_ff": ff_bits,
            "macros": macros}
