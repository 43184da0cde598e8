"""SIMD groups as programs: iterators, loop nests, reductions, pooling, transfers, OBUF reads and errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesys.sim import SimulationError
from genesys.sim.functions import PLAIN, apply
from genesys.sim.testing import simd_group, simd_set32, simd_transfer

from .helpers import make_sim, run

IMIN = -2**31


def it(ns, idx, base, stride):
    return simd_set32("BASE", ns, idx, base) + simd_set32("STRIDE", ns, idx, stride)


@pytest.mark.parametrize("preset", ["4x4", "8x4"])
def test_nested_loops_bind_strides_per_operand_position(preset, rng):
    sim = make_sim(preset)
    lanes = sim.arch.SIMD_LANES
    sim.vmem1[:64] = rng.integers(-1000, 1000, (64, lanes))
    body = ["IMM_SIGN_EXT IMM, 3, 7"]
    body += it("VMEM2", 0, 100, 0) + it("VMEM1", 0, 10, 0)
    body += it("VMEM2", 1, 0, 4) + it("VMEM1", 1, 0, 8) + it("VMEM2", 2, 0, 1) + it("VMEM1", 2, 0, 2)
    body += ["SET_ITER 0, 0, 3", "SET_INDEX VMEM2, 1, VMEM1, 1, IMM, 0",
             "SET_ITER 5, 0, 4", "SET_INDEX VMEM2, 2, VMEM1, 2, IMM, 0",
             "SET_INST 1, 0, 1", "ADD VMEM2, 0, VMEM1, 0, IMM, 3"]
    res = run(sim, [simd_group(1, body)])
    for i in range(3):
        for j in range(4):
            np.testing.assert_array_equal(sim.vmem2[100 + 4 * i + j], sim.vmem1[10 + 8 * i + 2 * j] + 7)
    assert res.counters["simd_busy"] == 12


def test_single_loop_body_uses_only_the_last_loop(rng):
    sim = make_sim("4x4")
    sim.vmem1[:16] = rng.integers(-9, 9, (16, 4))
    body = it("VMEM2", 0, 0, 0) + it("VMEM1", 0, 0, 0) + it("VMEM2", 1, 0, 5) + it("VMEM2", 2, 0, 1) + \
        it("VMEM1", 2, 0, 3)
    body += ["SET_ITER 0, 0, 3", "SET_INDEX VMEM2, 1, VMEM1, 1, IMM, 0",
             "SET_ITER 1, 0, 4", "SET_INDEX VMEM2, 2, VMEM1, 2, IMM, 0",
             "SET_INST 0, 0, 1", "MOVE VMEM2, 0, VMEM1, 0, IMM, 0"]
    run(sim, [simd_group(1, body)])
    np.testing.assert_array_equal(sim.vmem2[:4], sim.vmem1[0:12:3])
    assert not sim.vmem2[4:].any()


def reduction_body(fn, n):
    """VMEM1[acc] (row 40) op= VMEM2[x] (rows 0..n-1): destination and source 1 stride 0 in the loop."""
    body = it("VMEM1", 0, 40, 0) + it("VMEM2", 0, 0, 0) + it("VMEM1", 1, 0, 0) + it("VMEM2", 1, 0, 1)
    return body + [f"SET_ITER 0, 0, {n}", "SET_INDEX VMEM1, 1, VMEM1, 1, VMEM2, 1", "SET_INST 1, 0, 1",
                   f"{fn} VMEM1, 0, VMEM1, 0, VMEM2, 0"]


def test_reduction_with_destination_stride_zero_is_sequential_and_saturating(rng):
    sim = make_sim("4x4")
    x = rng.integers(-10**6, 10**6, (9, 4))
    sim.vmem2[:9] = x
    sim.vmem1[40] = 5
    run(sim, [simd_group(1, reduction_body("ADD", 9))])
    np.testing.assert_array_equal(sim.vmem1[40], 5 + x.sum(0))
    # Saturation happens at every step: (MAX + 1) saturates, then -5 leaves MAX - 5 (not MAX - 4).
    sim.vmem2[:2] = [[1] * 4, [-5] * 4]
    sim.vmem1[40] = 2**31 - 1
    run(sim, [simd_group(1, reduction_body("ADD", 2))])
    assert sim.vmem1[40].tolist() == [2**31 - 6] * 4


def test_binary32_reduction_adds_in_iteration_order():
    sim = make_sim("4x4")
    vals = np.array([1e8, 1.0, 1.0, -1e8, 1.0, 3.0], np.float32)
    sim.vmem2[:6] = np.repeat(vals.view(np.int32)[:, None], 4, axis=1)
    sim.vmem1[40] = 0
    run(sim, [simd_group(1, ["DTYPE_CFG 32FP, 0, 0, 0", *reduction_body("ADD", 6)])])
    acc = np.float32(0)
    for v in vals:
        acc = np.float32(acc + v)
    assert sim.vmem1[40].view(np.float32).tolist() == [acc] * 4


def test_max_pool_3x3_stride_2(rng):
    sim = make_sim("8x4")
    h = w = 7
    oh = ow = 3
    x = rng.integers(-10**5, 10**5, (h, w, 4))
    sim.vmem1[:h * w] = x.reshape(-1, 4)
    body = ["IMM_SIGN_EXT IMM, 0, 0", "SET_IMM_HIGH IMM, 0, 32768"]  # IMM[0] = -2**31
    body += it("VMEM2", 0, 50, 0) + it("VMEM1", 0, 0, 0)
    body += it("VMEM2", 1, 0, ow) + it("VMEM2", 2, 0, 1) + it("VMEM2", 3, 0, 0)
    body += it("VMEM1", 1, 0, 2 * w) + it("VMEM1", 2, 0, 2) + it("VMEM1", 3, 0, w) + it("VMEM1", 4, 0, 1)
    # init: out[oh, ow] = -2**31
    body += ["SET_ITER 0, 0, 3", "SET_INDEX VMEM2, 1, IMM, 0, IMM, 0", "SET_ITER 1, 0, 3",
             "SET_INDEX VMEM2, 2, IMM, 0, IMM, 0", "SET_INST 1, 0, 1", "MOVE VMEM2, 0, IMM, 0, IMM, 0"]
    # out[oh, ow] = max(out[oh, ow], x[2 oh + kh, 2 ow + kw])
    body += ["SET_ITER 0, 0, 3", "SET_INDEX VMEM2, 1, VMEM2, 1, VMEM1, 1",
             "SET_ITER 1, 0, 3", "SET_INDEX VMEM2, 2, VMEM2, 2, VMEM1, 2",
             "SET_ITER 2, 0, 3", "SET_INDEX VMEM2, 3, VMEM2, 3, VMEM1, 3",
             "SET_ITER 3, 0, 3", "SET_INDEX VMEM2, 3, VMEM2, 3, VMEM1, 4",
             "SET_INST 1, 0, 1", "MAX VMEM2, 0, VMEM2, 0, VMEM1, 0"]
    res = run(sim, [simd_group(1, body)])
    ref = np.full((oh, ow, 4), IMIN)
    for i in range(3):
        for j in range(3):
            ref = np.maximum(ref, x[i:i + 2 * oh:2, j:j + 2 * ow:2])
    np.testing.assert_array_equal(sim.vmem2[50:59].reshape(oh, ow, 4), ref)
    assert res.counters["simd_busy"] == 9 + 81


def test_two_instructions_sharing_an_accumulator_run_in_iteration_order(rng):
    """t += a_i * b_i, then t = a_i where b_i == 0: correct only when iterations run in order."""
    sim = make_sim("4x4")
    a = rng.integers(-100, 100, (6, 4))
    b = rng.integers(0, 3, (6, 4))
    sim.vmem1[:6], sim.vmem2[:6] = a, b
    sim.vmem1[30] = 1000
    body = it("VMEM1", 0, 30, 0) + it("VMEM1", 5, 0, 0) + it("VMEM2", 0, 0, 0) + it("VMEM1", 1, 0, 0) + \
        it("VMEM1", 2, 0, 1) + it("VMEM2", 2, 0, 1)
    body += ["SET_ITER 0, 0, 6", "SET_INDEX VMEM1, 1, VMEM1, 2, VMEM2, 2", "SET_INST 1, 0, 2",
             "MACC VMEM1, 0, VMEM1, 5, VMEM2, 0", "COND_MOVE_FALSE VMEM1, 0, VMEM1, 5, VMEM2, 0"]
    run(sim, [simd_group(1, body)])
    t = np.full(4, 1000)
    for i in range(6):
        t = t + a[i] * b[i]
        t = np.where(b[i] == 0, a[i], t)
    np.testing.assert_array_equal(sim.vmem1[30], t)


def test_obuf_is_a_read_only_source(rng):
    sim = make_sim("4x4")
    sim.obuf[3:6] = rng.integers(-2**31, 2**31, (3, 4))
    body = it("VMEM1", 0, 0, 0) + it("OBUF", 0, 3, 0) + it("VMEM1", 1, 0, 1) + it("OBUF", 1, 0, 1)
    body += ["SET_ITER 0, 0, 3", "SET_INDEX VMEM1, 1, OBUF, 1, IMM, 0", "SET_INST 1, 0, 1",
             "MOVE VMEM1, 0, OBUF, 0, IMM, 0"]
    run(sim, [simd_group(1, body)])
    np.testing.assert_array_equal(sim.vmem1[:3], sim.obuf[3:6])


def test_transfers_8_16_32_bit_with_base_and_tile_loops(rng):
    sim = make_sim("4x4")
    raw = rng.integers(0, 256, 1024, dtype=np.uint8)
    sim.load(0x1000, raw)
    sim.vmem1[:] = 99
    body = simd_transfer("LD", "VMEM1", 0x1000, 2, 5, width=8, base_loops=((2, 100),))
    body += simd_transfer("LD", "VMEM2", 0x1000, 0, 8, width=16, base_loops=((2, 64),), tile_loops=((2, 16),))
    res = run(sim, [simd_group(1, body)])
    s8 = np.concatenate([raw[0:5], raw[100:105]]).view(np.int8)
    np.testing.assert_array_equal(sim.vmem1.reshape(-1)[8:18], s8)  # sign-extended, from row 2 lane 0
    assert sim.vmem1.reshape(-1)[18:20].tolist() == [99, 99]  # the partial row keeps its other lanes
    starts = [0, 16, 64, 80]  # base loop outermost, tile loop inside
    s16 = np.concatenate([raw[a:a + 8] for a in starts]).view("<i2")
    np.testing.assert_array_equal(sim.vmem2.reshape(-1)[:16], s16)
    assert res.counters["vmem1_load_bytes"] == 10 and res.counters["vmem2_load_bytes"] == 32

    sim.vmem1[0] = [300, -1, 2**31 - 1, -129]
    sim.vmem1[1] = [1, 2, 3, 4]
    body = simd_transfer("ST", "VMEM1", 0x2000, 0, 4, width=8, base_loops=((2, 16),))
    body += simd_transfer("ST", "VMEM1", 0x3000, 0, 8, width=32)
    res = run(sim, [simd_group(2, body)])
    assert sim.read(0x2000, 4).view(np.int8).tolist() == [44, -1, -1, 127]  # low 8 bits
    assert sim.read(0x2010, 4).view(np.int8).tolist() == [1, 2, 3, 4]
    # The ST channel's base loop (2 x 16 bytes) stays configured for the second store too.
    assert sim.read(0x3000, 8).view("<i4").tolist() == [300, -1]
    assert sim.read(0x3010, 8).view("<i4").tolist() == [2**31 - 1, -129]
    assert res.counters["vmem1_store_bytes"] == 8 + 16


def test_transfer_configuration_persists_within_a_group_and_not_across():
    sim = make_sim("4x4")
    sim.load(0x1000, np.arange(16, dtype="<i4"))
    body = simd_transfer("LD", "VMEM1", 0x1000, 0, 16)
    body += ["LD_CONFIG_TILE_ADDR LSB, VMEM1, 0, 5", "LD_START 0, VMEM1, 31, 16"]  # only the tile row changes
    run(sim, [simd_group(1, body)])
    assert sim.vmem1[0].tolist() == sim.vmem1[5].tolist() == [0, 1, 2, 3]
    run(sim, [simd_group(2, ["LD_START 0, VMEM1, 31, 16"])])  # a new group: base address 0, tile row 0
    assert sim.vmem1[0].tolist() == [0, 0, 0, 0]


def test_iterator_half_writes():
    sim = make_sim("4x4")
    sim.vmem1[:] = np.arange(sim.vmem1.shape[0])[:, None]
    body = ["BASE_ZERO_FILL VMEM1, 0, 65535", "BASE_HIGH VMEM1, 0, 0", "BASE_LOW VMEM1, 0, 7",
            "BASE_SIGN_EXT VMEM2, 0, 2", "MOVE VMEM2, 0, VMEM1, 0, IMM, 0",
            "SET_IMM_LOW IMM, 5, 65535", "SET_IMM_HIGH IMM, 5, 32767", "BASE_SIGN_EXT VMEM2, 1, 3",
            "MOVE VMEM2, 1, IMM, 5, IMM, 0"]
    run(sim, [simd_group(1, body)])
    assert sim.vmem2[2].tolist() == [7] * 4
    assert sim.vmem2[3].tolist() == [2**31 - 1] * 4 and sim.imm[5] == 2**31 - 1


@pytest.mark.parametrize("line, match", [
    ("MOVE OBUF, 0, VMEM1, 0, IMM, 0", "OBUF cannot be a destination"),
    ("MOVE VMEM1, 0, IBUF, 0, IMM, 0", "does not access IBUF"),
    ("DTYPE_CFG 16FXP, 16, 16, 16", "only 32FXP and 32FP"),
    ("DTYPE_CFG 32FXP, 33, 16, 16", "integer bits must be 0..32"),
    ("PERM_START VMEM1, 0, VMEM2, 0, NO_SHUFFLE", "PERMUTATION is not implemented"),
    ("SIGMOID VMEM1, 0, VMEM1, 0, IMM, 0", "only defined for 32FP"),
    ("DIV VMEM1, 0, VMEM1, 0, VMEM2, 0", "division by zero"),
    ("SET_INDEX VMEM1, 0, VMEM1, 0, VMEM2, 0", "no loop has been configured"),
    ("SET_ITER 0, 0, 0", "not 0"),
    ("LD_START 0, OBUF, 31, 16", "move VMEM1 or VMEM2"),
    ("LD_START 0, VMEM1, 11, 16", "not 8, 16 or 32"),
    ("LD_START 0, VMEM1, 31, 6", "whole number of 32-bit elements"),
    ("BASE_SIGN_EXT IMM, 0, 1", "IMM entries are scalars"),
])
def test_simd_errors_name_the_instruction(line, match):
    sim = make_sim("4x4")
    with pytest.raises(SimulationError, match=match) as e:
        run(sim, [simd_group(1, ["NOP 0, 0, 0, 0, 0, 0", line])], program_addr=0)
    assert e.value.index == 2
    assert str(e.value).startswith(f"instruction 2 (0x{e.value.word:08x} `")
    assert e.value.text.split()[0] == line.split()[0]


def test_simd_out_of_range_row_names_the_iteration():
    sim = make_sim("4x4")
    depth = sim.vmem1.shape[0]
    body = it("VMEM1", 1, 0, 400) + ["SET_ITER 0, 0, 4", "SET_INDEX VMEM1, 1, VMEM1, 1, VMEM1, 1",
                                      "SET_INST 1, 0, 1", "ADD VMEM1, 0, VMEM1, 0, VMEM1, 0"]
    with pytest.raises(SimulationError, match=rf"row {3 * 400} of VMEM1 at iteration \(loop 0 = 3\).*0..{depth - 1}"):
        run(sim, [simd_group(1, body)])


def test_loop_body_must_fit_and_hold_compute_instructions():
    sim = make_sim("4x4")
    with pytest.raises(SimulationError, match="body of 3 instructions"):
        run(sim, [simd_group(1, ["SET_ITER 0, 0, 2", "SET_INST 1, 0, 3", "NOP 0, 0, 0, 0, 0, 0"])])
    with pytest.raises(SimulationError, match="cannot be in a loop body"):
        run(sim, [simd_group(1, ["SET_ITER 0, 0, 2", "SET_INST 1, 0, 1", "SET_ITER 1, 0, 2"])])


# ---- random bodies: vectorized execution == iteration-by-iteration reference ------------------------

@st.composite
def bodies(draw):
    n_loops = draw(st.integers(1, 2))
    counts = [draw(st.integers(1, 4)) for _ in range(n_loops)]
    # per loop, per position (dst, src1, src2): the stride of the iterator bound there
    strides = [[draw(st.integers(-2, 2)) for _ in range(3)] for _ in range(n_loops)]
    fns = ["ADD", "MAX", "MACC", "MOVE", "COND_MOVE_TRUE", "SUB"]
    instrs = []
    for _ in range(draw(st.integers(1, 3))):
        ops = [(draw(st.sampled_from(["VMEM1", "VMEM2"])), draw(st.integers(0, 2))) for _ in range(3)]
        instrs.append((draw(st.sampled_from(fns)), ops))
    bases = {(ns, i): draw(st.integers(12, 16)) for ns in ("VMEM1", "VMEM2") for i in range(3)}  # rows 0..28
    return counts, strides, instrs, bases


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), seed=st.integers(0, 2**31))
def test_random_bodies_match_iteration_order(body, seed):
    counts, strides, instrs, bases = body
    sim = make_sim("4x4")
    r = np.random.default_rng(seed)
    sim.vmem1[:32] = r.integers(-50, 50, (32, 4))
    sim.vmem2[:32] = r.integers(-50, 50, (32, 4))
    mem = {"VMEM1": sim.vmem1.copy(), "VMEM2": sim.vmem2.copy()}
    # iterators 0..2 carry the operand bases; iterators 10 + 3*loop + position carry the bound strides
    prog = []
    for (ns, i), b in bases.items():
        prog += it(ns, i, b, 0)
    for k, (c, st3) in enumerate(zip(counts, strides, strict=True)):
        for pos in range(3):
            prog += it("VMEM1", 10 + 3 * k + pos, 0, st3[pos])
        prog += [f"SET_ITER {k}, 0, {c}",
                 f"SET_INDEX VMEM1, {10 + 3 * k}, VMEM1, {11 + 3 * k}, VMEM1, {12 + 3 * k}"]
    prog.append(f"SET_INST 1, 0, {len(instrs)}")
    prog += [f"{fn} {ops[0][0]}, {ops[0][1]}, {ops[1][0]}, {ops[1][1]}, {ops[2][0]}, {ops[2][1]}"
             for fn, ops in instrs]
    for idx in itertools.product(*[range(c) for c in counts]):
        for fn, ops in instrs:
            rows = [bases[o] + sum(i * strides[k][pos] for k, i in enumerate(idx)) for pos, o in enumerate(ops)]
            a, b, d = (mem[o[0]][row:row + 1] for o, row in zip(ops[1:] + ops[:1], rows[1:] + rows[:1],
                                                                    strict=True))
            mem[ops[0][0]][rows[0]] = apply(fn, PLAIN, a, b, d)[0]
    run(sim, [simd_group(1, prog)])
    np.testing.assert_array_equal(sim.vmem1, mem["VMEM1"])
    np.testing.assert_array_equal(sim.vmem2, mem["VMEM2"])
