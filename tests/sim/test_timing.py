"""The timing model: overlap through double buffering, dependencies, hazards, counters that add up."""

from __future__ import annotations

import numpy as np
import pytest

from genesys.sim import dma
from genesys.sim.testing import SAGroup, simd_group

from .helpers import make_sim, run


def tile_group(sim, number: int, half: int, pixels: int = 64, k_tiles: int = 4, reduction_inner: bool = False):
    """Load an input tile into one half of IBUF, weights into one half of WBUF, then a matmul nest."""
    n, m = sim.arch.ARRAY_N, sim.arch.ARRAY_M
    ib = half * sim.ibuf.shape[0] // 2
    wb = half * sim.wbuf.shape[0] // 2
    ob = half * sim.obuf.shape[0] // 2
    g = SAGroup(number).load_rows("IBUF", 0x10000 + 0x8000 * half, ib, pixels * k_tiles * n, req=pixels * n)
    g.load_rows("WBUF", 0x40000, wb, k_tiles * n * m).base("OBUF", chip=ob)
    red, pix = (1, 0) if reduction_inner else (0, 1)
    g.loop(red, k_tiles).inner(red).stride("RD", "IBUF", red, pixels).stride("RD", "WBUF", red, 1)
    g.loop(pix, pixels).stride("RD", "IBUF", pix, 1).stride("RD", "OBUF", pix, 1).stride("WR", "OBUF", pix, 1)
    return g.text()


@pytest.mark.parametrize("preset", ["4x4", "16x16"])
def test_double_buffered_loads_overlap_compute(preset):
    groups_db = [tile_group(make_sim(preset), k, k % 2) for k in range(6)]
    groups_sb = [tile_group(make_sim(preset), k, 0) for k in range(6)]
    sim_db, sim_sb = make_sim(preset), make_sim(preset)
    db, sb = run(sim_db, groups_db), run(sim_sb, groups_sb)
    alone = sum(run(make_sim(preset), [g]).cycles for g in groups_db)
    assert db.cycles < sb.cycles < alone
    np.testing.assert_array_equal(sim_db.obuf[:64], sim_sb.obuf[:64])
    # With double buffering, group k+1's loads run during group k's compute.
    for a, b in zip(db.groups, db.groups[1:], strict=False):
        assert b.start_cycle < a.end_cycle


def test_counters_are_consistent():
    sim = make_sim("8x4")
    sim.obuf[:64] = 3
    groups = [tile_group(sim, k, k % 2) for k in range(3)]
    st = SAGroup(9).store_rows(0x80000, 0, 64 * 16)
    req = simd_group(10, ["BASE_SIGN_EXT OBUF, 0, 0", "STRIDE_SIGN_EXT OBUF, 0, 1", "STRIDE_SIGN_EXT VMEM1, 1, 1",
                          "SET_ITER 0, 0, 64", "SET_INDEX VMEM1, 1, OBUF, 0, IMM, 0", "SET_INST 1, 0, 1",
                          "MOVE VMEM1, 0, OBUF, 0, IMM, 0"])
    res = run(sim, [*groups, st.text(), req])
    c = res.counters
    n, m = sim.arch.ARRAY_N, sim.arch.ARRAY_M
    assert c["macs"] == 3 * 4 * 64 * n * m == sum(g.macs for g in res.groups)
    assert c["array_busy"] == 3 * (4 * 64 + n + m)
    assert c["simd_busy"] == 64
    assert c["ibuf_load_bytes"] == 3 * 64 * 4 * n and c["wbuf_load_bytes"] == 3 * 4 * n * m
    assert c["obuf_store_bytes"] == 64 * 16
    for name in ("ibuf_load_bytes", "wbuf_load_bytes", "obuf_store_bytes"):
        assert sum(g.bytes.get(name, 0) for g in res.groups) == c[name]
    for name in ("array_busy", "simd_busy", "dma_busy"):
        assert 0 < c[name] <= c["cycles"]
    assert c["array_busy"] + c["array_stall"] <= c["cycles"]
    assert c["cycles"] == res.cycles == max(g.end_cycle for g in res.groups)
    assert all(g.start_cycle <= g.end_cycle for g in res.groups)
    # The SIMD reads OBUF rows the last compute nest wrote: it starts after that nest ends.
    assert res.groups[-1].start_cycle >= res.groups[2].end_cycle


def test_obuf_read_after_write_distance_stalls():
    sim_out, sim_in = make_sim("4x4"), make_sim("4x4")
    good = run(sim_out, [tile_group(sim_out, 1, 0, pixels=16, k_tiles=3)])
    bad = run(sim_in, [tile_group(sim_in, 1, 0, pixels=16, k_tiles=3, reduction_inner=True)])
    np.testing.assert_array_equal(sim_out.obuf, sim_in.obuf)
    d = 4 + 4
    # reduction innermost: every non-first iteration re-reads the row written one iteration earlier
    assert bad.groups[0].stall - good.groups[0].stall == 16 * 2 * (d - 1)
    assert good.counters["array_busy"] == bad.counters["array_busy"]


def test_dma_latency_option():
    cycles = []
    for lat in (0, 100, 400):
        sim = make_sim("4x4", dma_latency=lat)
        cycles.append(run(sim, [SAGroup(1).load_rows("IBUF", 0, 0, 4096).text()]).cycles)
    assert cycles[1] - cycles[0] == 100 and cycles[2] - cycles[0] == 400


def test_beats_split_at_4k_boundaries():
    assert dma.beats(np.array([0]), 16, 8) == 2
    assert dma.beats(np.array([4090]), 16, 8) == 3  # 6 + 10 bytes: two bursts
    assert dma.beats(np.array([4096 - 8]), 16, 8) == 2  # 8 + 8: still two beats
    # 100..4096, 4096..8192, 8192..8300: 3996, 4096 and 108 bytes
    assert dma.beats(np.array([100]), 8200, 16) == 250 + 256 + 7
    # 100 is 4 bytes into an 8-byte beat: its 16 bytes span three beats (the AXI master's bursts, docs/dma.md)
    assert dma.beats(np.array([100, 0, 4090]), 16, 8) == 3 + 2 + 3
    assert dma.beats(np.array([7]), 2, 8) == 2  # bytes 7 and 8 sit in two beats


def test_independent_simd_work_overlaps_the_array():
    sim = make_sim("4x4")
    simd = simd_group(5, ["STRIDE_SIGN_EXT VMEM1, 1, 1", "SET_ITER 0, 0, 100", "SET_INDEX VMEM1, 1, VMEM1, 1, IMM, 0",
                          "SET_INST 1, 0, 1", "ADD VMEM1, 0, VMEM1, 0, IMM, 0"])
    res = run(sim, [tile_group(sim, 1, 0, pixels=128), simd])
    sa, sd = res.groups
    assert sd.start_cycle < sa.end_cycle  # no shared rows: the SIMD does not wait for the array
