"""Run the pyuvm verification of the SIMD engine on Verilator or Icarus and return a typed result.

    from genesys.verif.simd_engine.runner import run_verification
    r = run_verification("4x4", Path("build/verif/simd_4x4"))
    r = run_verification(arch, d, rtl_dir=mutated)                  # verify RTL rendered elsewhere
"""

from __future__ import annotations

import os
from pathlib import Path

from genesys.arch import Arch, load_arch
from genesys.verif.cocotb_runner import SIMULATORS, Bench, VerifResult, run_bench

from .common import ENV_PRESET
from .coverage import merge

TESTS = ("SimdCompiledTest", "SimdRandomTest", "SimdErrorTest")
DEFAULT_ITEMS = {"verilator": 40, "icarus": 8}


def dut_parameters(arch: Arch) -> dict[str, int]:  # noqa: ARG001  (every default comes from genesys_pkg)
    return {}


BENCH = Bench(block="simd", test_module="genesys.verif.simd_engine.tests", tests=TESTS,
              default_items=DEFAULT_ITEMS, dut_parameters=dut_parameters, merge_coverage=merge,
              no_inline=("genesys_simd_fu_lane",))


def run_verification(arch, build_dir: Path, simulator: str = "verilator", seed: int = 1,
                     items: int | None = None, rtl_dir: Path | None = None, test: str | None = None) -> VerifResult:
    os.environ[ENV_PRESET] = load_arch(arch).name
    return run_bench(BENCH, arch, build_dir, simulator, seed, items, rtl_dir, test)


__all__ = ["BENCH", "DEFAULT_ITEMS", "SIMULATORS", "TESTS", "VerifResult", "dut_parameters", "run_verification"]
