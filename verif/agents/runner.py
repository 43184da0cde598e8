"""Run the AXI4 memory agent's self-test against genesys_dma (the agent's own regression, before any
system-level use):

    from genesys.verif.agents.runner import run_selftest
    r = run_selftest("4x4", Path("build/agents"))     # a VerifResult from the shared runner
"""

from __future__ import annotations

from pathlib import Path

from genesys.arch import Arch
from genesys.verif.cocotb_runner import Bench, VerifResult, run_bench


def _params(arch: Arch) -> dict[str, int]:
    return {"DATA_WIDTH": arch.buffers["IBUF"].axi_width}


SELFTEST = Bench(block="dma", test_module="genesys.verif.agents.selftest", tests=("agent_selftest",),
                 default_items={"verilator": 1, "icarus": 1}, dut_parameters=_params,
                 merge_coverage=lambda reports: {"bins_hit": 0, "bins_total": 0})


def run_selftest(arch, build_dir: Path, simulator: str = "verilator", seed: int = 1) -> VerifResult:
    return run_bench(SELFTEST, arch, build_dir, simulator, seed)
