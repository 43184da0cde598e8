"""What every component of the SIMD function-unit environment shares: the DUT's parameters (read back from
the DUT), the environment variables the runner sets, and the per-test report files."""

from __future__ import annotations

from dataclasses import dataclass

from genesys.verif.bench_common import DutParamsMixin, clock_period_ps, items_default, write_report  # noqa: F401  (the testbench's helpers)
from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR  # noqa: F401


@dataclass(frozen=True)
class DutParams(DutParamsMixin):
    LANES: int
    TAG_WIDTH: int
    DIV_STEPS: int
    LATENCY: int
    DIV_CYCLES: int
    DIV_LATENCY: int





