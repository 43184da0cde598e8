"""The simulator: fetches a program from DRAM block by block, runs its groups in order (the functional
result of docs/isa.md (Semantics)) and schedules every operation on the timing model (section 5)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from genesys.arch import Arch, load_arch
from genesys.errors import GenesysError
from genesys.isa.counters import COUNTER_NAMES, zero_counters
from genesys.sim import sa
from genesys.sim.blas import single_thread
from genesys.sim.decoder import Decoder, Group, fetch_block, parse_block
from genesys.sim.errors import SimulationError
from genesys.sim.simd import SIMDGroup
from genesys.sim.state import MachineState
from genesys.sim.timing import AXI_OF, Timing

DEFAULT_DRAM_BYTES = 1 << 30


@lru_cache(maxsize=16)
def _preset(name: str) -> Arch:
    return load_arch(name)


def _arch(spec: Arch | str | Path) -> Arch:
    """Presets are parsed once per process (they are frozen package data); files are read every time."""
    if isinstance(spec, str) and "/" not in spec and not spec.endswith((".yaml", ".yml")):
        return _preset(spec)
    return load_arch(spec)
DEFAULT_DMA_LATENCY = 100


@dataclass
class GroupRecord:
    """One executed group: where it sits in the program and what it cost."""
    ordinal: int  # position among the groups executed by this run
    number: int  # the group number of its INST_GROUP/SYNC_INST
    engine: str  # "SA" or "SIMD"
    first: int  # instruction index of its START
    last: int  # instruction index of its END
    start_cycle: int = -1
    end_cycle: int = -1
    busy: int = 0  # cycles its engine computed
    stall: int = 0  # cycles its engine waited (data dependencies, OBUF hazards)
    macs: int = 0
    bytes: dict[str, int] = field(default_factory=dict)  # counter name (e.g. ibuf_load_bytes) -> bytes

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SimResult:
    counters: dict[str, int]
    groups: list[GroupRecord]
    cycles: int
    instructions: int
    wall_seconds: float

    def to_dict(self) -> dict:
        return {"cycles": self.cycles, "instructions": self.instructions, "wall_seconds": self.wall_seconds,
                "counters": dict(self.counters), "groups": [g.to_dict() for g in self.groups]}


class _Account:
    """Collects one group's operations into the timing model, the counters and its record."""

    def __init__(self, timing: Timing, counters: dict[str, int], record: GroupRecord):
        self.timing, self.counters, self.record = timing, counters, record

    def _place(self, slot) -> None:
        r = self.record
        r.start_cycle = slot.start if r.start_cycle < 0 else min(r.start_cycle, slot.start)
        r.end_cycle = max(r.end_cycle, slot.end)

    def transfer(self, buffer: str, load: bool, n_bytes: int, beats: int, reads, writes) -> None:
        self._place(self.timing.transfer(buffer, beats, reads, writes))
        name = f"{buffer.lower()}_{'load' if load else 'store'}_bytes"
        self.counters[name] += n_bytes
        self.record.bytes[name] = self.record.bytes.get(name, 0) + n_bytes

    def nest(self, iterations: int, fill_drain: int, hazard: int, macs: int, reads, writes) -> None:
        busy = iterations + fill_drain
        slot = self.timing.schedule("ARRAY", busy + hazard, reads, writes)
        self._place(slot)
        self.counters["array_busy"] += busy
        self.counters["array_stall"] += slot.wait + hazard
        self.counters["macs"] += macs
        self.record.busy += busy
        self.record.stall += slot.wait + hazard
        self.record.macs += macs

    def simd_body(self, busy: int, reads, writes) -> None:
        slot = self.timing.schedule("SIMD", busy + 4, reads, writes)  # + 4: the SIMD pipeline
        self._place(slot)
        self.counters["simd_busy"] += busy
        self.counters["simd_stall"] += slot.wait
        self.record.busy += busy
        self.record.stall += slot.wait


