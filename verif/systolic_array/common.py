"""What every component of the systolic-array environment shares: the DUT's parameters (read back from
the DUT itself, never typed), the pin-level bus functional model, and the per-test report files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

# Environment variables through which the runner talks to the testbench (see runner.py).
from genesys.verif.bench_common import (
    DutParamsMixin,
    clock_period_ps,  # noqa: F401  (the testbench's helper)
)
from genesys.verif.bench_common import write_report as _write_report
from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR  # noqa: F401

from .reference import pack, to_signed, unpack


@dataclass(frozen=True)
class DutParams(DutParamsMixin):
    """The DUT's parameters as the simulator elaborated them."""

    ARRAY_N: int
    ARRAY_M: int
    DATA_WIDTH: int
    WGT_WIDTH: int
    ACC_WIDTH: int
    WBUF_DEPTH: int
    WBUF_ADDR_WIDTH: int
    OUTPUT_REG: int
    LATENCY: int


class SaBfm:
    """Pin-level access to genesys_systolic_array: drive a cycle's inputs, sample a cycle.

    Timing discipline: inputs change only just after a falling edge; monitors sample in the read-only
    phase just after a rising edge. So at rising edge k a monitor sees the inputs the DUT sampled at k
    (presented during cycle k) and the outputs the DUT produced at k (valid during cycle k + 1).
    """

    INPUTS = ("in_valid", "in_data", "in_psum", "wgt_load", "wgt_addr", "wbuf_we", "wbuf_row", "wbuf_addr",
              "wbuf_be", "wbuf_data")

    def __init__(self, dut, params: DutParams):
        self.dut = dut
        self.p = params
        self.period_ps = clock_period_ps()
        # Handle lookups and signal writes are the expensive part of a cycle: look each handle up once
        # and write a pin only when its value changes.
        self.h = {name: getattr(dut, name) for name in (*self.INPUTS, "rst_n", "out_valid", "out_psum")}
        self.last: dict[str, int] = {}

    # ---- driving (the driver only) --------------------------------------------------------------
    async def next_drive_slot(self) -> None:
        await FallingEdge(self.dut.clk)

    def drive(self, *, in_valid: int = 0, x=None, psum=None, wgt_load: int = 0, wgt_addr: int = 0,
              wbuf_we: int = 0, wbuf_row: int = 0, wbuf_addr: int = 0, wbuf_data=None, wbuf_be: int | None = None) -> None:
        p = self.p
        values = {
            "in_valid": in_valid,
            "in_data": pack(x, p.DATA_WIDTH) if x is not None else 0,
            "in_psum": pack(psum, p.ACC_WIDTH) if psum is not None else 0,
            "wgt_load": wgt_load, "wgt_addr": wgt_addr,
            "wbuf_we": wbuf_we, "wbuf_row": wbuf_row, "wbuf_addr": wbuf_addr,
            "wbuf_be": (1 << p.ARRAY_M) - 1 if wbuf_be is None else wbuf_be,
            "wbuf_data": pack(wbuf_data, p.WGT_WIDTH) if wbuf_data is not None else 0,
        }
        last = self.last
        for name, value in values.items():
            if last.get(name) != value:
                self.h[name].value = value
                last[name] = value

    def set_reset(self, active: bool) -> None:
        self.h["rst_n"].value = 0 if active else 1

    # ---- sampling (the monitors) ----------------------------------------------------------------
    async def sample_slot(self) -> int:
        """Wait for the next rising edge and its read-only phase; return that edge's cycle number."""
        await RisingEdge(self.dut.clk)
        await ReadOnly()
        return self.cycle()

    def cycle(self) -> int:
        # The clock starts low, so rising edge k is at (k + 1/2) periods.
        return int(get_sim_time("ps") // self.period_ps)

    def in_reset(self) -> bool:
        return not int(self.h["rst_n"].value)

    def sample_inputs(self) -> dict[str, Any]:
        p, h = self.p, self.h
        s: dict[str, Any] = {"wgt_load": int(h["wgt_load"].value), "wbuf_we": int(h["wbuf_we"].value),
                             "in_valid": int(h["in_valid"].value)}
        if s["wgt_load"]:
            s["wgt_addr"] = int(h["wgt_addr"].value)
        if s["wbuf_we"]:
            s["wbuf_row"] = int(h["wbuf_row"].value)
            s["wbuf_addr"] = int(h["wbuf_addr"].value)
            s["wbuf_be"] = int(h["wbuf_be"].value)
            s["wbuf_data"] = unpack(int(h["wbuf_data"].value), p.ARRAY_M, p.WGT_WIDTH)
        if s["in_valid"]:
            s["x"] = unpack(int(h["in_data"].value), p.ARRAY_N, p.DATA_WIDTH)
            s["psum"] = unpack(int(h["in_psum"].value), p.ARRAY_M, p.ACC_WIDTH)
        return s

    def sample_outputs(self) -> list[int | None] | None:
        """The output vector when out_valid is high (or unknown), else None. A column whose bits are not
        all 0/1 (X or Z on a four-state simulator) reads as None, which never matches an expected value."""
        valid = self.h["out_valid"].value
        if valid.is_resolvable and not int(valid):
            return None
        raw = self.h["out_psum"].value
        if raw.is_resolvable:
            return unpack(int(raw), self.p.ARRAY_M, self.p.ACC_WIDTH)
        bits, w = str(raw), self.p.ACC_WIDTH  # MSB first: column j is the j-th field from the right
        fields = [bits[len(bits) - (j + 1) * w: len(bits) - j * w] for j in range(self.p.ARRAY_M)]
        return [to_signed(int(f, 2), w) if set(f) <= {"0", "1"} else None for f in fields]


def write_report(test: str, kind: str, data: dict[str, Any]) -> Path | None:
    """Write one part (run / scoreboard / coverage) of a test's report as JSON, if the runner asked."""
    return _write_report(test, kind, data, default=_jsonable)


def _jsonable(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
