"""Functional coverage model of the systolic array: the bins, how an observed input vector hits them, and
how per-test reports merge. Pure Python (no simulator), so the runner merges reports with it too.

Groups (every bin is named ``group:bin``):
  x, w, psum, y   value class of each operand (activations, weights in effect, top-edge partial sums,
                  expected results): min / max of its signed range, zero, other negative, other positive
  xw              cross of the activation class and the weight class meeting in one PE (25 bins)
  shape           the weight matrix in effect: all zero, full, partial rows, partial columns, both partial
  len             vectors streamed per weight load: 1, 2..N, N+1..4N, more than 4N
  scenario        load_with_first_vector (strobe in the cycle of the first vector that uses it),
                  switch_in_flight (weights switched while vectors of the previous matrix were in the array),
                  back_to_back (vectors in consecutive cycles), bubble (idle cycles between vectors of
                  one matrix), bank_reuse (a load from a bank address loaded before and not rewritten),
                  reset_weights (vectors multiplied with the weights left by reset), acc_wrap (a result
                  wrapped around the accumulator)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genesys.verif.bench_common import coverage_summary, merge_coverage

from .reference import VALUE_CLASSES, matvec, signed_range, unwrapped, value_class

SHAPES = ("zero", "full", "partial_rows", "partial_cols", "partial_both")
LENGTHS = ("1", "2..N", "N+1..4N", ">4N")
SCENARIOS = ("load_with_first_vector", "switch_in_flight", "back_to_back", "bubble", "bank_reuse",
             "reset_weights", "acc_wrap")


def bin_names() -> list[str]:
    names = [f"{g}:{c}" for g in ("x", "w", "psum", "y") for c in VALUE_CLASSES]
    names += [f"xw:{a}*{b}" for a in VALUE_CLASSES for b in VALUE_CLASSES]
    names += [f"shape:{s}" for s in SHAPES] + [f"len:{s}" for s in LENGTHS] + [f"scenario:{s}" for s in SCENARIOS]
    return names


class SaCoverageModel:
    """Counts bin hits from the input monitor's vectors (SaVector in components.py).

    ``sample`` only records the vector and the scenario bins that depend on order; the value bins are
    computed in ``report`` with numpy over whole segments (the vectors of one weight load), which is far
    cheaper than per-vector numpy calls on small arrays.
    """

    def __init__(self, n: int, m: int, data_width: int, wgt_width: int, acc_width: int, latency: int):
        self.n, self.m, self.latency = n, m, latency
        self.dw, self.ww, self.aw = data_width, wgt_width, acc_width
        self.hits: dict[str, int] = dict.fromkeys(bin_names(), 0)
        # The exact sum fits int64 when N * |x|max * |w|max + |psum|max < 2**63; else use Python ints.
        bound = n * (1 << (data_width - 1)) * (1 << (wgt_width - 1)) + (1 << (acc_width - 1))
        self.exact_in_int64 = acc_width < 64 and bound < (1 << 63)
        self.segments: list[tuple[np.ndarray, list, list]] = []  # (w, xs, psums) per weight load
        self._seg_id: int | None = None
        self._prev_cycle: int | None = None

    def sample(self, v) -> None:
        """One observed input vector ``v`` (x, psum, w, load_id, load_cycle, cycle, reused_bank)."""
        h = self.hits
        if v.load_id != self._seg_id:
            self._seg_id = v.load_id
            self.segments.append((v.w, [], []))
            if v.load_cycle is None:
                h["scenario:reset_weights"] += 1
            else:
                if v.cycle == v.load_cycle:
                    h["scenario:load_with_first_vector"] += 1
                if self._prev_cycle is not None and v.load_cycle - self._prev_cycle < self.latency:
                    h["scenario:switch_in_flight"] += 1
                if v.reused_bank:
                    h["scenario:bank_reuse"] += 1
        elif self._prev_cycle is not None and v.cycle - self._prev_cycle > 1:
            h["scenario:bubble"] += 1
        if self._prev_cycle is not None and v.cycle == self._prev_cycle + 1:
            h["scenario:back_to_back"] += 1
        self._prev_cycle = v.cycle
        seg = self.segments[-1]
        seg[1].append(v.x)
        seg[2].append(v.psum)

    def _add(self, group: str, classes: np.ndarray) -> None:
        for cls, c in zip(VALUE_CLASSES, np.bincount(np.ravel(classes), minlength=5), strict=True):
            if c:
                self.hits[f"{group}:{cls}"] += int(c)

    def _segment(self, w: np.ndarray, xs: list, psums: list) -> None:
        h = self.hits
        x = np.array(xs, dtype=np.int64)          # (T, N)
        psum = np.array(psums, dtype=np.int64)    # (T, M)
        t = len(x)
        name = "1" if t == 1 else "2..N" if t <= self.n else "N+1..4N" if t <= 4 * self.n else ">4N"
        h[f"len:{name}"] += 1
        h[f"shape:{self._shape(w)}"] += 1
        cw = value_class(w, self.ww)
        cx = value_class(x, self.dw)
        self._add("w", cw)
        self._add("x", cx)
        self._add("psum", value_class(psum, self.aw))
        cross = np.bincount((cx[:, :, None] * 5 + cw[None, :, :]).ravel(), minlength=25)
        for k in np.nonzero(cross)[0]:
            h[f"xw:{VALUE_CLASSES[k // 5]}*{VALUE_CLASSES[k % 5]}"] += int(cross[k])
        self._add("y", value_class(matvec(w, x, psum, self.aw), self.aw))
        if self.exact_in_int64:
            exact = x @ np.asarray(w, dtype=np.int64) + psum
        else:
            exact = np.array([unwrapped(w, x[k], psum[k]) for k in range(t)], dtype=object)
        lo, hi = signed_range(self.aw)
        h["scenario:acc_wrap"] += int(np.count_nonzero((exact < lo) | (exact > hi)))

    def _shape(self, w) -> str:
        nz = np.asarray(w) != 0
        rows, cols = int(nz.any(axis=1).sum()), int(nz.any(axis=0).sum())
        if rows == 0:
            return "zero"
        if rows == self.n and cols == self.m:
            return "full"
        if cols == self.m:
            return "partial_rows"
        if rows == self.n:
            return "partial_cols"
        return "partial_both"

    def report(self) -> dict[str, Any]:
        for seg in self.segments:
            self._segment(*seg)
        self.segments = []
        return summarize(self.hits)


def summarize(hits: dict[str, int]) -> dict[str, Any]:
    return coverage_summary(hits, bin_names())


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Union of per-test coverage reports: hit counts add up."""
    return merge_coverage(reports, bin_names())
