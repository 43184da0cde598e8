"""Run the pyuvm system verification of genesys_top on Verilator or Icarus and return a typed result.

    from genesys.verif.npu.runner import run_verification
    r = run_verification("4x4", Path("build/verif/npu/4x4"))                       # every test
    r = run_verification("4x4", d, tests=("NpuOpsTest", "NpuCsrTest"), ops=("conv", "gemm"))
    r = run_verification(arch, d, rtl_dir=mutated)                                  # RTL rendered elsewhere

Before the simulator starts, the cases the selected tests need are prepared in ``build_dir/cases`` (compiled
ONNX models, hand-assembled error programs, their genesys.sim references; see cases.py). The build/run/collect
logic is shared by every block (genesys.verif.cocotb_runner): one build, then the selected tests in one
simulator process. ``items`` is the number of random-timing repetitions per case (default 1). Besides the
shared result files, ``build_dir/npu_summary.json`` holds per-run figures (cycles against the simulator,
per-counter and per-layer differences) gathered from the scoreboard reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from genesys.arch import Arch, load_arch
from genesys.errors import GenesysError
from genesys.verif.cocotb_runner import SIMULATORS, Bench, VerifResult, run_bench

from .cases import SIM_DMA_LATENCY, prepare
from .common import ENV_CASES, ENV_ONLY, ENV_PLAN
from .coverage import merge
from .models import SINGLE_OPS

TESTS = ("NpuCsrTest", "NpuOpsTest", "NpuCnnTest", "NpuErrorTest", "NpuAxiErrorTest")
SUITES_OF = {"NpuCsrTest": ("errors",), "NpuOpsTest": ("ops",), "NpuCnnTest": ("cnn",),
             "NpuErrorTest": ("errors",), "NpuAxiErrorTest": ("axi",)}
DEFAULT_ITEMS = {"verilator": 1, "icarus": 1}  # random-timing runs per case after the ideal one


def dut_parameters(arch: Arch) -> dict[str, int]:
    """genesys_top takes every size from genesys_pkg: no top-level parameters."""
    return {}


BENCH = Bench(block="npu", test_module="genesys.verif.npu.tests", tests=TESTS, default_items=DEFAULT_ITEMS,
              dut_parameters=dut_parameters, merge_coverage=merge, no_inline=("genesys_pe",))


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """cocotb's runner copies os.environ into the simulator's environment (after its own settings)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_verification(arch, build_dir: Path, simulator: str = "verilator", seed: int = 1, items: int | None = None,
                     rtl_dir: Path | None = None, test: str | None = None, tests=None, ops=SINGLE_OPS,
                     sim_latency: int = SIM_DMA_LATENCY, only=None, plan: str = "") -> VerifResult:
    """Prepare the cases, build genesys_top once and run the selected tests (``test``: one name, ``tests``:
    several; default all). ``ops``: the single-op cases of NpuOpsTest (models.SINGLE_OPS by default);
    ``only``: case names to restrict every test to; ``plan``: "case:mode[:base][:poll][:wd=N][:keep],...|reset"
    runs exactly these in NpuOpsTest (wd: watchdog cycles; keep: no reset after a stalled or hung run) —
    both for debugging."""
    if simulator not in SIMULATORS:
        raise GenesysError(f"unknown simulator {simulator!r}; use one of {', '.join(SIMULATORS)}.")
    selected = tuple(tests) if tests else ((test,) if test else TESTS)
    unknown = [t for t in selected if t not in TESTS]
    if unknown:
        raise GenesysError(f"unknown test {unknown[0]!r}; the tests are {', '.join(TESTS)}.")
    bad_ops = [o for o in ops if o not in SINGLE_OPS]
    if bad_ops:
        raise GenesysError(f"unknown op case {bad_ops[0]!r}; the ops are {', '.join(SINGLE_OPS)}.")
    arch = load_arch(arch)
    build_dir = Path(build_dir).resolve()
    cases = build_dir / "cases"
    suites = sorted({s for t in selected for s in SUITES_OF[t]})
    prepare(arch, cases, suites, tuple(ops), sim_latency)
    env = {ENV_CASES: str(cases), ENV_ONLY: ",".join(only or ()), ENV_PLAN: plan}
    if selected != TESTS:
        env["COCOTB_TEST_FILTER"] = r"\.(" + "|".join(rf"{re.escape(t)}" for t in selected) + ")$"
    with _environ(env):
        result = run_bench(BENCH, arch, build_dir, simulator, seed, items, rtl_dir, None)
    _summary(result, build_dir)
    return result


def _summary(result: VerifResult, build_dir: Path) -> None:
    """npu_summary.json: per run the cycles against the simulator, the counters outside tolerance and the
    per-layer differences (from the scoreboard reports)."""
    runs = []
    for name in result.per_test:
        try:
            sb = json.loads((build_dir / "reports" / f"{name}.scoreboard.json").read_text())
        except (OSError, ValueError):
            continue
        for r in sb.get("runs", []):
            entry = {"test": name, "label": r["label"], "passed": r.get("passed"), "cycles": r.get("cycles"),
                     "sim_cycles": r.get("sim_cycles")}
            if r.get("sim_cycles") and r.get("cycles") and r.get("counters"):
                entry["cycles_pct"] = round(100.0 * (r["cycles"] - r["sim_cycles"]) / r["sim_cycles"], 1)
                entry["counters"] = {k: v for k, v in r["counters"].items() if v["diff"]}
            if r.get("layers"):
                entry["layers"] = r["layers"]
            runs.append(entry)
    (build_dir / "npu_summary.json").write_text(json.dumps({"runs": runs}, indent=1) + "\n")


__all__ = ["BENCH", "DEFAULT_ITEMS", "SIMULATORS", "TESTS", "VerifResult", "dut_parameters", "run_verification"]
