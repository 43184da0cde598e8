"""What every component of the systolic-array engine's environment shares: the architecture (named by the
runner through an environment variable; the engine takes every value from genesys_pkg), the memory map of
the AxiRam behind the three AXI ports, and the per-test report files."""

from __future__ import annotations

import os

from genesys.verif.bench_common import clock_period_ps, items_default, write_report  # noqa: F401  (the testbench's helpers)
from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR  # noqa: F401

ENV_ARCH = "GENESYS_SA_ENGINE_ARCH"    # preset name or config file of the rendered DUT
RAM_SIZE = 1 << 21                     # the AxiRam shared by the ibuf/param/obuf ports
MODEL_DRAM = 1 << 20                   # the reference machine's DRAM: RAM[data_base + a] is its byte a
DUMP_ADDR = 0xC0000                    # model-DRAM address where the OBUF dump groups store OBUF
FILL_ADDR = 0xD0000                    # model-DRAM address of the bytes the fill group loads into every buffer
ERROR_PAGE = 0x1F0000                  # one 4 KiB RAM page that answers SLVERR (outside every model window)


def load_arch():
    from genesys.arch import load_arch as _load

    return _load(os.environ.get(ENV_ARCH, "4x4"))





