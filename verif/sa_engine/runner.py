"""Run the pyuvm verification of the systolic-array engine on Verilator or Icarus and return a typed result.

    from genesys.verif.sa_engine.runner import run_verification
    r = run_verification("4x4", Path("build/verif/sa_engine"))      # render, build, run every test
    r = run_verification(arch, d, items=10, test="SaRandomTest")

The build/run/collect logic is shared (genesys.verif.cocotb_runner). The engine takes every value from
genesys_pkg, so the only DUT parameters are the DMA knobs; the testbench learns the architecture (for the
genesys.sim reference) from the GENESYS_SA_ENGINE_ARCH environment variable set here.
"""

from __future__ import annotations

import os
from pathlib import Path

from genesys.arch import Arch, load_arch
from genesys.verif.cocotb_runner import SIMULATORS, Bench, VerifResult, run_bench

from .common import ENV_ARCH
from .coverage import merge

TESTS = ("SaRandomTest", "SaCompiledTest", "SaErrorTest", "SaForeignTest")
DEFAULT_ITEMS = {"verilator": 30, "icarus": 6}


def dut_parameters(arch: Arch) -> dict[str, int]:
    return {}


BENCH = Bench(block="sa_engine", test_module="genesys.verif.sa_engine.tests", tests=TESTS,
              default_items=DEFAULT_ITEMS, dut_parameters=dut_parameters, merge_coverage=merge,
              no_inline=("genesys_pe",))


def run_verification(arch, build_dir: Path, simulator: str = "verilator", seed: int = 1,
                     items: int | None = None, rtl_dir: Path | None = None, test: str | None = None) -> VerifResult:
    a = load_arch(arch)
    old = os.environ.get(ENV_ARCH)
    os.environ[ENV_ARCH] = str(a.source) if getattr(a, "source", None) else a.name
    try:
        return run_bench(BENCH, a, build_dir, simulator, seed, items, rtl_dir, test)
    finally:
        if old is None:
            os.environ.pop(ENV_ARCH, None)
        else:
            os.environ[ENV_ARCH] = old


__all__ = ["BENCH", "DEFAULT_ITEMS", "SIMULATORS", "TESTS", "VerifResult", "dut_parameters", "run_verification"]
