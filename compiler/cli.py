"""The compiler's commands: `genesys compile`, `genesys run`, `genesys bench`.

    genesys compile model.onnx --config 16x16 -o out/ [--tile conv1:oc=32,oh=14] [--loop-order conv1:oc,oh,ow,ic]
                    [--no-fuse] [--no-double-buffer] [--schedule sched.yaml]
    genesys run model.onnx --config 4x4 --target sim|rtl [--input in.npz] [--output out.npz] [--seed N]
    genesys bench resnet50 --config 16x16 [--resolution 224] [--json result.json] [--target rtl]

A float model is quantized first (compiler/quantize.py: seeded calibration, or the --input arrays); a QDQ
(or QLinear) model is used as it is. `run` compares every graph output with ONNX Runtime running the same
quantized model on the same inputs and exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import time
import zipfile
from pathlib import Path

import numpy as np

from genesys.errors import GenesysError

QUANT_OPS = ("QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul")


# ---- shared steps ---------------------------------------------------------------------------------
def _schedule_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("schedule (see docs/compiler.md)")
    g.add_argument("--tile", action="append", default=[], metavar="LAYER:KEY=N,...",
                   help="force tile sizes of a layer: oc/ic in channels, oh/ow in output pixels "
                        "(e.g. conv1:oc=32,oh=14); repeatable")
    g.add_argument("--loop-order", action="append", default=[], metavar="LAYER:L,L,L,ic",
                   help="group-level loop order of a layer, outermost first, ic last (e.g. conv1:oc,oh,ow,ic)")
    g.add_argument("--no-fuse", action="store_true", help="do not fuse residual adds into convolutions")
    g.add_argument("--no-double-buffer", action="store_true",
                   help="use whole buffers (no halves): loads no longer overlap compute")
    g.add_argument("--no-interleave", action="store_true",
                   help="run every layer on its own (no interleaving of SIMD-bound layers with their neighbours)")
    g.add_argument("--schedule", metavar="YAML", help="schedule file (fuse, double_buffer, interleave, layers: {name: "
                                                      "{tile, loop_order, double_buffer}}); command-line options win")
    g.add_argument("--dma-latency", type=int, default=100, help="DMA latency (cycles) the cost model and the "
                                                                 "simulator assume (default 100)")


def options_from_args(args) -> object:
    from genesys.compiler.compile import CompileOptions

    opts = CompileOptions.from_yaml(args.schedule) if args.schedule else CompileOptions()
    for spec in args.tile:
        layer, t = CompileOptions.parse_tile(spec)
        opts.tile[layer] = {**opts.tile.get(layer, {}), **t}
    for spec in args.loop_order:
        layer, order = CompileOptions.parse_loop_order(spec)
        opts.loop_order[layer] = order
    if args.no_fuse:
        opts.fuse = False
    if args.no_double_buffer:
        opts.double_buffer = False
        opts.layer_double_buffer = {}
    if args.no_interleave:
        opts.interleave = False
    if args.dma_latency < 0:
        raise GenesysError(f"--dma-latency must be >= 0, got {args.dma_latency}")
    opts.dma_latency = args.dma_latency
    return opts


def load_inputs(path: str | None, model, seed: int) -> dict[str, np.ndarray]:
    from genesys.compiler.quantize import input_shapes, random_inputs

    if path is None:
        return random_inputs(model, 1, seed)[0]
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as e:
        raise GenesysError(f"cannot read inputs '{path}' as an .npz of arrays keyed by input name "
                           f"({type(e).__name__}: {e})") from None
    shapes = input_shapes(model)
    missing = sorted(set(shapes) - set(arrays))
    if missing:
        raise GenesysError(f"{path}: no array for input(s) {', '.join(missing)} (has: {', '.join(arrays) or 'none'})")
    out = {}
    for k, shape in shapes.items():
        a = np.asarray(arrays[k], dtype=np.float32)
        if a.shape != shape:
            raise GenesysError(f"{path}: array '{k}' has shape {list(a.shape)}, the model's input is {list(shape)}")
        out[k] = a
    return out


def is_quantized(model) -> bool:
    return any(n.op_type in QUANT_OPS for n in model.graph.node)


def source_model(spec: str, resolution: int | None, seed: int):
    """(ModelProto, name) of a built-in model name or an .onnx path."""
    from genesys.compiler.frontend.onnx_loader import load
    from genesys.compiler.models import MODELS, get_model

    path = Path(spec)
    if not path.exists() and spec in MODELS:
        return get_model(spec, resolution, seed), spec
    if not path.exists():
        raise GenesysError(f"'{spec}' is neither an .onnx file nor a built-in model ({', '.join(MODELS)})")
    if resolution is not None:
        raise GenesysError("--resolution applies to built-in models only")
    return load(path), path.stem


def prepare(spec: str, resolution: int | None, seed: int, calib: dict | None = None, quiet: bool = False,
            source=None):
    """(float model or None, quantized model, name): a built-in name or an .onnx path; float models are
    quantized (calibrated on `calib`, or on seeded random inputs)."""
    from genesys.compiler.quantize import quantize_model

    model, name = source or source_model(spec, resolution, seed)
    if is_quantized(model):
        return None, model, name
    if not quiet:
        print(f"{name}: float model, quantizing to int8 QDQ (ONNX Runtime static quantization)")
    return model, quantize_model(model, calib, samples=4 if calib is None else 1, seed=seed), name


# ---- compile ----------------------------------------------------------------------------------------
def cmd_compile(args) -> int:
    from genesys.arch import load_arch
    from genesys.compiler.compile import compile_model
    from genesys.compiler.pipeline import frontend

    arch = load_arch(args.config)  # a bad config fails before the model is quantized
    opts = options_from_args(args)
    _, qdq, name = prepare(args.model, getattr(args, "resolution", None), args.seed)
    bundle = compile_model(frontend(qdq), arch, opts)
    bundle.model = name
    out = bundle.write(args.output or f"build/{name}_{args.config}")
    est = sum(L["tiling"].get("estimated_cycles", 0) for L in bundle.layers)
    print(f"compiled {name} for {bundle.arch}: {len(bundle.layers)} layers, {len(bundle.words)} instructions, "
          f"DRAM {bundle.dram_bytes / 2**20:.1f} MiB, estimated {est} array-layer cycles, "
          f"{bundle.compile_seconds:.2f} s")
    print(f"wrote {out}/ (program.bin, dram.bin, bundle.json, program.s, layers/)")
    return 0


# ---- run --------------------------------------------------------------------------------------------
def compare(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> list[dict]:
    rows = []
    for k, w in want.items():
        g = np.asarray(got[k])
        diff = np.abs(g.astype(np.float64) - np.asarray(w, dtype=np.float64))
        rows.append({"output": k, "shape": list(w.shape), "mismatches": int(np.count_nonzero(g != w)),
                     "elements": int(w.size), "max_diff": float(diff.max()) if diff.size else 0.0})
    return rows


def cmd_run(args) -> int:
    from genesys.compiler.compile import compile_model
    from genesys.compiler.pipeline import frontend
    from genesys.compiler.quantize import format_report, quantization_error
    from genesys.compiler.reference import interpret, ort_reference
    from genesys.runtime import Runtime

    rt = Runtime(args.config, target=args.target, dma_latency=args.dma_latency)  # target errors first
    opts = options_from_args(args)
    source = source_model(args.model, None, args.seed)
    user_inputs = load_inputs(args.input, source[0], args.seed) if args.input else None
    float_model, qdq, name = prepare(args.model, None, args.seed, calib=user_inputs, source=source)
    inputs = user_inputs if user_inputs is not None else load_inputs(None, qdq, args.seed)
    if float_model is not None:
        print(format_report(quantization_error(float_model, qdq, [inputs]), 1, "input of this run"))
    graph = frontend(qdq)
    bundle = compile_model(graph, args.config, opts)
    result = rt.run(bundle, inputs)
    want = ort_reference(qdq, inputs)
    rows = compare(result.outputs, want)
    exact = compare(result.outputs, interpret(graph, inputs))
    speed = (f" ({result.extra['cycles_per_second'] / 1e3:.0f} k cycles/s)"
             if "cycles_per_second" in result.extra else "")
    print(f"{name} on {args.config} ({args.target}): {result.cycles} cycles, compile {bundle.compile_seconds:.2f} s, "
          f"simulate {result.simulate_seconds:.2f} s{speed}")
    print(f"  {'output':24s} {'shape':>16s} {'mismatches':>12s} {'largest |diff|':>15s}   (against ONNX Runtime;"
          " against the IR interpreter)")
    for r, e in zip(rows, exact, strict=True):
        print(f"  {r['output'][:24]:24s} {str(r['shape']):>16s} {r['mismatches']:>5d} / {r['elements']:<6d}"
              f"{r['max_diff']:>14.6g}   ; {e['mismatches']} / {e['elements']}")
    if args.output:
        try:
            np.savez(args.output, **result.outputs)
        except OSError as e:
            raise GenesysError(f"cannot write '{args.output}': {e.strerror or e}") from None
        print(f"wrote {args.output} ({', '.join(result.outputs)})")
    bad = sum(r["mismatches"] for r in rows)
    if bad:
        print(f"MISMATCH: {bad} output element(s) differ from ONNX Runtime")
        if not any(e["mismatches"] for e in exact):
            print("  (the accelerator equals the IR interpreter bit for bit: ONNX Runtime's float convolutions round "
                  "differently now and then, see compiler/reference.py)")
        return 1
    print("all outputs equal ONNX Runtime bit for bit")
    return 0


# ---- bench --------------------------------------------------------------------------------------------
def bench(spec: str, config: str, resolution: int | None = None, seed: int = 0, options=None,
          dma_latency: int = 100, quiet: bool = True, target: str = "sim") -> dict:
    """Compile and simulate a model; per-layer cycles, utilization and where the cycles go. With
    target="rtl" the bundle also runs on genesys_top in the Verilator harness: rtl_cycles (its cycle counter),
    rtl_seconds (wall time of the run), cycles_per_second, rtl_counters and rtl_equals_sim (every output and
    the whole final DRAM equal to the simulator's)."""
    from genesys.arch import load_arch
    from genesys.compiler.compile import compile_model
    from genesys.compiler.pipeline import frontend
    from genesys.runtime import Runtime

    arch = load_arch(config)
    _, qdq, name = prepare(spec, resolution, seed, quiet=quiet)
    inputs = load_inputs(None, qdq, seed)
    graph = frontend(qdq)
    t0 = time.perf_counter()
    bundle = compile_model(graph, arch, options)
    compile_s = time.perf_counter() - t0
    if target not in ("sim", "rtl"):
        raise GenesysError(f"bench runs on the simulator, and with --target rtl on the RTL too; not '{target}'")
    rtl_rt = Runtime(arch, target="rtl", dma_latency=dma_latency) if target == "rtl" else None  # errors first
    result = Runtime(arch, dma_latency=dma_latency).run(bundle, inputs)
    rtl = {}
    if rtl_rt is not None:
        r = rtl_rt.run(bundle, inputs)
        same = (all(np.array_equal(r.quantized[k], result.quantized[k]) for k in result.quantized)
                and np.array_equal(r.extra["dram"], result.extra["dram"]))
        rtl = {"rtl_cycles": r.cycles, "rtl_seconds": r.simulate_seconds,
               "cycles_per_second": r.extra["cycles_per_second"], "rtl_equals_sim": bool(same),
               "rtl_counters": r.counters,
               "rtl_vs_sim": (r.cycles - result.cycles) / result.cycles if result.cycles else 0.0}
        rtl_layers = {L["name"]: L["cycles"] for L in r.layers}
    peak = arch.ARRAY_N * arch.ARRAY_M
    real = sum(L["macs"] for L in bundle.layers)
    layers = []
    meta = {L["name"]: L for L in bundle.layers}
    for L in result.layers:
        ideal = L["real_macs"] / peak
        layers.append({**L, "ideal_cycles": round(ideal), "utilization": (ideal / L["cycles"]) if L["cycles"] else 0.0,
                       "tiling": meta[L["name"]]["tiling"], "fused": meta[L["name"]]["fused"],
                       "groups": meta[L["name"]]["n_groups"], "run": meta[L["name"]]["run"]})
        if rtl:  # the same layer on the RTL (cycles attributed by completion, as for the simulator)
            layers[-1]["rtl_cycles"] = rtl_layers.get(L["name"], 0)
    c = result.counters
    nm = arch.ARRAY_N + arch.ARRAY_M
    fill = nm * sum(meta[L["name"]]["sa_groups"] for L in layers)
    ideal_total = real / peak
    padding = max(0, c["array_busy"] - fill - ideal_total)
    runs: dict[int, list] = {}  # interleaved layers are judged together
    for L in layers:
        runs.setdefault(meta[L["name"]]["run"], []).append(L)
    simd_bound = 0
    for run in runs.values():
        cyc, arr, simd = (sum(L[k] for L in run) for k in ("cycles", "array_busy", "simd_busy"))
        if simd >= arr:
            simd_bound += max(0, cyc - arr)
    other = result.cycles - c["array_busy"] - simd_bound
    breakdown = {"ideal": round(ideal_total), "fill_drain": round(fill), "padding_and_packing": round(padding),
                 "array_idle_simd_bound": round(simd_bound), "array_idle_other_dma_and_stalls": round(max(0, other)),
                 "array_busy": c["array_busy"], "simd_busy": c["simd_busy"], "dma_busy": c["dma_busy"],
                 "array_stall": c["array_stall"], "simd_stall": c["simd_stall"]}
    return {"model": name, "config": arch.name, "resolution": resolution, "total_cycles": result.cycles,
            "real_macs": real, "utilization": real / peak / result.cycles, "compile_seconds": compile_s,
            "simulate_seconds": result.simulate_seconds, "instructions": len(bundle.words),
            "groups": c["groups"], "breakdown": breakdown, "counters": c, "layers": layers, **rtl}


def print_bench(r: dict) -> None:
    print(f"{r['model']} on {r['config']}: {r['total_cycles']:,} cycles, {r['real_macs']:,} real MACs, "
          f"utilization {r['utilization']:.1%} of the N x M array, compile {r['compile_seconds']:.2f} s, "
          f"simulate {r['simulate_seconds']:.2f} s, {r['instructions']:,} instructions in {r['groups']:,} groups")
    print(f"  {'layer':28s} {'op':12s} {'cycles':>10s} {'ideal':>10s} {'util':>6s} {'array':>10s} {'simd':>10s} "
          f"{'tiling':s}")
    for L in r["layers"]:
        t = L["tiling"]
        desc = (f"oc={t['oc']} ic_blocks={t['ic_blocks']} oh={t['oh']} ow={t['ow']} order={','.join(t['loop_order'])}"
                if "loop_order" in t else ", ".join(f"{k}={v}" for k, v in t.items()))
        fused = f" +{'+'.join(L['fused'])}" if L["fused"] else ""
        print(f"  {L['name'][:28]:28s} {L['op'][:12]:12s} {L['cycles']:>10,} {L['ideal_cycles']:>10,} "
              f"{L['utilization']:>6.1%} {L['array_busy']:>10,} {L['simd_busy']:>10,} {desc}{fused}")
    b = r["breakdown"]
    total = r["total_cycles"]
    print("  where the cycles go (array's view):")
    for key, label in (("ideal", "real MACs at N x M per cycle"), ("padding_and_packing", "channel padding / packing"),
                       ("fill_drain", "fill and drain (N + M per compute nest)"),
                       ("array_idle_simd_bound", "array idle: SIMD-bound layers (requantization, adds, pools)"),
                       ("array_idle_other_dma_and_stalls", "array idle: DMA waits, OBUF hazards, layer edges")):
        print(f"    {label:60s} {b[key]:>12,} {b[key] / total:>7.1%}")
    print(f"    counters: array busy {b['array_busy']:,}, SIMD busy {b['simd_busy']:,}, DMA busy {b['dma_busy']:,}, "
          f"array stall {b['array_stall']:,}, SIMD stall {b['simd_stall']:,}")
    if "rtl_cycles" in r:
        print(f"  rtl (genesys_top, Verilator harness): {r['rtl_cycles']:,} cycles in {r['rtl_seconds']:.2f} s "
              f"({r['cycles_per_second'] / 1e3:.0f} k cycles/s), "
              f"{'outputs and DRAM equal the simulator' if r['rtl_equals_sim'] else 'DIFFERS FROM THE SIMULATOR'}; "
              f"{r['rtl_vs_sim']:+.1%} cycles against the simulator's timing model")
        print(f"  {'layer':28s} {'sim cycles':>12s} {'rtl cycles':>12s} {'difference':>11s}")
        for L in r["layers"]:
            d = (L["rtl_cycles"] - L["cycles"]) / L["cycles"] if L["cycles"] else 0.0
            print(f"  {L['name'][:28]:28s} {L['cycles']:>12,} {L['rtl_cycles']:>12,} {d:>+11.1%}")


def cmd_bench(args) -> int:
    opts = options_from_args(args)
    r = bench(args.model, args.config, args.resolution, args.seed, opts, args.dma_latency, quiet=False,
              target=args.target)
    print_bench(r)
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(r, indent=1, default=float) + "\n")
        except OSError as e:
            raise GenesysError(f"cannot write '{args.json}': {e.strerror or e}") from None
        print(f"wrote {args.json}")
    if args.plot:
        from genesys.compiler.bench_plot import plot_bench

        print(f"wrote {plot_bench(r, args.plot)}")
    return 0


