"""What the NPU testbench shares (light imports: loaded inside the simulator): the AXI ports of genesys_top,
the case files the runner prepares, the environment variables and the per-test reports."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genesys.verif.bench_common import clock_period_ps, items_default  # noqa: F401  (the testbench's helpers)
from genesys.verif.bench_common import write_report as _write_report
from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR  # noqa: F401

ENV_CASES = "GENESYS_NPU_CASES"   # folder of the prepared cases (index.json + one folder per case)
ENV_ONLY = "GENESYS_NPU_ONLY"      # comma-separated case names: run only these (debugging)
ENV_PLAN = "GENESYS_NPU_PLAN"      # "case:mode[:base][:poll],...": NpuOpsTest runs exactly these runs (debugging)

# (agent port name, signal prefix) of the five AXI4 masters, in docs/npu.md order
PORTS = (("ibuf", "m_axi_ibuf"), ("param", "m_axi_param"), ("obuf", "m_axi_obuf"), ("simd", "m_axi_simd"),
         ("instr", "m_axi_instr"))


@dataclass
class Case:
    """One prepared case (see cases.py for how they are made)."""

    name: str
    suite: str
    ops: list[str]
    program_address: int
    program_words: int
    dram_size: int
    error: dict | None = None          # {"cause", "code", "index", "word"}: the run must stop with this error
    axi_fault: dict | None = None      # injected fault: {"kind": "resp"|"stall", ...}
    counters: dict = field(default_factory=dict)       # the simulator's counters (timing model)
    layers: list[dict] = field(default_factory=list)   # name, op, ranges (instruction index ranges), sim_cycles
    sim_cycles: int = 0
    outputs: list[dict] = field(default_factory=list)  # name, addr, bytes of each graph output in DRAM
    note: str = ""


def load_index(cases_dir: Path | str) -> dict:
    return json.loads((Path(cases_dir) / "index.json").read_text())


def load_case(cases_dir: Path | str, name: str) -> tuple[Case, np.ndarray, np.ndarray]:
    d = Path(cases_dir) / name
    case = Case(**json.loads((d / "case.json").read_text()))
    return case, np.fromfile(d / "initial.bin", dtype=np.uint8), np.fromfile(d / "final.bin", dtype=np.uint8)


def cases_dir() -> Path:
    path = os.environ.get(ENV_CASES)
    if not path:
        raise RuntimeError(f"{ENV_CASES} is not set: run the NPU tests through genesys.verif.npu.runner")
    return Path(path)








def _jsonable(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def write_report(test: str, kind: str, data: dict[str, Any]) -> Path | None:
    return _write_report(test, kind, data, default=_jsonable)
