"""Components of the SIMD engine environment.

- ImemModel / ObufModel: the IMEM and OBUF read ports answered from Python arrays with the 1-cycle latency
  of docs/npu.md (address sampled in cycle c, data driven right after the rising edge ending c).
- CaseDriver: runs one case on the DUT: run_start, a preamble group (IMM and VMEM1/VMEM2 loaded through the
  engine's own transfers from a DRAM scratch area), the case's group, and for a group that succeeds a
  postamble group that stores VMEM1/VMEM2 back to the scratch area; counts cycles and counter increments.
- Scoreboard: DRAM bytes, VMEM1/VMEM2 after the group, byte counters and busy cycles against the simulator,
  or error cause and instruction against the simulator's error.
"""

from __future__ import annotations

import random

import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge
from pyuvm import ConfigDB, uvm_component, uvm_driver

from genesys.isa import assemble_line

from .common import RAM_SIZE
from .coverage import Coverage


class ImemModel:
    def __init__(self, dut, depth: int):
        self.dut, self.words = dut, [0] * depth

    async def run(self):
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            re, addr = int(dut.imem_re.value), int(dut.imem_raddr.value)
            await RisingEdge(dut.clk)
            if re:
                dut.imem_rdata.value = self.words[addr]


class ObufModel:
    def __init__(self, dut, arch):
        self.dut, self.acc, self.m = dut, arch.ACC_WIDTH, arch.ARRAY_M
        self.rows: list[int] = [0] * arch.buffers["OBUF"].depth

    def load(self, obuf: np.ndarray) -> None:
        mask = (1 << self.acc) - 1
        self.rows = [sum((int(v) & mask) << (self.acc * j) for j, v in enumerate(row)) for row in obuf]

    async def run(self):
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            re, addr = int(dut.obuf_re.value), int(dut.obuf_raddr.value)
            await RisingEdge(dut.clk)
            if re:
                dut.obuf_rdata.value = self.rows[addr]


def _xfer_words(arch, direction: str, ns: str, dram: int) -> list[int]:
    """One transfer of a whole VMEM (32-bit elements) at DRAM offset `dram`."""
    L, vd = arch.SIMD_LANES, arch.buffers["VMEM"].depth
    rows = vd
    while 4 * L * rows > 32768:
        rows //= 2
    req, count = 4 * L * rows, vd // rows
    p = direction
    return [assemble_line(x) for x in (
        f"{p}_CONFIG_BASE_ADDR LSB, {ns}, 0, {dram & 0xFFFF}", f"{p}_CONFIG_BASE_ADDR MSB, {ns}, 0, {dram >> 16}",
        f"{p}_CONFIG_BASE_LOOP_ITER 0, {ns}, 0, {count - 1}",
        f"{p}_CONFIG_BASE_LOOP_STRIDE LSB, {ns}, 0, {req & 0xFFFF}",
        f"{p}_CONFIG_BASE_LOOP_STRIDE MSB, {ns}, 0, {req >> 16}",
        f"{p}_CONFIG_TILE_ADDR LSB, {ns}, 0, 0", f"{p}_START 0, {ns}, 31, {req}")]


