"""Speed of the fast RTL harness: genesys_top verilated with the C++ AXI memory model, on one core.

For each preset, compiles one 3x3 convolution layer with its SIMD requantization (genesys.rtl_harness.
conv_layer_graph, sized to keep the array busy), runs it on the simulator and through
Runtime(target="rtl"), checks the outputs and the whole final DRAM are equal, and prints the NPU's cycle
count, the harness wall time and cycles per second (the harness build, cached per design, is not timed).

    .venv/bin/python benchmarks/rtl_speed.py [--configs 4x4,16x16] [--latency 100] [--repeat 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from genesys.compiler.compile import compile_model
from genesys.rtl_harness import conv_layer_graph
from genesys.runtime import Runtime

# (input channels, height/width, output channels) per preset: a few 100 k cycles
LAYERS = {"4x4": (16, 16, 16), "8x4": (32, 16, 16), "8x8": (32, 16, 32), "16x16": (64, 16, 64), "32x32": (64, 16, 64)}


def measure(config: str, latency: int, repeat: int) -> dict:
    c, hw, oc = LAYERS.get(config, (64, 16, 64))
    graph = conv_layer_graph(c, hw, oc)
    bundle = compile_model(graph, config)
    x = {"x": np.random.default_rng(1).normal(0, 1, (1, c, hw, hw)).astype(np.float32)}
    sim = Runtime(config, dma_latency=latency).run(bundle, x)
    rt = Runtime(config, target="rtl", dma_latency=latency, progress=True)
    runs = [rt.run(bundle, x) for _ in range(repeat)]
    best = max(runs, key=lambda r: r.extra["cycles_per_second"])
    same = all(np.array_equal(r.extra["dram"], sim.extra["dram"]) for r in runs)
    return {"config": config, "layer": f"conv3x3 {c}->{oc} {hw}x{hw}", "npu_cycles": best.cycles,
            "harness_cycles": best.extra["rtl_cycles"], "seconds": best.simulate_seconds,
            "cycles_per_second": best.extra["cycles_per_second"], "sim_cycles": sim.cycles, "equal_to_sim": same}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default="4x4,16x16", help="comma-separated presets (default 4x4,16x16)")
    p.add_argument("--latency", type=int, default=100, help="memory latency in cycles (default 100)")
    p.add_argument("--repeat", type=int, default=2, help="runs per preset; the fastest is reported (default 2)")
    p.add_argument("--json", help="also write the rows to this file")
    a = p.parse_args(argv)
    rows = []
    print(f"{'config':8s} {'layer':26s} {'NPU cycles':>12s} {'seconds':>9s} {'cycles/s':>10s} {'sim cycles':>11s} equal")
    for config in a.configs.split(","):
        r = measure(config.strip(), a.latency, a.repeat)
        rows.append(r)
        print(f"{r['config']:8s} {r['layer']:26s} {r['npu_cycles']:>12,} {r['seconds']:>9.2f} "
              f"{r['cycles_per_second'] / 1e3:>8.1f} k {r['sim_cycles']:>11,} {'yes' if r['equal_to_sim'] else 'NO'}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["equal_to_sim"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
