"""Run the pyuvm verification of the systolic array on Verilator or Icarus and return a typed result.

    from genesys.verif.systolic_array.runner import run_verification
    r = run_verification("4x4", Path("build/verif/4x4"))          # render, build, run every test
    r = run_verification(arch, d, simulator="icarus", items=20)     # fewer random items
    r = run_verification(arch, d, rtl_dir=mutated)                  # verify RTL rendered elsewhere

The build/run/collect logic is shared by every block (genesys.verif.cocotb_runner); this module says what
the systolic array's verification consists of.
"""

from __future__ import annotations

from pathlib import Path

from genesys.arch import Arch
from genesys.verif.cocotb_runner import SIMULATORS, Bench, VerifResult, run_bench

from .coverage import merge

TESTS = ("SaRandomTest", "SaCornerTest", "SaIdentityTest", "SaZeroTest")
# Items of the random sequence by default (each: one weight matrix, 1 to 6*ARRAY_N vectors). Sized by the cost
# of a cycle under this environment: Verilator ~6 k cycles/s on 4x4 and ~3 k on 16x16 (300 items: ~18 k
# cycles, a few seconds after a ~40 s build), Icarus ~1 k cycles/s on 4x4 and no build, so it gets fewer.
DEFAULT_ITEMS = {"verilator": 300, "icarus": 40}
# Arch parameters the DUT takes (the rest of its parameters derive from these).
DUT_PARAMETERS = ("ARRAY_N", "ARRAY_M", "DATA_WIDTH", "WGT_WIDTH", "ACC_WIDTH")


def dut_parameters(arch: Arch) -> dict[str, int]:
    """The top-level parameters the simulator is given, all from the architecture."""
    params = {name: getattr(arch, name) for name in DUT_PARAMETERS}
    params["WBUF_DEPTH"] = arch.buffers["WBUF"].depth
    return params


BENCH = Bench(block="systolic_array", test_module="genesys.verif.systolic_array.tests", tests=TESTS,
              default_items=DEFAULT_ITEMS, dut_parameters=dut_parameters, merge_coverage=merge,
              no_inline=("genesys_pe",))


def run_verification(arch, build_dir: Path, simulator: str = "verilator", seed: int = 1,
                     items: int | None = None, rtl_dir: Path | None = None, test: str | None = None) -> VerifResult:
    return run_bench(BENCH, arch, build_dir, simulator, seed, items, rtl_dir, test)


__all__ = ["BENCH", "DEFAULT_ITEMS", "SIMULATORS", "TESTS", "VerifResult", "dut_parameters", "run_verification"]
