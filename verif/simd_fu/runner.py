"""Run the pyuvm verification of the SIMD function unit on Verilator or Icarus and return a typed result.

    from genesys.verif.simd_fu.runner import run_verification
    r = run_verification("4x4", Path("build/verif/simd_fu"))        # render, build, run every test
    r = run_verification(arch, d, simulator="icarus", items=50)     # fewer random items
    r = run_verification(arch, d, rtl_dir=mutated)                  # verify RTL rendered elsewhere

The build/run/collect logic is shared by every block (genesys.verif.cocotb_runner); this module says what
the function unit's verification consists of.
"""

from __future__ import annotations

from pathlib import Path

from genesys.arch import Arch
from genesys.verif.cocotb_runner import SIMULATORS, Bench, VerifResult, run_bench

from .coverage import merge

TESTS = ("FuRandomTest", "FuCompilerOpsTest", "FuCornerTest", "FuErrorTest", "FuAbortTest")
# Items of the random sequence by default (each: one op on every lane). The corner test runs
# min(items, the boundary cross product); the error and abort tests a fraction of it.
DEFAULT_ITEMS = {"verilator": 3000, "icarus": 150}


def dut_parameters(arch: Arch) -> dict[str, int]:
    """The top-level parameters the simulator is given, all from the architecture."""
    return {"LANES": arch.SIMD_LANES}


BENCH = Bench(block="simd_fu", test_module="genesys.verif.simd_fu.tests", tests=TESTS,
              default_items=DEFAULT_ITEMS, dut_parameters=dut_parameters, merge_coverage=merge)


def run_verification(arch, build_dir: Path, simulator: str = "verilator", seed: int = 1,
                     items: int | None = None, rtl_dir: Path | None = None, test: str | None = None) -> VerifResult:
    return run_bench(BENCH, arch, build_dir, simulator, seed, items, rtl_dir, test)


__all__ = ["BENCH", "DEFAULT_ITEMS", "SIMULATORS", "TESTS", "VerifResult", "dut_parameters", "run_verification"]
