"""What every component of the SIMD engine environment shares: the DUT's parameters, the architecture the
RTL was rendered for (the runner passes its name), the report files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genesys.verif.bench_common import DutParamsMixin, clock_period_ps, items_default  # noqa: F401
from genesys.verif.bench_common import write_report as _write_report

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


def write_report(test: str, kind: str, data: dict[str, Any]) -> None:
    _write_report(test, kind, data, default=str)
