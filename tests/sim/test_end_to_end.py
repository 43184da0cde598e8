"""The benchmark's program stream (conv tiles + requantization groups) checked end to end against numpy."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from genesys.arch import load_arch
from genesys.sim import Simulator

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sim_speed.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("sim_speed", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("preset", ["4x4", "16x16"])
def test_conv_and_requant_stream_matches_numpy(preset):
    bench = load_bench()
    arch = load_arch(preset)
    n, m = arch.ARRAY_N, arch.ARRAY_M
    oh, ow, ic_t = 4, 6, 2
    ih, iw = oh + 2, ow + 2
    words, dram, macs = bench.build(arch, 3, oh, ow, ic_t, tiles_per_block=2)
    sim = Simulator(arch, dram_bytes=1 << 24)
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, 0x40000, dtype=np.int8)
    w = rng.integers(-128, 128, 0x10000, dtype=np.int8)
    b = rng.integers(-5000, 5000, 256).astype(np.int32)
    scale = np.linspace(1e-3, 5e-2, m).astype(np.float32)
    sim.load(dram["in"], x)
    sim.load(dram["w"], w)
    sim.load(dram["b"], b)
    sim.load(dram["scale"], scale)
    res = sim.run_words(words, program_addr=0)
    assert res.counters["macs"] == macs and res.counters["groups"] == 6
    for t in range(3):
        xin = x[(t % 8) * ic_t * ih * iw * n:][:ic_t * ih * iw * n].reshape(ic_t, ih, iw, n).astype(np.int64)
        wt = w[(t % 4) * 9 * ic_t * n * m:][:9 * ic_t * n * m].reshape(3, 3, ic_t, n, m).astype(np.int64)
        acc = np.zeros((oh, ow, m), np.int64) + b[(t % 4) * m:(t % 4) * m + m]
        for i in range(3):
            for j in range(3):
                for c in range(ic_t):
                    acc += xin[c, i:i + oh, j:j + ow] @ wt[i, j, c]
        q = np.rint((acc.astype(np.float32) * scale).astype(np.float64)) + 3
        q = np.clip(q, -128, 127).astype(np.int8)
        out = sim.read(dram["out"] + t * oh * ow * m, oh * ow * m).view(np.int8).reshape(oh, ow, m)
        np.testing.assert_array_equal(out, q)


def test_benchmark_runs():
    bench = load_bench()
    assert bench.main(["--config", "4x4", "--tiles", "4"]) == 0
