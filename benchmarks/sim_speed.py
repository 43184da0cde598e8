"""Simulator speed on representative large programs; extrapolates to ResNet-50 (224x224, ~4.1 GMAC).

Synthesizes, for a preset, a stream of convolution tiles as the compiler tiles them (3x3 kernel, input
channels in tiles of ARRAY_N, one output-channel tile of ARRAY_M, an output block of OH x OW pixels, the
halves of IBUF/WBUF/OBUF alternating between groups) each followed by a SIMD requantization group (int32
accumulators -> binary32 x per-channel scale -> round -> + zero point -> clamp -> int8 -> DRAM), and
reports MAC/s and groups/s.

    .venv/bin/python benchmarks/sim_speed.py [--config 16x16] [--tiles 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from genesys.arch import load_arch
from genesys.isa import assemble_text
from genesys.sim import Simulator
from genesys.sim.testing import SAGroup, program, simd_group, simd_set32, simd_transfer

RESNET50_MACS = 4.1e9
KH = KW = 3


def conv_tile(arch, number: int, half: int, oh: int, ow: int, ic_tiles: int, dram: dict[str, int]) -> str:
    """One conv tile: loads into one half of each buffer, then the nest kh, kw, ic (reduction) x oh, ow."""
    n, m = arch.ARRAY_N, arch.ARRAY_M
    geo = arch.buffers
    ih, iw = oh + KH - 1, ow + KW - 1
    in_rows = ic_tiles * ih * iw
    w_rows = KH * KW * ic_tiles
    ib, wb, ob, bb = (half * geo[b].depth // 2 for b in ("IBUF", "WBUF", "OBUF", "BBUF"))
    assert in_rows <= geo["IBUF"].depth // 2 and w_rows <= geo["WBUF"].depth // 2 and oh * ow <= geo["OBUF"].depth // 2
    g = SAGroup(number)
    g.load_rows("IBUF", dram["in"], ib, in_rows * n, req=iw * n)
    g.load_rows("WBUF", dram["w"], wb, w_rows * n * m, req=n * m)
    g.load_rows("BBUF", dram["b"], bb, 4 * m)
    g.base("OBUF", chip=ob)
    # compute loops: 0 kh, 1 kw, 2 ic tile (reductions), 3 oh, 4 ow (pixels innermost: no OBUF hazard)
    g.loop(0, KH).inner(0, "KH").stride("RD", "IBUF", 0, iw).stride("RD", "WBUF", 0, KW * ic_tiles)
    g.loop(1, KW).inner(1, "KW").stride("RD", "IBUF", 1, 1).stride("RD", "WBUF", 1, ic_tiles)
    g.loop(2, ic_tiles).inner(2, "IC").stride("RD", "IBUF", 2, ih * iw).stride("RD", "WBUF", 2, 1)
    g.loop(3, oh).stride("RD", "IBUF", 3, iw)
    g.stride("RD", "OBUF", 3, ow).stride("WR", "OBUF", 3, ow)
    g.loop(4, ow).stride("RD", "IBUF", 4, 1).stride("RD", "OBUF", 4, 1).stride("WR", "OBUF", 4, 1)
    return g.text()


def requant_tile(arch, number: int, half: int, rows: int, dram_out: int, dram_scale: int) -> str:
    """OBUF rows -> int8 in DRAM: float32(acc) * scale (per lane), rint, + zp, clamp, narrow, store."""
    ob = half * arch.buffers["OBUF"].depth // 2
    lanes = arch.SIMD_LANES
    body = ["DTYPE_CFG 32FXP, 32, 32, 32"]
    body += simd_transfer("LD", "VMEM2", dram_scale, 0, 4 * lanes)  # VMEM2 row 0: scales
    body += ["IMM_SIGN_EXT IMM, 0, 3", "IMM_SIGN_EXT IMM, 1, -128", "IMM_SIGN_EXT IMM, 2, 127"]
    body += simd_set32("BASE", "OBUF", 0, ob) + ["STRIDE_SIGN_EXT OBUF, 0, 1"]
    body += ["BASE_SIGN_EXT VMEM1, 0, 0", "STRIDE_SIGN_EXT VMEM1, 0, 1",
             "BASE_SIGN_EXT VMEM2, 0, 0", "STRIDE_SIGN_EXT VMEM2, 0, 0"]
    loop = [f"SET_ITER 0, 0, {rows}", "SET_INDEX VMEM1, 0, OBUF, 0, VMEM2, 0"]
    body += loop + ["SET_INST 0, 0, 1", "FXP32_TO_FP32 VMEM1, 0, OBUF, 0, IMM, 0", "DTYPE_CFG 32FP, 32, 32, 32"]
    body += [f"SET_ITER 0, 0, {rows}", "SET_INDEX VMEM1, 0, VMEM1, 0, VMEM2, 0",
             "SET_INST 0, 0, 2", "MUL VMEM1, 0, VMEM1, 0, VMEM2, 0", "FP32_TO_FXP32 VMEM1, 0, VMEM1, 0, IMM, 0"]
    body += ["DTYPE_CFG 32FXP, 32, 32, 32", f"SET_ITER 0, 0, {rows}", "SET_INDEX VMEM1, 0, VMEM1, 0, IMM, 0",
             "SET_INST 0, 0, 4", "ADD VMEM1, 0, VMEM1, 0, IMM, 0", "MAX VMEM1, 0, VMEM1, 0, IMM, 1",
             "MIN VMEM1, 0, VMEM1, 0, IMM, 2", "FXP32_TO_FXP8 VMEM1, 0, VMEM1, 0, IMM, 0"]
    body += simd_transfer("ST", "VMEM1", dram_out, 0, rows * lanes, width=8)
    return simd_group(number, body)


def build(arch, tiles: int, oh: int, ow: int, ic_tiles: int, tiles_per_block: int = 4):
    n, m = arch.ARRAY_N, arch.ARRAY_M
    ih, iw = oh + KH - 1, ow + KW - 1
    dram = {"in": 0x100000, "w": 0x400000, "b": 0x500000, "scale": 0x510000, "out": 0x600000}
    groups = []
    for t in range(tiles):
        half = t % 2
        d = {"in": dram["in"] + (t % 8) * ic_tiles * ih * iw * n, "w": dram["w"] + (t % 4) * KH * KW * ic_tiles * n * m,
             "b": dram["b"] + (t % 4) * 4 * m}
        groups.append(conv_tile(arch, 2 * t % 64, half, oh, ow, ic_tiles, d))
        groups.append(requant_tile(arch, (2 * t + 1) % 64, half, oh * ow, dram["out"] + t * oh * ow * m, dram["scale"]))
    n_blocks, rest = divmod(len(groups), 2 * tiles_per_block)
    blocks = [2 * tiles_per_block] * n_blocks + ([rest] if rest else [])
    words = assemble_text(program(groups, blocks))
    return words, dram, iterations_per_tile(oh, ow, ic_tiles) * tiles * n * m


def iterations_per_tile(oh, ow, ic_tiles):
    return KH * KW * ic_tiles * oh * ow


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="16x16")
    ap.add_argument("--tiles", type=int, default=200, help="conv tiles (each followed by a requant group)")
    ap.add_argument("--oh", type=int, default=8)
    ap.add_argument("--ow", type=int, default=28)
    ap.add_argument("--ic-tiles", type=int, default=2)
    ap.add_argument("--json", help="write the measurements here")
    args = ap.parse_args(argv)
    arch = load_arch(args.config)
    words, dram, macs = build(arch, args.tiles, args.oh, args.ow, args.ic_tiles)
    sim = Simulator(arch, dram_bytes=1 << 26)
    rng = np.random.default_rng(0)
    sim.load(dram["in"], rng.integers(-128, 128, 0x300000, dtype=np.int8))
    sim.load(dram["w"], rng.integers(-128, 128, 0x100000, dtype=np.int8))
    sim.load(dram["b"], rng.integers(-5000, 5000, 4096, dtype=np.int32))
    sim.load(dram["scale"], np.full(arch.SIMD_LANES, 1e-3, np.float32))
    t0, c0 = time.perf_counter(), time.process_time()
    res = sim.run_words(words, program_addr=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert res.counters["macs"] == macs, (res.counters["macs"], macs)
    groups = res.counters["groups"]
    mac_rate, group_rate = macs / wall, groups / wall
    # ResNet-50 on this preset, tiled like this stream (one conv tile of this size plus one requantization
    # per tile): its MACs at the measured MAC rate. CPU time is reported too: on a shared machine the wall
    # time includes waiting for a core.
    resnet_groups = RESNET50_MACS / (macs / args.tiles) * 2
    out = {"config": args.config, "tiles": args.tiles, "groups": groups, "instructions": res.instructions,
           "macs": macs, "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
           "macs_per_second": mac_rate, "macs_per_cpu_second": macs / cpu, "groups_per_second": group_rate,
           "groups_per_cpu_second": groups / cpu, "cycles": res.cycles,
           "array_utilization": res.counters["array_busy"] / max(1, res.cycles),
           "resnet50_groups_estimate": int(resnet_groups),
           "resnet50_seconds_estimate": round(RESNET50_MACS / mac_rate, 2),
           "resnet50_cpu_seconds_estimate": round(RESNET50_MACS * cpu / macs, 2)}
    for k, v in out.items():
        print(f"{k:28s} {v:.4g}" if isinstance(v, float) else f"{k:28s} {v}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