# ---- registration -------------------------------------------------------------------------------------
def register(sub) -> None:
    p = sub.add_parser("compile", help="compile an ONNX model into a GeneSys program bundle",
                       description="Compile a float or QDQ ONNX model (or a built-in model by name) for a "
                                   "configuration: program words, DRAM image, bundle.json and per-layer files.")
    p.add_argument("model", help=".onnx file or built-in model name")
    p.add_argument("--config", default="16x16", help="preset or config YAML (default 16x16)")
    p.add_argument("-o", "--output", help="output directory (default build/<model>_<config>)")
    p.add_argument("--resolution", type=int, help="image size of a built-in model")
    p.add_argument("--seed", type=int, default=0, help="seed of the calibration inputs / built-in weights")
    _schedule_args(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("run", help="compile and run a model on a target; compare with ONNX Runtime",
                       description="Compile an ONNX model and run it on the simulator or the RTL; every output is compared "
                                   "with ONNX Runtime on the same quantized model and inputs (exit 1 on any "
                                   "mismatch).")
    p.add_argument("model", help=".onnx file (float or QDQ) or built-in model name")
    p.add_argument("--config", default="16x16", help="preset or config YAML (default 16x16)")
    p.add_argument("--target", default="sim", help="sim (the simulator) or rtl (genesys_top in the Verilator "
                                                    "harness, built once per configuration); fpga is not available yet")
    p.add_argument("--input", help=".npz of inputs keyed by input name (default: seeded N(0, 1))")
    p.add_argument("--output", help="write the outputs to this .npz (keys: the model's output names)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs / calibration (default 0)")
    _schedule_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("bench", help="per-layer cycles and utilization of a model on a configuration",
                       description="Compile and simulate a built-in model (or an .onnx file) and report per-layer "
                                   "cycles, utilization against the N x M-MAC ideal, and where the cycles go.")
    p.add_argument("model", help="resnet50, resnet18, mobilenetv2, mlp, or an .onnx file")
    p.add_argument("--config", default="16x16", help="preset or config YAML (default 16x16)")
    p.add_argument("--resolution", type=int, help="image size of a built-in model (default: its own)")
    p.add_argument("--json", help="write the results as JSON to this file")
    p.add_argument("--plot", metavar="PNG", help="draw per-layer cycles against the ideal, and the breakdown, to this PNG")
    p.add_argument("--target", default="sim", choices=("sim", "rtl"),
                   help="rtl: also run on genesys_top (Verilator harness) and add rtl_cycles, rtl_seconds, "
                        "cycles_per_second and rtl_equals_sim to the results")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, calibration and input (default 0)")
    _schedule_args(p)
    p.set_defaults(func=cmd_bench)
