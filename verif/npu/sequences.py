"""Sequences of the NPU tests. They run on the AXI-Lite agent's sequencer, set up the shared DRAM and the
memory's timing / faults for each run, and publish what happened (NpuRun, CsrObs) to the scoreboard and
coverage.

    NpuOpsSeq       every single-op case: ideal timing (the timing comparison), then random AXI timing
                    (random / slow / bursty in turn, ``items`` times); one relocated run (DATA_BASE != 0)
                    and one run polled without irq
    NpuCnnSeq       the small CNN: ideal, then random timing
    NpuErrorSeq     every program-error case (ERR_CAUSE, ERR_PC = the simulator's index, ERR_WORD), each
                    followed by a clean run (recovery)
    NpuAxiErrorSeq  SLVERR on input reads, DECERR on output writes, SLVERR on the instruction fetch, a stalled
                    R channel caught by TIMEOUT (then a reset), each followed by the clean run
    NpuCsrSeq       control registers: ID, SHAPE, reset values, read/write, read-only, w1c, START, BUSY, irq
"""

from __future__ import annotations

import os
import random

import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from pyuvm import ConfigDB, uvm_sequence

from genesys.isa import status as csr
from genesys.isa.counters import COUNTER_NAMES
from genesys.verif.agents.axi_mem import DECERR, ErrorRange, stats_delta
from genesys.verif.agents.axil import AxilItem, NpuRunRequest, NpuRunSeq, RegSeq

from .common import ENV_ONLY, ENV_PLAN, cases_dir, items_default, load_case, load_index
from .components import CsrObs, NpuRun

FILL = 0xA5                      # DRAM outside a case's image
RELOCATE = 0x40000               # DATA_BASE of the relocated runs (the image is placed there)
RANDOM_MODES = ("random", "slow", "bursty")
RUN_TIMEOUT = 50_000             # TIMEOUT register of normal runs (the AXI watchdog stays armed)


def dram_bytes_needed(index: dict) -> int:
    return RELOCATE + max((c["dram_size"] for c in index["cases"]), default=0) + 4096


