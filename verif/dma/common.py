"""What every component of the DMA environment shares: the DUT's parameters (read back from the DUT),
the environment variables the runner sets, and the per-test report files."""

from __future__ import annotations

from dataclasses import dataclass

from genesys.verif.bench_common import DutParamsMixin, clock_period_ps, items_default, write_report  # noqa: F401  (the testbench's helpers)
from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR  # noqa: F401

RAM_SIZE = 1 << 20                     # the AxiRam behind the DUT (addresses stay inside it)
ERROR_PAGE = 0xF0000                   # one 4 KiB page that answers SLVERR (read and write)


@dataclass(frozen=True)
class DutParams(DutParamsMixin):
    DATA_WIDTH: int
    ADDR_WIDTH: int
    MAX_OUTSTANDING: int
    MAX_BURST_BEATS: int
    LOOPS: int
    ITER_WIDTH: int
    STRIDE_WIDTH: int
    REQ_WIDTH: int

    @property
    def bytes_per_beat(self) -> int:
        return self.DATA_WIDTH // 8





