"""Systolic-array groups: transfers, the compute nest (fast and general paths) against numpy references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from genesys.sim.testing import SAGroup

from .helpers import make_sim, run

PRESETS = ["4x4", "8x4", "16x16"]


def wrap32(x):
    return ((np.asarray(x, np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int64)


# ---- transfers -----------------------------------------------------------------------------------
def test_strided_load_with_partial_last_row(rng):
    sim = make_sim("4x4")
    data = rng.integers(0, 256, 4096, dtype=np.uint8)
    sim.load(0x1000, data)
    sim.ibuf[:] = 77  # bytes a partial row does not reach keep their value
    g = SAGroup(1).base("IBUF", dram=0x1000, chip=5)
    g.loop(21, 3).stride("LD", "IBUF", 21, 100).loop(22, 2).stride("LD", "IBUF", 22, 10)
    g.transfer("LD", "IBUF", 21, 5)  # loops 21, 22, 23 (23 unconfigured: 1 iteration)
    res = run(sim, [g.text()])
    stream = np.concatenate([data[a:a + 5] for a in (0, 10, 100, 110, 200, 210)]).view(np.int8)
    got = sim.ibuf.reshape(-1)[5 * 4:5 * 4 + 32]
    np.testing.assert_array_equal(got[:30], stream)
    np.testing.assert_array_equal(got[30:], [77, 77])  # rest of the partial row 12
    assert (sim.ibuf[:5] == 77).all() and (sim.ibuf[13:] == 77).all()
    assert res.counters["ibuf_load_bytes"] == 30


def test_weight_and_bias_rows_byte_layout(rng):
    sim = make_sim("8x4")
    w = rng.integers(-128, 128, (3, 8, 4), dtype=np.int8)
    b = rng.integers(-2**31, 2**31, (2, 4), dtype=np.int64).astype(np.int32)
    sim.load(0x2000, w)
    sim.load(0x3000, b)
    g = SAGroup(1).load_rows("WBUF", 0x2000, 1, w.nbytes).load_rows("BBUF", 0x3000, 2, b.nbytes)
    run(sim, [g.text()])
    np.testing.assert_array_equal(sim.wbuf[1:4], w)  # [i][j] at byte i*M + j
    np.testing.assert_array_equal(sim.bbuf[2:4], b)


def test_obuf_store_with_strides_and_partial_request(rng):
    sim = make_sim("4x4")
    sim.obuf[:8] = rng.integers(-2**31, 2**31, (8, 4), dtype=np.int64).astype(np.int32)
    g = SAGroup(1).base("OBUF", dram=0x8000, chip=2)
    g.loop(26, 3).stride("ST", "OBUF", 26, 0x100).transfer("ST", "OBUF", 26, 20)  # 20 bytes = 1.25 rows each
    res = run(sim, [g.text()])
    stream = sim.obuf[2:8].reshape(-1).view(np.uint8)[:60]
    for k in range(3):
        np.testing.assert_array_equal(sim.read(0x8000 + 0x100 * k, 20), stream[20 * k:20 * k + 20])
    assert sim.read(0x8000 + 20, 4).tolist() == [0, 0, 0, 0]
    assert res.counters["obuf_store_bytes"] == 60


def test_transfer_config_is_the_one_in_force_at_the_ld_st():
    sim = make_sim("4x4")
    sim.load(0x1000, np.arange(1, 9, dtype=np.int8))
    sim.load(0x2000, np.arange(11, 19, dtype=np.int8))
    g = SAGroup(1).base("IBUF", dram=0x1000, chip=0).transfer("LD", "IBUF", 23, 8)
    g.base("IBUF", dram=0x2000, chip=2).transfer("LD", "IBUF", 23, 8)
    run(sim, [g.text()])
    assert sim.ibuf[:4].reshape(-1).tolist() == [*range(1, 9), *range(11, 19)]


# ---- compute nest helpers ------------------------------------------------------------------------
def matmul_group(sim, x, w, bias, mode="bias", obuf_row=0, number=1, tiles=None):
    """X (P x K*N) @ W (K*N x M): IBUF row k*P + p, WBUF row k, loop 0 over K tiles (reduction), loop 1 over P.
    mode: 'bias' (INNER on loop 0), 'outer' (OUTER: accumulate onto OBUF), 'none' (no reduction mark)."""
    n = sim.arch.ARRAY_N
    p = x.shape[0]
    k_tiles = x.shape[1] // n
    lo, hi = tiles or (0, k_tiles)
    ib = np.concatenate([x[:, k * n:(k + 1) * n] for k in range(lo, hi)])
    wb = np.stack([w[k * n:(k + 1) * n] for k in range(lo, hi)])
    sim.load(0x10000, ib)
    sim.load(0x20000, wb)
    sim.load(0x30000, bias.astype(np.int32))
    g = SAGroup(number).load_rows("IBUF", 0x10000, 0, ib.nbytes, req=ib.shape[1]).load_rows("WBUF", 0x20000, 0, wb.nbytes)
    g.load_rows("BBUF", 0x30000, 0, 4 * bias.size)
    g.base("OBUF", chip=obuf_row)
    g.loop(0, hi - lo).stride("RD", "IBUF", 0, p).stride("RD", "WBUF", 0, 1)
    if mode == "bias":
        g.inner(0)
    elif mode == "outer":
        g.outer()
    g.loop(1, p).stride("RD", "IBUF", 1, 1).stride("RD", "OBUF", 1, 1).stride("WR", "OBUF", 1, 1)
    return g


def random_mm(rng, sim, p=7, k_tiles=3):
    n, m = sim.arch.ARRAY_N, sim.arch.ARRAY_M
    x = rng.integers(-128, 128, (p, k_tiles * n), dtype=np.int8)
    w = rng.integers(-128, 128, (k_tiles * n, m), dtype=np.int8)
    b = rng.integers(-10**6, 10**6, m).astype(np.int32)
    return x, w, b, x.astype(np.int64) @ w.astype(np.int64)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("fast", [True, False])
def test_matmul_with_bias(preset, fast, rng):
    sim = make_sim(preset, fast_paths=fast)
    x, w, b, ref = random_mm(rng, sim)
    sim.obuf[:] = 12345  # ignored: the first iteration takes the bias
    res = run(sim, [matmul_group(sim, x, w, b).text()])
    np.testing.assert_array_equal(sim.obuf[:7], ref + b)
    assert res.counters["macs"] == 3 * 7 * sim.arch.ARRAY_N * sim.arch.ARRAY_M


@pytest.mark.parametrize("fast", [True, False])
def test_accumulate_onto_obuf_and_no_reduction_mark(fast, rng):
    sim = make_sim("8x4", fast_paths=fast)
    x, w, b, ref = random_mm(rng, sim)
    init = rng.integers(-1000, 1000, (7, 4)).astype(np.int32)
    sim.obuf[:7] = init
    run(sim, [matmul_group(sim, x, w, b, mode="outer").text()])
    np.testing.assert_array_equal(sim.obuf[:7], ref + init)
    # Without marks every iteration is "first": the last K tile's product plus the bias survives.
    sim2 = make_sim("8x4", fast_paths=fast)
    run(sim2, [matmul_group(sim2, x, w, b, mode="none").text()])
    last = x[:, 16:24].astype(np.int64) @ w[16:24].astype(np.int64)
    np.testing.assert_array_equal(sim2.obuf[:7], last + b)


@pytest.mark.parametrize("fast", [True, False])
def test_outer_mark_continues_a_reduction_across_groups(fast, rng):
    sim = make_sim("4x4", fast_paths=fast)
    x, w, b, ref = random_mm(rng, sim, k_tiles=4)
    g1 = matmul_group(sim, x, w, b, tiles=(0, 2)).text()
    run(sim, [g1])
    g2 = matmul_group(sim, x, w, b, mode="outer", tiles=(2, 4), number=2).text()
    run(sim, [g2])
    np.testing.assert_array_equal(sim.obuf[:7], ref + b)


@pytest.mark.parametrize("fast", [True, False])
def test_accumulator_wraps_at_acc_width(fast):
    sim = make_sim("4x4", fast_paths=fast)
    x = np.full((2, 8), 127, np.int8)
    w = np.full((8, 4), 127, np.int8)
    b = np.array([2**31 - 1, 2**31 - 100000, -2**31, 0], np.int64)
    run(sim, [matmul_group(sim, x, w, b).text()])
    ref = wrap32(x.astype(np.int64) @ w.astype(np.int64) + b)
    np.testing.assert_array_equal(sim.obuf[:2], ref)
    assert sim.obuf[0, 0] < 0  # it did wrap


def conv_reference(x, w, b, stride=1):
    """x (H, W, C) int8, w (KH, KW, C, OC), b (OC,) -> (OH, OW, OC) int64 (valid padding)."""
    kh, kw = w.shape[:2]
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow, w.shape[3]), np.int64) + b
    for i, j in itertools.product(range(kh), range(kw)):
        patch = x[i:i + stride * oh:stride, j:j + stride * ow:stride].astype(np.int64)
        out += patch @ w[i, j].astype(np.int64)
    return out


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_nest_matches_numpy(preset, stride, rng):
    sim = make_sim(preset)
    n, m = sim.arch.ARRAY_N, sim.arch.ARRAY_M
    ic_t, h, wd, kh, kw = 2, 7, 6, 3, 3
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    x = rng.integers(-128, 128, (h, wd, ic_t * n), dtype=np.int8)
    w = rng.integers(-128, 128, (kh, kw, ic_t * n, m), dtype=np.int8)
    b = rng.integers(-10**5, 10**5, m).astype(np.int32)
    # IBUF row = t*H*W + y*W + x (channels t*N..t*N+N-1); WBUF row = (i*KW + j)*IC_T + t
    ib = np.concatenate([x[:, :, t * n:(t + 1) * n].reshape(-1, n) for t in range(ic_t)])
    wb = np.stack([w[i, j, t * n:(t + 1) * n] for i in range(kh) for j in range(kw) for t in range(ic_t)])
    sim.load(0x10000, ib)
    sim.load(0x20000, wb)
    sim.load(0x30000, b)
    g = SAGroup(3).load_rows("IBUF", 0x10000, 10, ib.nbytes, req=n * wd).load_rows("WBUF", 0x20000, 3, wb.nbytes, req=n * m)
    g.load_rows("BBUF", 0x30000, 1, 4 * m).base("OBUF", chip=40)
    g.loop(2, kh).inner(2, "KH").stride("RD", "IBUF", 2, wd).stride("RD", "WBUF", 2, kw * ic_t)
    g.loop(3, kw).inner(3, "KW").stride("RD", "IBUF", 3, 1).stride("RD", "WBUF", 3, ic_t)
    g.loop(5, ic_t).inner(5).stride("RD", "IBUF", 5, h * wd).stride("RD", "WBUF", 5, 1)
    g.loop(8, oh).stride("RD", "IBUF", 8, stride * wd).stride("RD", "OBUF", 8, ow).stride("WR", "OBUF", 8, ow)
    g.loop(9, ow).stride("RD", "IBUF", 9, stride).stride("RD", "OBUF", 9, 1).stride("WR", "OBUF", 9, 1)
    g.store_rows(0x40000, 40, oh * ow * 4 * m)
    res = run(sim, [g.text()])
    out = sim.read(0x40000, oh * ow * 4 * m).view(np.int32).reshape(oh, ow, m)
    np.testing.assert_array_equal(out, conv_reference(x, w, b, stride))
    assert res.groups[0].macs == kh * kw * ic_t * oh * ow * n * m


def test_general_path_for_obuf_read_write_strides_that_differ(rng):
    """RD(OBUF) != WR(OBUF) in loop 1: OBUF[t] = OBUF[t + 4u] + product(t), u = 0, 1 (general path only)."""
    for fast in (True, False):
        sim = make_sim("4x4", fast_paths=fast)
        sim.ibuf[:6] = rng.integers(-128, 128, (6, 4))
        sim.wbuf[0] = rng.integers(-128, 128, (4, 4))
        init = rng.integers(-1000, 1000, (10, 4)).astype(np.int32)
        sim.obuf[:10] = init
        g = SAGroup(1).base("OBUF", chip=0).outer()
        g.loop(0, 6).stride("RD", "IBUF", 0, 1).stride("RD", "OBUF", 0, 1).stride("WR", "OBUF", 0, 1)
        g.loop(1, 2).stride("RD", "OBUF", 1, 4).stride("WR", "OBUF", 1, 0).stride("RD", "IBUF", 1, 0)
        run(sim, [g.text()])
        expect = init.astype(np.int64).copy()
        prod = sim.ibuf[:6].astype(np.int64) @ sim.wbuf[0].astype(np.int64)
        for t in range(6):
            for u in range(2):
                expect[t] = wrap32(expect[t + 4 * u] + prod[t])
        np.testing.assert_array_equal(sim.obuf[:10], expect)


# ---- random nests: fast path == general path == per-iteration reference ---------------------------
def reference_nest(sim, counts, strides, bases, inner, outer):
    ib, wb, bb = (a.astype(np.int64) for a in (sim.ibuf, sim.wbuf, sim.bbuf))
    ob = sim.obuf.astype(np.int64)
    loops = sorted(counts)
    for it in itertools.product(*[range(counts[k]) for k in loops]):
        def ra(key, buf, it=it):
            return bases[buf] + sum(i * strides[key].get(k, 0) for i, k in zip(it, loops, strict=True))
        first = not outer and all(i == 0 for i, k in zip(it, loops, strict=True) if k in inner)
        psum = bb[ra("B", "BBUF")] if first else ob[ra("OR", "OBUF")]
        ob[ra("OW", "OBUF")] = wrap32(psum + ib[ra("I", "IBUF")] @ wb[ra("W", "WBUF")])
    return ob


@st.composite
def nests(draw):
    loops = sorted(draw(st.sets(st.integers(0, 15), min_size=1, max_size=3)))
    counts = {k: draw(st.integers(1, 4)) for k in loops}
    stride = st.integers(-3, 3)
    strides = {key: {k: draw(stride) for k in loops} for key in ("I", "W", "B", "OR", "OW")}
    if draw(st.booleans()):  # the common accumulate chain
        strides["OR"] = dict(strides["OW"])
    inner = draw(st.sets(st.sampled_from(loops)))
    outer = draw(st.booleans()) and draw(st.booleans())
    return counts, strides, inner, outer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nest=nests(), seed=st.integers(0, 2**31))
def test_random_nests_match_reference(nest, seed):
    counts, strides, inner, outer = nest
    depth = {"IBUF": 12, "WBUF": 12, "BBUF": 12, "OBUF": 12}
    bases, key_of = {}, {"IBUF": ("I",), "WBUF": ("W",), "BBUF": ("B",), "OBUF": ("OR", "OW")}
    for buf, keys in key_of.items():
        lo = min(sum(min(0, (counts[k] - 1) * strides[key][k]) for k in counts) for key in keys)
        hi = max(sum(max(0, (counts[k] - 1) * strides[key][k]) for k in counts) for key in keys)
        assume(hi - lo < depth[buf])
        bases[buf] = -lo
    for fast in (True, False):
        sim = make_sim("4x4", fast_paths=fast)
        r = np.random.default_rng(seed)
        sim.ibuf[:12] = r.integers(-128, 128, (12, 4))
        sim.wbuf[:12] = r.integers(-128, 128, (12, 4, 4))
        sim.bbuf[:12] = r.integers(-2**31, 2**31, (12, 4))
        sim.obuf[:12] = r.integers(-2**31, 2**31, (12, 4))
        expect = reference_nest(sim, counts, strides, bases, inner, outer)
        g = SAGroup(1)
        for buf in ("IBUF", "WBUF", "BBUF", "OBUF"):
            g.base(buf, chip=bases[buf])
        for k in sorted(counts):
            g.loop(k, counts[k])
            for key, (acc, buf) in {"I": ("RD", "IBUF"), "W": ("RD", "WBUF"), "B": ("RD", "BBUF"),
                                    "OR": ("RD", "OBUF"), "OW": ("WR", "OBUF")}.items():
                g.stride(acc, buf, k, strides[key][k])
            if k in inner:
                g.inner(k)
        if outer:
            g.outer()
        run(sim, [g.text()])
        np.testing.assert_array_equal(sim.obuf, expect)
