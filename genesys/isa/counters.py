"""The performance counters: one list, read by the simulator, the RTL templates and the reports.

Each counter has a name (also its Verilog/CSR name, upper-cased), a meaning, and a width in bits. The RTL
exposes them on the AXI-Lite port in this order (one 64-bit register pair each); the simulator's timing
model fills the same names; reports print them with these meanings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Counter:
    name: str
    meaning: str
    width: int = 64


BUFFERS = ("IBUF", "WBUF", "BBUF", "OBUF", "VMEM1", "VMEM2", "IMEM")

COUNTERS: tuple[Counter, ...] = (
    Counter("cycles", "cycles from start to done"),
    Counter("array_busy", "cycles the systolic array computes (a row enters or a psum leaves)"),
    Counter("array_stall", "cycles the array has a compute nest to run but waits (data not loaded, OBUF hazard)"),
    Counter("simd_busy", "cycles the SIMD unit executes a compute instruction"),
    Counter("simd_stall", "cycles the SIMD unit has work but waits (data not ready, VMEM/OBUF conflict)"),
    Counter("dma_busy", "cycles at least one AXI interface moves data"),
    Counter("instructions", "instructions executed (loop bodies counted once per issue)"),
    Counter("groups", "instruction groups executed (systolic array and SIMD)"),
    Counter("macs", "multiply-accumulates performed by the array (rows x N x M)"),
    *(Counter(f"{b.lower()}_load_bytes", f"bytes loaded from DRAM into {b}") for b in BUFFERS),
    *(Counter(f"{b.lower()}_store_bytes", f"bytes stored from {b} to DRAM") for b in BUFFERS if b in ("OBUF", "VMEM1", "VMEM2")),
)
COUNTER_NAMES: tuple[str, ...] = tuple(c.name for c in COUNTERS)


def zero_counters() -> dict[str, int]:
    return dict.fromkeys(COUNTER_NAMES, 0)