class CaseDriver(uvm_driver):
    """Drives cases (sequence items holding a reference.Case) and sends (case, observed) to the scoreboard."""

    def build_phase(self):
        from pyuvm import uvm_analysis_port
        self.ap = uvm_analysis_port("ap", self)

    def start_of_simulation_phase(self):
        self.dut = ConfigDB().get(self, "", "DUT")
        self.arch = ConfigDB().get(self, "", "ARCH")
        self.imem: ImemModel = ConfigDB().get(self, "", "IMEM")
        self.obuf: ObufModel = ConfigDB().get(self, "", "OBUF")
        self.rng = random.Random(ConfigDB().get(self, "", "SEED"))
        self.cycles = 0

    async def group(self, pc: int, num: int, limit: int = 400_000) -> dict:
        dut = self.dut
        dut.pc.value, dut.num.value, dut.start.value = pc, num, 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        obs = {"cycles": 0, "busy": 0, "stall": 0, "instr": 0, "bytes": {"VMEM1": [0, 0], "VMEM2": [0, 0]}}
        while True:
            await FallingEdge(dut.clk)
            obs["cycles"] += 1
            obs["busy"] += int(dut.perf_simd_busy.value)
            obs["stall"] += int(dut.perf_simd_stall.value)
            obs["instr"] += int(dut.perf_instr.value)
            for ns, k in (("VMEM1", 1), ("VMEM2", 2)):
                obs["bytes"][ns][0] += int(getattr(dut, f"perf_vmem{k}_ld_bytes").value)
                obs["bytes"][ns][1] += int(getattr(dut, f"perf_vmem{k}_st_bytes").value)
            if int(dut.done.value):
                obs["err"] = int(dut.err.value)
                obs["err_cause"] = int(dut.err_cause.value)
                obs["err_pc"] = int(dut.err_pc.value)
                await RisingEdge(dut.clk)
                return obs
            if obs["cycles"] > limit:
                raise AssertionError(f"group at IMEM {pc} ({num} words) not done after {limit} cycles")

    async def run_phase(self):
        dut, arch = self.dut, self.arch
        ram = None
        L, vd = arch.SIMD_LANES, arch.buffers["VMEM"].depth
        vbytes = vd * L * 4
        while True:
            item = await self.seq_item_port.get_next_item()
            case = item.case
            if ram is None:
                ram = ConfigDB().get(self, "", "RAM")
            size = (case.dram.size + 4095) // 4096 * 4096
            scr1, scr2 = size, size + vbytes
            top = RAM_SIZE - (size + 2 * vbytes)
            data_base = self.rng.choice((0, self.rng.randrange(0, top, 64)))
            dut.data_base.value = data_base
            ram.write(data_base, case.dram.tobytes())
            ram.write(data_base + scr1, case.vmem1.astype("<i4").tobytes())
            ram.write(data_base + scr2, case.vmem2.astype("<i4").tobytes())
            self.obuf.load(case.obuf)
            pre = []
            for k, v in enumerate(case.imm.tolist()):
                v &= 0xFFFFFFFF
                pre += [assemble_line(f"SET_IMM_LOW IMM, {k}, {v & 0xFFFF}"), assemble_line(f"SET_IMM_HIGH IMM, {k}, {v >> 16}")]
            pre += _xfer_words(arch, "LD", "VMEM1", scr1) + _xfer_words(arch, "LD", "VMEM2", scr2)
            post = _xfer_words(arch, "ST", "VMEM1", scr1) + _xfer_words(arch, "ST", "VMEM2", scr2)
            depth = len(self.imem.words)
            n = len(case.words)
            pc = self.rng.randrange(len(pre), depth - n - len(post))
            words = self.imem.words
            words[0:len(pre)] = pre
            words[pc:pc + n] = case.words
            words[pc + n:pc + n + len(post)] = post
            dut.run_start.value = 1
            await RisingEdge(dut.clk)
            dut.run_start.value = 0
            r = await self.group(0, len(pre))
            assert not r["err"], f"{case.name}: the preamble group failed (cause {r['err_cause']}, pc {r['err_pc']})"
            obs = await self.group(pc, n)
            obs["pc"] = pc
            if not obs["err"]:
                r = await self.group(pc + n, len(post))
                assert not r["err"], f"{case.name}: the postamble group failed (cause {r['err_cause']})"
                obs["dram"] = np.frombuffer(ram.read(data_base, case.dram.size), np.uint8)
                obs["vmem1"] = np.frombuffer(ram.read(data_base + scr1, vbytes), "<i4").reshape(vd, L)
                obs["vmem2"] = np.frombuffer(ram.read(data_base + scr2, vbytes), "<i4").reshape(vd, L)
            self.cycles += obs["cycles"]
            self.ap.write((case, obs))
            self.seq_item_port.item_done()


