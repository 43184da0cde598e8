"""What every component of the SIMD engine environment shares: the DUT's parameters, the architecture the
RTL was rendered for (the runner passes its name), the report files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesys.verif.bench_common import DutParamsMixin
from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR

ENV_PRESET = "GENESYS_SIMD_BENCH_PRESET"   # the preset the RTL was rendered for (set by runner.py)
RAM_SIZE = 1 << 20                        # the AxiRam behind m_axi_simd_*


@dataclass(frozen=True)
class DutParams(DutParamsMixin):
    XFER_BASE_LOOPS: int
    XFER_TILE_LOOPS: int
    INFLIGHT: int
    IMEM_AW: int
    AXW: int
    AW: int


def clock_period_ps() -> int:
    period = int(os.environ.get(ENV_CLOCK_PS, DEFAULT_CLOCK_PS))
    return period + (period & 1)


def items_default(fallback: int) -> int:
    return int(os.environ.get(ENV_ITEMS, fallback))


def write_report(test: str, kind: str, data: dict[str, Any]) -> None:
    out = os.environ.get(ENV_OUT_DIR)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{test}.{kind}.json").write_text(json.dumps(data, indent=1, default=str))
