"""The standard table: ResNet-50 and ResNet-18 at 224x224 on the 16x16 preset.

For each network: total cycles, real MACs, utilization against the N x M-MAC ideal, compile and simulate
times, and where the cycles go (the `genesys bench` breakdown); GeneSys's own performance model puts
ResNet-50 on this configuration at 28.8 M cycles.

    .venv/bin/python benchmarks/resnet_table.py [--config 16x16] [--resolution 224] [--json table.json]
"""

from __future__ import annotations

import argparse
import json
import sys

from genesys.compiler.cli import bench

GENESYS_MODEL = {"resnet50": 28.8e6}  # cycles, GeneSys's performance model (design03, 16x16)
NETWORKS = ("resnet50", "resnet18")


def table(rows: list[dict]) -> str:
    out = ["| network | config | cycles | real MACs | utilization | compile (s) | simulate (s) | SIMD-bound idle | "
           "fill/drain | GeneSys model |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        b = r["breakdown"]
        ref = GENESYS_MODEL.get(r["model"])
        out.append(f"| {r['model']} {r['resolution']}x{r['resolution']} | {r['config']} | {r['total_cycles'] / 1e6:.2f} M | "
                   f"{r['real_macs'] / 1e9:.2f} G | {r['utilization']:.1%} | {r['compile_seconds']:.1f} | "
                   f"{r['simulate_seconds']:.1f} | {b['array_idle_simd_bound'] / r['total_cycles']:.1%} | "
                   f"{b['fill_drain'] / r['total_cycles']:.1%} | {f'{ref / 1e6:.1f} M' if ref else '-'} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="16x16")
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--json", help="also write the full results (per layer) to this file")
    args = p.parse_args(argv)
    rows = []
    for name in NETWORKS:
        r = bench(name, args.config, args.resolution)
        rows.append(r)
        print(f"{name}: {r['total_cycles']:,} cycles, utilization {r['utilization']:.1%}", file=sys.stderr)
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
