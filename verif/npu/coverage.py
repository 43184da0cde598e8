"""Functional coverage of the NPU system tests: ops exercised, error causes seen, AXI timing modes, AXI port
traffic and burst lengths, run scenarios and control-register behaviours. The runner merges the tests'
reports (hit counts add up)."""

from __future__ import annotations

from typing import Any

from genesys.isa.status import ERROR_CAUSES
from genesys.verif.bench_common import coverage_summary, merge_coverage

OPS = ("Conv", "Gemm", "Relu", "Clip", "Add", "MaxPool", "AveragePool", "GlobalAveragePool", "network")
TIMING = ("ideal", "random", "slow", "bursty")
PORT_BINS = ("ibuf:read", "param:read", "obuf:read", "obuf:write", "simd:read", "simd:write", "instr:read")
BURSTS = ("R:1", "R:2-15", "R:16-255", "R:256", "W:1", "W:2-15", "W:16-255", "W:256")
RUNS = ("irq", "poll", "relocated", "back_to_back", "after_error", "after_reset")
CSR = ("id", "shape", "reset_values", "rw_readback", "ro_ignored", "w1c_done", "w1c_error", "write0_keeps",
       "start_self_clear", "irq_enable", "irq_masked", "irq_clear", "busy", "unmapped")

BINS = (tuple(f"op:{o}" for o in OPS)
        + tuple(f"cause:{e.name}" for e in ERROR_CAUSES if e.name != "NONE")
        + tuple(f"timing:{t}" for t in TIMING)
        + tuple(f"port:{p}" for p in PORT_BINS)
        + tuple(f"burst:{b}" for b in BURSTS)
        + tuple(f"run:{r}" for r in RUNS)
        + tuple(f"csr:{c}" for c in CSR))


def bin_names() -> tuple[str, ...]:
    return BINS


def add(hits: dict[str, int], name: str, n: int = 1) -> None:
    if name not in BINS:
        raise KeyError(f"no coverage bin {name!r}")
    hits[name] = hits.get(name, 0) + n


def summarize(hits: dict[str, int]) -> dict[str, Any]:
    return coverage_summary(hits, list(BINS))


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    return merge_coverage(reports, list(BINS))