def _dump(case, obs, msg: str) -> str:
    """A failing case for the report: the message, the group's disassembly, the rows that differ."""
    from genesys.isa import disassemble_word

    out = [msg, f"  IMEM pc {obs.get('pc')}, cycles {obs['cycles']}"]
    out += [f"  {i:3d}  {disassemble_word(w)}" for i, w in enumerate(case.words)]
    for ns in ("vmem1", "vmem2"):
        got, want = obs.get(ns), getattr(case, f"{ns}_after")
        if got is not None and want is not None:
            for r in np.flatnonzero(np.any(got != want, axis=1))[:8]:
                out.append(f"  {ns} row {r}: DUT {[hex(int(x) & 0xFFFFFFFF) for x in got[r]]} "
                           f"sim {[hex(int(x) & 0xFFFFFFFF) for x in want[r]]} before {[hex(int(x) & 0xFFFFFFFF) for x in getattr(case, ns)[r]]}")
    return "\n".join(out)


class Scoreboard(uvm_component):
    def build_phase(self):
        from pyuvm import uvm_tlm_analysis_fifo
        self.fifo = uvm_tlm_analysis_fifo("fifo", self)
        self.export = self.fifo.analysis_export
        self.coverage = Coverage()
        self.checked = 0
        self.failures: list[str] = []
        self.rows = 0
        self.compute_cycles = 0
        self.failed_cases: list[str] = []

    def check(self, case, obs) -> None:
        self.coverage.case(case)
        self.coverage.pipe(case, obs["stall"])
        bad = []
        if case.error is not None:
            cause, index = case.error
            if not obs["err"]:
                bad.append(f"expected error cause {cause} at body word {index}, the DUT succeeded")
            elif (obs["err_cause"], obs["err_pc"] - obs["pc"]) != (cause, index):
                bad.append(f"error cause/word {obs['err_cause']}/{obs['err_pc'] - obs['pc']}, simulator {cause}/{index}")
        else:
            if obs["err"]:
                bad.append(f"the DUT failed (cause {obs['err_cause']} at body word {obs['err_pc'] - obs['pc']}), "
                           "the simulator ran the group")
            else:
                diff = np.flatnonzero(obs["dram"] != case.dram_after)
                if diff.size:
                    a = int(diff[0])
                    bad.append(f"{diff.size} DRAM bytes differ, first at 0x{a:x}: DUT {obs['dram'][a]}, simulator "
                               f"{case.dram_after[a]}")
                for ns, got, want in (("VMEM1", obs["vmem1"], case.vmem1_after), ("VMEM2", obs["vmem2"], case.vmem2_after)):
                    d = np.argwhere(got != want)
                    if d.size:
                        r, lane = (int(x) for x in d[0])
                        bad.append(f"{len(d)} {ns} words differ, first row {r} lane {lane}: DUT 0x{int(got[r, lane]) & 0xFFFFFFFF:08x}, "
                                   f"simulator 0x{int(want[r, lane]) & 0xFFFFFFFF:08x}")
                if obs["bytes"] != case.bytes:
                    bad.append(f"byte counters {obs['bytes']}, simulator {case.bytes}")
                if obs["busy"] != case.busy:
                    bad.append(f"perf_simd_busy {obs['busy']}, simulator simd_busy {case.busy}")
                if obs["instr"] != len(case.words):
                    bad.append(f"perf_instr {obs['instr']}, group words {len(case.words)}")
                self.rows += case.busy
                self.compute_cycles += obs["busy"] + obs["stall"]
        self.checked += 1
        if bad:
            msg = f"{case.name}: " + "; ".join(bad)
            self.failures.append(msg)
            self.logger.error(msg)
            self.failed_cases.append(_dump(case, obs, msg))

    async def run_phase(self):
        while True:
            case, obs = await self.fifo.get()
            self.check(case, obs)