class Simulator:
    """A GeneSys accelerator in software.

        sim = Simulator("16x16")
        sim.load(0x1000, image)            # bytes or a numpy array
        result = sim.run_words(words)      # or sim.load(addr, words) + sim.run(addr)
        out = sim.read(0x8000, 4096)

    Machine state (DRAM, IBUF, WBUF, BBUF, OBUF, VMEM1, VMEM2, IMM) persists across runs; counters are
    per run. `fast_paths=False` forces the general compute-nest path (for cross-checking).
    """

    def __init__(self, arch: Arch | str | Path, dram_bytes: int = DEFAULT_DRAM_BYTES,
                 dma_latency: int = DEFAULT_DMA_LATENCY, fast_paths: bool = True):
        self.arch = _arch(arch)
        if dma_latency < 0:
            raise GenesysError(f"dma_latency must be >= 0 cycles, got {dma_latency}")
        self.state = MachineState(self.arch, int(dram_bytes))
        self.dma_latency = int(dma_latency)
        self.fast_paths = fast_paths
        self._decoder = Decoder()

    # ---- state ----------------------------------------------------------------------------------
    dram = property(lambda self: self.state.dram)
    ibuf = property(lambda self: self.state.ibuf)
    wbuf = property(lambda self: self.state.wbuf)
    bbuf = property(lambda self: self.state.bbuf)
    obuf = property(lambda self: self.state.obuf)
    vmem1 = property(lambda self: self.state.vmem1)
    vmem2 = property(lambda self: self.state.vmem2)
    imm = property(lambda self: self.state.imm)

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        return self.state.buffers

    def load(self, addr: int, data) -> None:
        """Copy bytes (or a numpy array's bytes) into DRAM at `addr`."""
        self.state.load(addr, data)

    def read(self, addr: int, n: int) -> np.ndarray:
        """A copy of n DRAM bytes at `addr` (uint8)."""
        return self.state.read(addr, n)

    # ---- running --------------------------------------------------------------------------------
    def run_words(self, words, program_addr: int = 0, max_instructions: int | None = None) -> SimResult:
        """Load 32-bit words at `program_addr` (little-endian) and run them."""
        data = np.asarray(list(words) if not isinstance(words, np.ndarray) else words, dtype=np.int64)
        if data.size and (data.min() < 0 or data.max() > 0xFFFFFFFF):
            raise GenesysError("program words must be 32-bit unsigned values")
        self.load(program_addr, data.astype("<u4"))
        return self.run(program_addr, max_instructions)

    def run(self, program_addr: int = 0, max_instructions: int | None = None) -> SimResult:
        """Fetch and execute the program at DRAM byte `program_addr` until the block ending in BLOCK_END 1."""
        t0 = time.perf_counter()
        arch = self.arch
        timing = Timing(arch, self.dma_latency, self.state.dram.size)
        counters = zero_counters()
        records: list[GroupRecord] = []
        imem_depth = arch.buffers["IMEM"].depth
        addr, index = program_addr, 0
        with single_thread(), np.errstate(all="ignore"):
            while True:
                words = fetch_block(self.state.dram, addr, index, imem_depth)
                if max_instructions is not None and index + words.size > max_instructions:
                    k = max_instructions - index
                    raise self._decoder.op(max_instructions, int(words[k])).error(
                        f"instruction limit reached: max_instructions = {max_instructions}")
                block = parse_block(self._decoder, words, index)
                timing.fetch_block(block.n_words)
                counters["imem_load_bytes"] += 4 * block.n_words
                for group in block.groups:
                    records.append(self._run_group(group, len(records), timing, counters))
                index += block.n_words
                addr += 4 * block.n_words
                if block.last:
                    break
        counters["instructions"] = index
        counters["groups"] = len(records)
        counters["cycles"] = timing.end
        counters["dma_busy"] = timing.dma_busy()
        assert set(counters) == set(COUNTER_NAMES)
        return SimResult(counters, records, timing.end, index, time.perf_counter() - t0)

    def _run_group(self, group: Group, ordinal: int, timing: Timing, counters: dict[str, int]) -> GroupRecord:
        record = GroupRecord(ordinal, group.number, group.engine, group.start.index, group.end.index)
        account = _Account(timing, counters, record)
        try:
            if group.engine == "SA":
                self._run_sa(group, account)
            else:
                SIMDGroup(self.state, account).run(group)
        except SimulationError:
            raise
        except (ArithmeticError, IndexError, ValueError, TypeError, MemoryError) as e:  # a simulator bug
            raise group.start.error(f"internal simulator error in this group ({type(e).__name__}: {e}); "
                                    "please report it with the program") from e
        if record.start_cycle < 0:  # configuration only: no operation
            record.start_cycle = record.end_cycle = timing.block_ready
        return record

    def _run_sa(self, group: Group, account: _Account) -> None:
        arch, state = self.arch, self.state
        prog = sa.parse_group(group)
        for t in prog.loads:
            self._sa_transfer(t, account)
        if prog.nest is not None:
            r = sa.run_nest(state, prog.nest, self.fast_paths)
            account.nest(r.iterations, arch.ARRAY_N + arch.ARRAY_M, r.stall,
                         r.iterations * arch.ARRAY_N * arch.ARRAY_M, r.reads, r.writes)
        for t in prog.stores:
            self._sa_transfer(t, account)

    def _sa_transfer(self, t: sa.Transfer, account: _Account) -> None:
        bpb = account.timing.bytes_per_beat[AXI_OF[t.buf]]
        r = sa.run_transfer(self.state, t, bpb)
        dram, chip = ("DRAM", r.dram_lo, r.dram_hi), (t.buf, r.row_lo, r.row_hi)
        if t.load:
            account.transfer(t.buf, True, r.n_bytes, r.beats, [dram], [chip])
        else:
            account.transfer(t.buf, False, r.n_bytes, r.beats, [chip], [dram])