class NpuBaseSeq(uvm_sequence):
    default_items = 1

    def setup(self):
        self.dut = ConfigDB().get(None, "", "DUT")
        self.period = ConfigDB().get(None, "", "CLOCK_PS")
        self.seqr = ConfigDB().get(None, "", "AXIL_SEQR")
        self.mem = ConfigDB().get(None, "", "AXI_MEM")
        self.dram = ConfigDB().get(None, "", "DRAM")
        self.ap = ConfigDB().get(None, "", "NPU_AP")
        self.rng = random.Random(ConfigDB().get(None, "", "SEED"))
        self.cases = cases_dir()
        self.index = load_index(self.cases)
        self.n_items = items_default(self.default_items)
        self.last: NpuRun | None = None
        self.was_reset = False
        self.mode_turn = 0

    def names(self, suite: str) -> list[str]:
        only = [n for n in os.environ.get(ENV_ONLY, "").split(",") if n]
        return [c["name"] for c in self.index["cases"] if c["suite"] == suite and (not only or c["name"] in only)]

    def next_random_mode(self) -> str:
        m = RANDOM_MODES[self.mode_turn % len(RANDOM_MODES)]
        self.mode_turn += 1
        return m

    async def reset(self, cycles: int = 5) -> None:
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.rst_n.value = 0
        await ClockCycles(dut.clk, cycles)
        await FallingEdge(dut.clk)
        dut.rst_n.value = 1
        await RisingEdge(dut.clk)
        self.was_reset = True
        self.last = None

    async def run_case(self, name: str, mode: str = "ideal", base: int = 0, use_irq: bool = True,
                       label: str | None = None, watchdog: int | None = None, reset_after: bool = True) -> NpuRun:
        case, initial, final = load_case(self.cases, name)
        dram, mem = self.dram, self.mem
        size = case.dram_size
        if base + size > dram.size:
            raise ValueError(f"{name}: image of {size} bytes at 0x{base:x} does not fit the {dram.size}-byte DRAM")
        dram.clear(FILL)
        dram.load(base, initial)
        # Outside the case's DRAM the simulator would stop ("outside DRAM"): the memory answers DECERR there.
        dram.errors.append(ErrorRange(base + size, 1 << 64, DECERR))
        if base:
            dram.errors.append(ErrorRange(0, base, DECERR))
        fault = case.axi_fault or {}
        timeout = RUN_TIMEOUT
        if fault.get("kind") == "resp":
            dram.errors.insert(0, ErrorRange(base + fault["lo"], base + fault["hi"], fault["resp"],
                                             fault.get("reads", True), fault.get("writes", True)))
        mem.set_mode(mode)
        if fault.get("kind") == "stall":
            mem.stall(fault["port"], *fault["channels"])
            timeout = fault["timeout"]
        mem.clear_errors()
        before = mem.stats()
        words = initial[case.program_address:case.program_address + 4 * case.program_words].view("<u4").copy()
        slow = 4 if mode != "ideal" else 1
        sample = max(16, case.sim_cycles // 300) if case.sim_cycles else 32
        req = NpuRunRequest(prog_addr=base + case.program_address, prog_words=case.program_words, data_base=base,
                            timeout=timeout, use_irq=use_irq,
                            watchdog=watchdog or 30_000 + 40 * slow * max(case.sim_cycles, 500),
                            sample_period=sample)
        outcome = await NpuRunSeq.run(self.seqr, req)
        stalled = []
        if fault.get("kind") == "stall":
            m = mem.monitors[fault["port"]]
            stalled = [b.addr for b in (*m.reads, *m.w_pending, *m.b_pending)]
            mem.release()
        await ClockCycles(self.dut.clk, 4)  # let the monitors see the last responses
        traffic = {p: {k: v for k, v in s.items() if not k.startswith("max_")}
                   for p, s in stats_delta(mem.stats(), before).items()}
        got = dram.data[base:base + size].copy()
        outside = int(np.count_nonzero(dram.data[:base] != FILL)) + int(np.count_nonzero(dram.data[base + size:] != FILL))
        scen = []
        if base:
            scen.append("relocated")
        if self.last is not None:
            scen.append("after_error" if self.last.outcome.error else "back_to_back")
        elif self.was_reset:
            scen.append("after_reset")
        where = f", base 0x{base:x}" if base else ""
        run = NpuRun(case, label or f"{name}[{mode}{where}{'' if use_irq else ', poll'}]",
                     mode, base, use_irq, outcome, words, final, got, outside, traffic, mem.error_bursts(),
                     tuple(scen), check_dram=case.axi_fault is None, stalled_addrs=stalled)
        self.ap.write(run)
        self.last = run if not outcome.hung else None
        if reset_after and (outcome.hung or fault.get("kind") == "stall"):
            await self.reset()  # a hung run or a stalled channel leaves AXI transactions open: start over
        return run


class NpuOpsSeq(NpuBaseSeq):
    async def body(self):
        self.setup()
        plan = os.environ.get(ENV_PLAN, "")
        if plan:  # debugging: exactly the runs named
            for entry in plan.split(","):
                if entry == "reset":
                    await self.reset()
                    continue
                name, mode, *rest = entry.split(":")
                base = next((int(x, 0) for x in rest if x not in ("poll", "keep") and not x.startswith("wd=")), 0)
                wd = next((int(x[3:]) for x in rest if x.startswith("wd=")), None)
                await self.run_case(name, mode, base=base, use_irq="poll" not in rest, watchdog=wd,
                                    reset_after="keep" not in rest)
            return
        names = self.names("ops")
        for name in names:
            await self.run_case(name, "ideal")
            for _ in range(self.n_items):
                await self.run_case(name, self.next_random_mode())
        if names:
            await self.run_case(names[0], "random", base=RELOCATE)
            await self.run_case(names[-1], "ideal", use_irq=False)


class NpuCnnSeq(NpuBaseSeq):
    async def body(self):
        self.setup()
        for name in self.names("cnn"):
            await self.run_case(name, "ideal")
            for _ in range(self.n_items):
                await self.run_case(name, self.next_random_mode())


class NpuErrorSeq(NpuBaseSeq):
    async def body(self):
        self.setup()
        names = self.names("errors")
        clean = [n for n in names if not n.startswith("err_")]
        for k, name in enumerate(n for n in names if n.startswith("err_")):
            await self.run_case(name, "ideal" if k % 2 == 0 else self.next_random_mode())
            if clean and k % 3 == 2:
                await self.run_case(clean[0], "ideal")
        for name in clean:
            await self.run_case(name, "random")


class NpuAxiErrorSeq(NpuBaseSeq):
    async def body(self):
        self.setup()
        names = self.names("axi")
        for clean in (n for n in names if n.endswith("_clean")):
            op = clean[:-len("_clean")]
            await self.run_case(clean, "ideal")
            for k, fault in enumerate(n for n in names if n.startswith(op + "_") and n != clean):
                await self.run_case(fault, "ideal" if k % 2 == 0 else "random")
                await self.run_case(clean, "random")


class NpuCsrSeq(NpuBaseSeq):
    """Control-register behaviours; each check is published as a CsrObs."""

    def check(self, name: str, ok: bool, message: str = "") -> bool:
        self.ap.write(CsrObs(name, bool(ok), "" if ok else message))
        return bool(ok)

    async def rd(self, reg) -> int:
        return await RegSeq.read(self.seqr, reg)

    async def wr(self, reg, value: int) -> int:
        return await RegSeq.write(self.seqr, reg, value)

    async def body(self):
        self.setup()
        idx, dut = self.index, self.dut
        aw = int(idx.get("AXI_ADDR_WIDTH", 32))
        regs = {r.name: r for r in csr.REGISTERS}
        # ---- identity and reset values ----
        ident = await self.rd("ID")
        self.check("id", ident == csr.ID_VALUE, f"ID reads 0x{ident:08x}, expected 0x{csr.ID_VALUE:08x}")
        shape = await self.rd("SHAPE")
        want = idx["ARRAY_N"] | idx["ARRAY_M"] << 16
        self.check("shape", shape == want, f"SHAPE reads 0x{shape:08x}, expected 0x{want:08x} (N | M << 16)")
        bad = []
        reset_state = await self.rd("STATE")
        for r in csr.REGISTERS:
            if r.name in ("ID", "SHAPE", "STATE"):
                continue
            v = await self.rd(r.name)
            if v:
                bad.append(f"{r.name} = 0x{v:x}")
        for name in COUNTER_NAMES:
            for k in (0, 4):
                v = await self.rd(csr.counter_offset(name) + k)
                if v:
                    bad.append(f"counter {name}{'.hi' if k else ''} = {v}")
        self.check("reset_values", not bad, "registers not 0 after reset: " + ", ".join(bad))
        self.check("irq_masked", int(dut.irq.value) == 0, "irq is high after reset")
        # ---- read/write registers ----
        bad = []
        for name in ("PROG_ADDR_LO", "PROG_ADDR_HI", "PROG_WORDS", "DATA_BASE_LO", "DATA_BASE_HI", "TIMEOUT"):
            for pattern in (0xA5A5A5A4, 0x5A5A5A58, 0xFFFFFFFC, 0):
                await self.wr(name, pattern)
                v = await self.rd(name)
                ok = v == pattern
                if name.endswith("_HI"):  # bits above AXI_ADDR_WIDTH may be dropped
                    ok = ok or v == pattern & ((1 << max(aw - 32, 0)) - 1)
                if not ok:
                    bad.append(f"{name}: wrote 0x{pattern:08x}, read 0x{v:08x}")
        self.check("rw_readback", not bad, "; ".join(bad[:4]))
        # ---- read-only registers ignore writes ----
        bad = []
        for name in ("ID", "SHAPE", "ERR_CAUSE", "ERR_PC", "ERR_WORD", "PC", "STATE"):
            if regs[name].access != "ro":
                continue
            old = await self.rd(name)
            await self.wr(name, ~old & 0xFFFFFFFF)
            v = await self.rd(name)
            if v != old:
                bad.append(f"{name}: 0x{old:x} became 0x{v:x} after a write")
        self.check("ro_ignored", not bad, "; ".join(bad))
        # ---- unmapped offsets answer (OKAY or an error response), never hang ----
        used = {r.offset for r in csr.REGISTERS}
        probe = next(a for a in range(0, csr.COUNTER_BASE, 4) if a not in used)
        item = await RegSeq.access(self.seqr, AxilItem("rd", False, probe))
        wr = await RegSeq.access(self.seqr, AxilItem("wr", True, probe, 0xFFFFFFFF))
        self.ap.write(CsrObs("unmapped", item.resp is not None and wr.resp is not None,
                             f"unmapped offset 0x{probe:x}: read response {item.resp}, data 0x{item.data:x}; "
                             f"write response {wr.resp}"))

        # ---- a run without IRQ_ENABLE: BUSY while running, START self-clears, irq stays low ----
        clean = next((c["name"] for c in idx["cases"] if c["suite"] in ("errors", "ops") and not c["name"].startswith("err_")), None)
        failing = next((c["name"] for c in idx["cases"] if c["name"].startswith("err_illegal")), None)
        if clean is None:
            return
        case, initial, _ = load_case(self.cases, clean)
        self.dram.clear(FILL)
        self.dram.load(0, initial)
        self.mem.set_mode("ideal")
        await self.wr("PROG_ADDR_LO", case.program_address)
        await self.wr("PROG_ADDR_HI", 0)
        await self.wr("PROG_WORDS", case.program_words)
        await self.wr("DATA_BASE_LO", 0)
        await self.wr("DATA_BASE_HI", 0)
        await self.wr("TIMEOUT", 0)
        await self.wr("CTRL", 1 << csr.CTRL_START)
        st = await self.rd("STATUS")
        ctrl = await self.rd("CTRL")
        self.check("busy", st >> csr.STATUS_BUSY & 1 and not st >> csr.STATUS_DONE & 1,
                   f"STATUS 0x{st:x} right after START: expected BUSY=1, DONE=0")
        self.check("start_self_clear", not ctrl >> csr.CTRL_START & 1, f"CTRL reads 0x{ctrl:x}: START did not clear")
        for _ in range(20000):
            st = await self.rd("STATUS")
            if st >> csr.STATUS_DONE & 1:
                break
            await ClockCycles(dut.clk, 16)
        done = bool(st >> csr.STATUS_DONE & 1)
        self.check("irq_masked", done and int(dut.irq.value) == 0,
                   f"STATUS 0x{st:x}, irq {int(dut.irq.value)}: expected DONE with irq low (IRQ_ENABLE = 0)")
        # writing 0 keeps DONE; writing the DONE bit clears it
        await self.wr("STATUS", 0)
        st0 = await self.rd("STATUS")
        self.check("write0_keeps", st0 >> csr.STATUS_DONE & 1, f"STATUS 0x{st0:x} after writing 0: DONE was cleared")
        await self.wr("CTRL", 1 << csr.CTRL_IRQ_ENABLE)  # no START: does a pending DONE raise irq? (reported)
        await ClockCycles(dut.clk, 2)
        self.ap.write(CsrObs("irq_enable", True, f"(note) irq = {int(dut.irq.value)} when IRQ_ENABLE is set while "
                                                 "DONE is pending"))
        await self.wr("STATUS", 1 << csr.STATUS_DONE)
        st1 = await self.rd("STATUS")
        await ClockCycles(dut.clk, 2)
        self.check("w1c_done", not st1 >> csr.STATUS_DONE & 1, f"STATUS 0x{st1:x} after writing 1 to DONE")
        self.check("irq_clear", int(dut.irq.value) == 0, "irq still high after DONE was cleared")
        state_idle = await self.rd("STATE")
        self.check("reset_values", state_idle == reset_state,
                   f"STATE reads {state_idle} when idle after a run, {reset_state} after reset")
        # ---- irq with IRQ_ENABLE on a failing run; w1c of ERROR alone ----
        if failing is None:
            return
        fcase, finit, _ = load_case(self.cases, failing)
        self.dram.clear(FILL)
        self.dram.load(0, finit)
        req = NpuRunRequest(fcase.program_address, fcase.program_words, 0, 0, True, 100_000, 0, clear=False)
        out = await NpuRunSeq.run(self.seqr, req)
        self.check("irq_enable", out.irq_seen and out.error, f"failing run: irq seen {out.irq_seen}, "
                   f"STATUS 0x{out.status:x}")
        await self.wr("STATUS", 1 << csr.STATUS_ERROR)
        st2 = await self.rd("STATUS")
        self.check("w1c_error", not st2 >> csr.STATUS_ERROR & 1 and st2 >> csr.STATUS_DONE & 1,
                   f"STATUS 0x{st2:x} after writing 1 to ERROR only: expected ERROR=0, DONE=1")
        cause = await self.rd("ERR_CAUSE")
        self.check("w1c_error", cause == fcase.error["code"],
                   f"ERR_CAUSE {cause} after clearing STATUS.ERROR; it names the last failed run "
                   f"({fcase.error['code']})")
        await self.wr("STATUS", 1 << csr.STATUS_DONE)
        await ClockCycles(dut.clk, 2)
        self.check("irq_clear", int(dut.irq.value) == 0, "irq still high after DONE was cleared")


__all__ = ["NpuAxiErrorSeq", "NpuBaseSeq", "NpuCnnSeq", "NpuCsrSeq", "NpuErrorSeq", "NpuOpsSeq", "dram_bytes_needed"]
