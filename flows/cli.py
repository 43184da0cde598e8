"""``genesys flow`` (one flow on one preset) and ``genesys regress`` (presets x flows, then the summary)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesys.arch import DEFAULT_PRESET
from genesys.flows.asic import MEMORY_MODELS
from genesys.flows.result import FlowResult
from genesys.flows.runner import FLOWS, IMPL_FLOW_NAMES, SIMULATORS, regress, run_flow


def register(sub) -> None:
    p = sub.add_parser("flow", help="run one flow (lint, sim, rtl, synth, asic, fpga, vivado, openroad) on one preset",
                       description="Run one flow on one preset; the result goes to "
                                   "<build-dir>/<preset>/<flow>/result.json and the tool's log beside it.")
    p.add_argument("flow", choices=FLOWS, help="lint: Verilator -Wall; sim: pyuvm verification; rtl: compiled "
                                              "programs on genesys_top (Verilator harness) against the simulator; "
                                              "synth: Yosys generic synthesis; asic: Yosys+ABC to a Liberty library, "
                                              "OpenSTA timing; fpga: ECP5 (Yosys+nextpnr); vivado: Xilinx (Vivado "
                                              "project via Edalize, or a Yosys estimate); openroad: OpenROAD-flow-"
                                              "scripts config (run when installed)")
    p.add_argument("--config", default=DEFAULT_PRESET, help=f"preset name or YAML path (default {DEFAULT_PRESET})")
    p.add_argument("--simulator", choices=SIMULATORS, default="verilator", help="simulator for sim (default verilator)")
    p.add_argument("--seed", type=int, help="random seed for sim (default 1)")
    p.add_argument("--items", type=int, help="sequence items per test for sim (default: the env's)")
    p.add_argument("--block", help="sim: the block whose pyuvm environment runs (systolic_array, dma, npu; "
                                   "default systolic_array); lint/synth: the core (default systolic_array); asic/fpga/vivado/"
                                   "openroad: the block implemented (default npu: genesys_top)")
    p.add_argument("--programs", help="rtl: program set (ci, ops, full) or a comma-separated list of op:<name>, cnn, "
                                      "<model>@<resolution> (default ci)")
    p.add_argument("--latency", type=int, help="rtl: memory latency in cycles, also the simulator's DMA latency "
                                               "(default 20)")
    add_impl_options(p)
    p.add_argument("--build-dir", default="build", type=Path, help="build root (default build)")
    p.set_defaults(func=_flow_cli)

    r = sub.add_parser("regress", help="run every flow for every preset, then write the summary",
                       description="Run the flows (default all: lint, sim, rtl, synth, asic, fpga, vivado, openroad, in that "
                                   "order) for each preset, then "
                                   "write summary.md/.html/.json into the build dir and print the table. "
                                   "Exits non-zero if any flow failed; skipped flows are not failures.")
    r.add_argument("--config", action="append", help=f"preset name or YAML path; repeat for several "
                                                     f"(default {DEFAULT_PRESET})")
    r.add_argument("--flow", action="append", choices=FLOWS, help="flow to run; repeat for several (default all)")
    r.add_argument("--simulator", choices=SIMULATORS, default="verilator", help="simulator for sim (default verilator)")
    r.add_argument("--programs", default="ci", help="rtl: program set (ci, ops, full) or list (default ci)")
    r.add_argument("--seed", type=int, action="append", help="rtl: seed of the random AXI timing; repeat for several "
                                                            "(default 1)")
    r.add_argument("--block", default="npu", help="lint/synth and the implementation flows: the block (default npu: "
                                                 "genesys_top)")
    r.add_argument("--jobs", "-j", type=int, help="jobs in parallel (default: one per core); sim and rtl of one preset "
                                                  "always run in order")
    r.add_argument("--resume", action="store_true", help="skip the jobs the last, interrupted regression in this "
                                                         "build dir finished")
    add_impl_options(r)
    r.add_argument("--build-dir", default="build", type=Path, help="build root (default build)")
    r.set_defaults(func=_regress_cli)


def add_impl_options(p) -> None:
    g = p.add_argument_group("implementation flows (asic, fpga, vivado, openroad)")
    g.add_argument("--clock-mhz", type=float, help="target clock (default: the preset's CLOCK_MHZ)")
    g.add_argument("--pdk", help="asic/openroad: PDK by OpenLane name (sky130A, sky130_fd_sc_hd, nangate45; "
                                 "looked up under $PDK_ROOT, then ../shared/pdk); default sky130hd")
    g.add_argument("--liberty", help="asic: a Liberty file (.lib or .lib.gz) instead of --pdk")
    g.add_argument("--memories", choices=MEMORY_MODELS, help="asic: memories as SRAM macro stubs (default) "
                                                               "or flip-flops")
    g.add_argument("--device", help="fpga: ECP5 device (default: the smallest that fits)")
    g.add_argument("--part", help="vivado: Xilinx part (default: derived from the preset's size)")
    g.add_argument("--utilization", type=float, help="openroad: core utilization percent")
    g.add_argument("--force", action="store_true", help="run again even when a cached result matches")


IMPL_OPTS = ("clock_mhz", "pdk", "liberty", "memories", "device", "part", "utilization")


def given_impl_opts(args: argparse.Namespace) -> dict:
    """The implementation-flow options given on the command line (--force aside)."""
    return {k: getattr(args, k) for k in IMPL_OPTS if getattr(args, k, None) is not None}


def impl_opts(flow: str, args: argparse.Namespace) -> dict:
    """The options of ``flow`` from parsed arguments; an option given to a flow that has no use for it is an
    error (never silently ignored)."""
    from genesys.errors import GenesysError
    from genesys.flows.runner import _impl_module

    accepted = _impl_module(flow).OPTIONS
    given = given_impl_opts(args)
    wrong = sorted(k for k in given if k not in accepted)
    if wrong:
        raise GenesysError(f"flow {flow} has no option --{wrong[0].replace('_', '-')}; its options: "
                           + ", ".join("--" + o.replace("_", "-") for o in sorted(accepted)))
    return {**given, "block": args.block, "force": args.force or None}


def summary_line(res: FlowResult) -> str:
    tool = f"{res.tool} {res.tool_version}".strip()
    line = f"{res.preset} {res.flow}: {res.status.upper()} in {res.wall_seconds:.1f} s"
    if tool:
        line += f" ({tool})"
    key = key_metrics(res)
    if key:
        line += f"; {key}"
    if res.reason and res.status != "passed":
        line += f" -- {res.reason}"
    return line


def key_metrics(res: FlowResult) -> str:
    from genesys.report import key_metrics as _key
    return _key(res)


def _flow_cli(args: argparse.Namespace) -> int:
    if args.flow not in IMPL_FLOW_NAMES:
        from genesys.errors import GenesysError

        given = [*given_impl_opts(args), *(["force"] if args.force else [])]
        if given:
            raise GenesysError(f"flow {args.flow} has no option --{given[0].replace('_', '-')} (the implementation "
                               f"flows {', '.join(IMPL_FLOW_NAMES)} take it)")
    if args.flow == "sim":
        opts = {"simulator": args.simulator, "seed": args.seed, "items": args.items, "block": args.block}
    elif args.flow == "rtl":
        opts = {"programs": args.programs, "seed": args.seed, "latency": args.latency}
    elif args.flow in IMPL_FLOW_NAMES:
        opts = impl_opts(args.flow, args)
    else:
        opts = {"block": args.block}
    res = run_flow(args.flow, args.config, args.build_dir, **opts)
    print(summary_line(res) + (" [cached: inputs unchanged; --force to re-run]" if res.metrics.get("cached") else ""))
    if res.log:
        print(f"  log: {args.build_dir / res.log}")
    return 1 if res.status == "failed" else 0


def _regress_cli(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from genesys import report
    from genesys.flows.runner import _impl_module

    presets = args.config or [DEFAULT_PRESET]
    flows = args.flow or FLOWS
    given = given_impl_opts(args)
    unused = sorted(k for k in given if not any(k in _impl_module(f).OPTIONS for f in flows if f in IMPL_FLOW_NAMES))
    if unused:
        from genesys.errors import GenesysError
        raise GenesysError(f"--{unused[0].replace('_', '-')} applies to none of the flows run "
                           f"({', '.join(flows)})")
    impl = {f: {k: v for k, v in given.items() if k in _impl_module(f).OPTIONS} | ({"force": True} if args.force else {})
            for f in IMPL_FLOW_NAMES if f in flows}
    results = regress(presets, flows, args.build_dir, args.simulator,
                      on_result=lambda res: tqdm.write(summary_line(res)), programs=args.programs,
                      seeds=args.seed or [1], block=args.block, jobs=args.jobs, impl_opts=impl, resume=args.resume)
    out = report.write_summary(args.build_dir)
    print()
    print(out["markdown"], end="")
    print(f"\nsummary: {out['paths']['md']}, {out['paths']['html']}, {out['paths']['json']}")
    return 1 if any(r.status == "failed" for r in results) else 0
