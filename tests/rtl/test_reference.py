"""The numpy reference model and the coverage model of the systolic-array testbench, against plain
Python integers (no simulator needed)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys.arch import load_arch
from genesys.verif.systolic_array.coverage import SaCoverageModel, bin_names, merge
from genesys.verif.systolic_array.reference import matvec, pack, signed_range, unpack, value_class, wrap


def _wrap_py(v: int, width: int) -> int:
    v &= (1 << width) - 1
    return v - (1 << width) if v >> (width - 1) else v


@settings(max_examples=200, deadline=None)
@given(st.integers(-(1 << 63), (1 << 63) - 1), st.integers(1, 64))
def test_wrap_matches_twos_complement(v, width):
    assert int(wrap(v, width)) == _wrap_py(v, width)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.sampled_from(["4x4", "8x4", "16x16"]), st.sampled_from([8, 16, 32]), st.sampled_from([32, 48, 64]))
def test_matvec_matches_python_integers(data, preset, dw, aw):
    arch = load_arch(preset)
    n, m = arch.ARRAY_N, arch.ARRAY_M
    xr, ar = signed_range(dw), signed_range(aw)
    x = data.draw(st.lists(st.integers(*xr), min_size=n, max_size=n))
    w = data.draw(st.lists(st.lists(st.integers(*xr), min_size=m, max_size=m), min_size=n, max_size=n))
    p = data.draw(st.lists(st.integers(*ar), min_size=m, max_size=m))
    exact = [p[j] + sum(x[i] * w[i][j] for i in range(n)) for j in range(m)]
    assert matvec(np.array(w), np.array(x), np.array(p), aw).tolist() == [_wrap_py(e, aw) for e in exact]


@given(st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=1, max_size=32))
def test_pack_unpack_roundtrip(values):
    assert unpack(pack(values, 32), len(values), 32) == values


def test_value_classes_are_the_range_ends_zero_and_signs():
    lo, hi = signed_range(8)
    assert value_class([lo, hi, 0, -5, 5], 8).tolist() == [0, 1, 2, 3, 4]


class _V:
    def __init__(self, cycle, x, psum, w, load_id, load_cycle, reused=False):
        self.cycle, self.x, self.psum, self.w = cycle, x, psum, w
        self.load_id, self.load_cycle, self.reused_bank = load_id, load_cycle, reused


def test_coverage_model_bins():
    lo, hi = signed_range(8)
    alo, ahi = signed_range(32)
    cov = SaCoverageModel(2, 2, 8, 8, 32, latency=4)
    w0 = np.zeros((2, 2), dtype=np.int64)
    cov.sample(_V(5, [1, 2], [0, 0], w0, 0, None))                  # reset weights
    w1 = np.array([[lo, hi], [0, 0]])
    cov.sample(_V(7, [lo, hi], [ahi, alo], w1, 1, 7))               # load with first vector, in flight
    cov.sample(_V(8, [lo, 0], [0, 0], w1, 1, 7))                    # back to back
    cov.sample(_V(11, [hi, -1], [0, 0], w1, 1, 7))                  # bubble
    r = cov.report()
    b = r["bins"]
    for name in ("scenario:reset_weights", "scenario:load_with_first_vector", "scenario:switch_in_flight",
                 "scenario:back_to_back", "scenario:bubble", "scenario:acc_wrap", "shape:zero",
                 "shape:partial_rows", "len:1", "xw:min*min", "xw:max*max", "psum:min", "psum:max"):
        assert b[name] > 0, name
    assert b["scenario:bank_reuse"] == 0 and b["len:>4N"] == 0
    assert r["bins_total"] == len(bin_names()) and r["bins_hit"] < r["bins_total"]
    assert merge([r, r])["bins"]["len:1"] == 2 * b["len:1"]
