"""Components of the NPU environment: the observations the sequences publish (a finished program run, a
control-register check), the scoreboard and the coverage collector.

A run is checked against its case (cases.py): the end (DONE, BUSY low, ERROR as expected, irq when enabled,
STATUS clear after the w1c write), for a failing case ERR_CAUSE / ERR_PC / ERR_WORD (program errors: the
simulator's SimulationError index and word; AXI faults: the AXI address of a burst the memory answered with
that error, and an ERR_PC naming a transfer instruction), the DRAM against the simulator's bit for bit (and
the bytes outside the case's image untouched), the counters that count work exactly, the store bytes seen on
the AXI write ports against the store counters, and no AXI rule violation. Timing counters and per-layer
cycles are reported against the simulator's timing model, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyuvm import ConfigDB, uvm_subscriber

from genesys.isa.status import ERROR_BY_CODE, STATUS_DONE, STATUS_ERROR
from genesys.verif.agents.axil import NpuRunOutcome

from . import coverage as cov
from .common import Case, write_report
from .reference import TIMING_TOLERANCE, compare_counters, dram_diff, is_transfer_word, layer_cycles

MASK32 = 0xFFFFFFFF


@dataclass
class NpuRun:
    """One finished program run with everything needed to check it."""

    case: Case
    label: str                    # case name + scenario (mode, relocation, ...)
    mode: str
    base: int                     # DATA_BASE (and where the image was placed)
    use_irq: bool
    outcome: NpuRunOutcome
    words: np.ndarray             # the program words
    expect_final: np.ndarray      # the simulator's DRAM (case image coordinates)
    got_final: np.ndarray         # the memory after the run, same coordinates
    outside_changed: int = 0      # bytes outside [base, base + image) that changed
    traffic: dict = field(default_factory=dict)        # per-port monitor counts of this run
    error_bursts: list = field(default_factory=list)   # (port, R/W, address, resp) answered with an error
    scenarios: tuple[str, ...] = ()                    # run:* coverage bins this run exercises
    check_dram: bool = True
    stalled_addrs: list = field(default_factory=list)  # bursts in flight on a stalled port when the run ended


@dataclass
class CsrObs:
    """One control-register behaviour checked by the CSR sequence."""

    bin: str
    passed: bool
    message: str = ""


def _cause_name(code: int) -> str:
    e = ERROR_BY_CODE.get(code)
    return e.name if e else f"unknown cause {code}"


class NpuScoreboard(uvm_subscriber):
    def build_phase(self):
        self.test_name = ConfigDB().get(self, "", "TEST_NAME")
        self.checked = 0
        self.failures: list[str] = []
        self.runs: list[dict] = []
        self.csr: list[dict] = []

    def write(self, obs):
        self.checked += 1
        if isinstance(obs, CsrObs):
            self.csr.append({"bin": obs.bin, "passed": obs.passed, "message": obs.message})
            if not obs.passed:
                self.failures.append(f"CSR {obs.bin}: {obs.message}")
            return
        msgs, report = self.check_run(obs)
        report["passed"] = not msgs
        report["messages"] = msgs
        self.runs.append(report)
        self.failures += [f"{obs.label}: {m}" for m in msgs]
        state = "ok" if not msgs else "FAILED: " + "; ".join(msgs[:3])
        cycles = "hung" if obs.outcome.hung else f"{obs.outcome.cycles} cycles (simulator {obs.case.sim_cycles})"
        self.logger.info(f"{obs.label}: {cycles}, {state}")

    def check_run(self, r: NpuRun) -> tuple[list[str], dict]:
        o, case = r.outcome, r.case
        msgs: list[str] = []
        rep: dict = {"label": r.label, "case": case.name, "mode": r.mode, "base": r.base,
                     "cycles": None if o.hung else o.cycles,
                     "sim_cycles": case.sim_cycles, "status": o.status, "err_cause": o.err_cause,
                     "err_pc": o.err_pc, "err_word": o.err_word, "traffic": r.traffic}
        if o.hung:
            return [o.hang_report], rep
        if not o.done:
            msgs.append(f"STATUS 0x{o.status:x}: DONE is not set at the end of the run")
        if o.busy:
            msgs.append(f"STATUS 0x{o.status:x}: BUSY still set after DONE")
        if r.use_irq and not o.irq_seen:
            msgs.append("irq did not rise although CTRL.IRQ_ENABLE was set")
        if o.status_after_clear is not None and o.status_after_clear & (1 << STATUS_DONE | 1 << STATUS_ERROR):
            msgs.append(f"STATUS 0x{o.status_after_clear:x} after writing 1 to DONE and ERROR (w1c)")
        want = case.error
        if want is None:
            if o.error:
                msgs.append(f"the run failed with ERR_CAUSE {o.err_cause} ({_cause_name(o.err_cause)}), "
                            f"ERR_PC {o.err_pc}, ERR_WORD 0x{o.err_word:08x}; the simulator runs it cleanly")
        else:
            msgs += self._check_error(r, want)
        if r.check_dram and not (want is None and o.error):
            d = dram_diff(r.got_final, r.expect_final, r.base, case.outputs)
            if d is not None:
                where = f" in {', '.join(d['regions'])}" if d["regions"] else ""
                msgs.append(f"DRAM differs from the simulator in {d['bytes']} bytes{where}; first (addr, sim, rtl): "
                            f"{d['first']}")
            if r.outside_changed:
                msgs.append(f"{r.outside_changed} DRAM bytes outside the program's image changed")
        if want is None and not o.error:
            fails, table = compare_counters(o.counters, case.counters)
            msgs += fails
            rep["counters"] = table
            msgs += self._check_traffic(r)
            if o.counters.get("cycles") and o.cycles:
                rep["cycles_counter_vs_measured"] = int(o.counters["cycles"]) - o.cycles
            if case.layers:
                rep["layers"] = layer_cycles(case.layers, o.pc_samples, o.cycles, len(r.words))
            rep["pc_samples"] = o.pc_samples
        return msgs, rep

    def _check_error(self, r: NpuRun, want: dict) -> list[str]:
        o = r.outcome
        msgs = []
        if not o.error:
            return [f"the run ended without ERROR; expected {want['cause']} (code {want['code']})"]
        if o.err_cause != want["code"]:
            msgs.append(f"ERR_CAUSE {o.err_cause} ({_cause_name(o.err_cause)}), expected {want['code']} ({want['cause']})")
        fault = r.case.axi_fault
        if fault is None:  # a program error: PC and word from the simulator
            if want.get("index") is not None and o.err_pc != want["index"]:
                msgs.append(f"ERR_PC {o.err_pc}, expected {want['index']} (the simulator's instruction index)")
            if want.get("word") is not None and o.err_word != want["word"]:
                msgs.append(f"ERR_WORD 0x{o.err_word:08x}, expected 0x{want['word']:08x}")
        elif fault["kind"] == "resp":
            addrs = sorted({a & MASK32 for _, _, a, resp in r.error_bursts if resp == fault["resp"]})
            if not addrs:
                msgs.append("the memory answered no burst with the injected error (the fault range was not touched)")
            elif o.err_word not in addrs:
                msgs.append(f"ERR_WORD 0x{o.err_word:08x} is not the address of a burst answered with "
                            f"{_cause_name(want['code'])}: {[hex(a) for a in addrs[:8]]}")
            if not fault.get("fetch"):
                if not 0 <= o.err_pc < len(r.words):
                    msgs.append(f"ERR_PC {o.err_pc} is outside the program ({len(r.words)} words)")
                elif not is_transfer_word(int(r.words[o.err_pc])):
                    msgs.append(f"ERR_PC {o.err_pc} names word 0x{int(r.words[o.err_pc]):08x}, not a transfer "
                                "instruction (LD_ST, LD_START, ST_START)")
        elif fault["kind"] == "stall":
            addrs = sorted({a & MASK32 for a in r.stalled_addrs})
            if addrs and o.err_word not in addrs:
                msgs.append(f"ERR_WORD 0x{o.err_word:08x} is not the address of a burst stuck on the stalled "
                            f"{fault['port']} port: {[hex(a) for a in addrs[:8]]}")
            if not 0 <= o.err_pc < len(r.words):
                msgs.append(f"ERR_PC {o.err_pc} is outside the program ({len(r.words)} words)")
        return msgs

    def _check_traffic(self, r: NpuRun) -> list[str]:
        """Bytes written with their strobes on each store port equal the store counters."""
        c, t = r.outcome.counters, r.traffic
        msgs = []
        for port, names in (("obuf", ("obuf_store_bytes",)), ("simd", ("vmem1_store_bytes", "vmem2_store_bytes"))):
            if port in t:
                want = sum(int(c.get(n, 0)) for n in names)
                if t[port]["write_bytes"] != want:
                    msgs.append(f"{port} port: {t[port]['write_bytes']} strobed bytes written on AXI, the counters "
                                f"say {want} ({' + '.join(names)})")
        return msgs

    def check_phase(self):
        mem = ConfigDB().get(self, "", "AXI_MEM")
        violations = mem.violations() if mem is not None else []
        if violations:
            self.failures.append(f"AXI rule violations ({len(violations)}): " + "; ".join(violations[:5]))
        timing = [(r["label"], n, v["pct"]) for r in self.runs for n, v in r.get("counters", {}).items()
                  if not v["exact"] and not v["within"]]
        write_report(self.test_name, "scoreboard", {
            "checked": self.checked, "failures": len(self.failures), "messages": self.failures[:50],
            "timing_tolerance_pct": 100 * TIMING_TOLERANCE, "timing_outside_tolerance": timing,
            "runs": self.runs, "csr": self.csr})
        assert not self.failures, f"{len(self.failures)} failure(s); first: {self.failures[0]}"
        assert self.checked > 0, "the scoreboard checked nothing"


class NpuCoverage(uvm_subscriber):
    def build_phase(self):
        self.test_name = ConfigDB().get(self, "", "TEST_NAME")
        self.hits: dict[str, int] = {}

    def write(self, obs):
        h = self.hits
        if isinstance(obs, CsrObs):
            if obs.passed:
                cov.add(h, f"csr:{obs.bin}")
            return
        o = obs.outcome
        if o.hung:
            return
        cov.add(h, f"timing:{obs.mode}")
        if obs.case.error is None and not o.error:
            for op in obs.case.ops:
                if f"op:{op}" in cov.BINS:
                    cov.add(h, f"op:{op}")
        if o.error and o.err_cause in ERROR_BY_CODE and ERROR_BY_CODE[o.err_cause].name != "NONE" \
                and obs.case.error is not None and o.err_cause == obs.case.error["code"]:
            cov.add(h, f"cause:{ERROR_BY_CODE[o.err_cause].name}")
        for port, s in obs.traffic.items():
            if s.get("read_bursts") and f"port:{port}:read" in cov.BINS:
                cov.add(h, f"port:{port}:read")
            if s.get("write_bursts") and f"port:{port}:write" in cov.BINS:
                cov.add(h, f"port:{port}:write")
            for cls, n in s.get("lengths", {}).items():
                if f"burst:{cls}" in cov.BINS:
                    cov.add(h, f"burst:{cls}", n)
        cov.add(h, "run:irq" if obs.use_irq else "run:poll")
        for s in obs.scenarios:
            cov.add(h, f"run:{s}")

    def extract_phase(self):
        write_report(self.test_name, "coverage", cov.summarize(self.hits))


__all__ = ["CsrObs", "NpuCoverage", "NpuRun", "NpuScoreboard"]
