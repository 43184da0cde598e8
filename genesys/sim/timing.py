"""The timing model (docs/isa.md, Semantics §5): a list scheduler over operations.

Operations arrive in program order. Each runs on one resource (an AXI interface, the array, the SIMD
unit), in order on that resource, and starts when the resource is free and every earlier operation it
conflicts with has finished. Conflicts are read/write overlaps (RAW, WAR, WAW) of on-chip row ranges and
DRAM byte ranges. Per space we keep, for every row (DRAM: every 256-byte granule), the end time of the
last write and of the last read, so each operation costs O(rows it touches) numpy work, not O(history).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genesys.arch import Arch

DRAM_GRANULE = 256  # bytes per DRAM dependency-tracking cell (ranges are hulls anyway)

# AXI interface of each buffer's transfers (WBUF and BBUF share the parameter interface).
AXI_OF = {"IBUF": "AXI_IBUF", "WBUF": "AXI_PARAM", "BBUF": "AXI_PARAM", "OBUF": "AXI_OBUF",
          "VMEM1": "AXI_SIMD", "VMEM2": "AXI_SIMD"}
RESOURCES = ("AXI_IBUF", "AXI_PARAM", "AXI_OBUF", "AXI_SIMD", "AXI_INSTR", "ARRAY", "SIMD")


@dataclass
class Slot:
    """Where the scheduler put one operation."""
    start: int
    end: int
    wait: int  # cycles between "could run" (resource free, block fetched) and the start


class Timing:
    def __init__(self, arch: Arch, dma_latency: int, dram_bytes: int):
        self.arch = arch
        self.dma_latency = dma_latency
        geo = arch.buffers
        self.bytes_per_beat = {"AXI_IBUF": geo["IBUF"].bytes_per_beat, "AXI_PARAM": geo["WBUF"].bytes_per_beat,
                               "AXI_OBUF": geo["OBUF"].bytes_per_beat, "AXI_SIMD": geo["VMEM"].bytes_per_beat,
                               "AXI_INSTR": geo["IMEM"].bytes_per_beat}
        depth = {"IBUF": geo["IBUF"].depth, "WBUF": geo["WBUF"].depth, "BBUF": geo["BBUF"].depth,
                 "OBUF": geo["OBUF"].depth, "VMEM1": geo["VMEM"].depth, "VMEM2": geo["VMEM"].depth,
                 "DRAM": -(-dram_bytes // DRAM_GRANULE)}
        self.last_write = {k: np.zeros(v, np.int64) for k, v in depth.items()}
        self.last_read = {k: np.zeros(v, np.int64) for k, v in depth.items()}
        self.free = dict.fromkeys(RESOURCES, 0)
        self.block_ready = 0  # the current block's fetch has finished
        self.moving: list[tuple[int, int]] = []  # intervals in which an AXI interface moves data
        self.end = 0

    # ---- operations -----------------------------------------------------------------------------
    def schedule(self, resource: str, duration: int, reads=(), writes=(), moves_from: int | None = None) -> Slot:
        """Place one operation. `moves_from`: cycles after its start at which it begins moving data (AXI)."""
        if writes:  # a read of exactly a range the operation also writes adds no constraint of its own
            writes = list(dict.fromkeys(writes))
            reads = [r for r in dict.fromkeys(reads) if r not in writes]
        cells = []  # (last_write, last_read, a, b, is_write) per range
        ready = 0
        lw_all, lr_all = self.last_write, self.last_read
        for ranges, is_write in ((reads, False), (writes, True)):
            for space, lo, hi in ranges:
                if space == "DRAM":
                    lo, hi = lo // DRAM_GRANULE, -(-hi // DRAM_GRANULE)
                if hi <= lo:
                    continue
                lw, lr = lw_all[space], lr_all[space]
                ready = max(ready, int(lw[lo:hi].max()))  # RAW (and WAW for writes)
                if is_write:
                    ready = max(ready, int(lr[lo:hi].max()))  # WAR
                cells.append((lw, lr, lo, hi, is_write))
        could = max(self.free[resource], self.block_ready)
        start = max(could, ready)
        end = start + duration
        for lw, lr, lo, hi, is_write in cells:
            if is_write:
                lw[lo:hi] = end
            else:
                np.maximum(lr[lo:hi], end, out=lr[lo:hi])
        self.free[resource] = end
        if end > self.end:
            self.end = end
        if moves_from is not None and end > start + moves_from:
            self.moving.append((start + moves_from, end))
        return Slot(start, end, start - could)

    def transfer(self, buffer: str, n_beats: int, reads, writes) -> Slot:
        return self.schedule(AXI_OF[buffer], self.dma_latency + n_beats, reads, writes, moves_from=self.dma_latency)

    def fetch_block(self, n_words: int) -> Slot:
        """Instruction fetch of one block: overlaps the previous block's execution; the block's operations
        start after it."""
        beats = -(-4 * n_words // self.bytes_per_beat["AXI_INSTR"])
        start = self.free["AXI_INSTR"]
        end = start + beats
        self.free["AXI_INSTR"] = end
        self.moving.append((start, end))
        self.block_ready = end
        self.end = max(self.end, end)
        return Slot(start, end, 0)

    def dma_busy(self) -> int:
        """Cycles in which at least one AXI interface moves data (union of the moving intervals)."""
        if not self.moving:
            return 0
        iv = np.array(self.moving, dtype=np.int64)
        iv = iv[np.argsort(iv[:, 0], kind="stable")]
        starts, ends = iv[:, 0], np.maximum.accumulate(iv[:, 1])
        # A new run begins where a start lies beyond every earlier end.
        new_run = np.ones(len(iv), bool)
        new_run[1:] = starts[1:] > ends[:-1]
        run_id = np.cumsum(new_run) - 1
        run_start = starts[new_run]
        run_end = np.zeros(run_start.size, np.int64)
        np.maximum.at(run_end, run_id, ends)
        return int(np.sum(run_end - run_start))
