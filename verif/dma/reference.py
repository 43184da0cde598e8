"""Reference model of one DMA transfer: what bytes move, in which order, in which AXI bursts.

The request addresses come from the simulator's own transfer address generation
(:func:`genesys.sim.dma.grid_offsets`, the function ``genesys.sim.sa.run_transfer`` uses), so the RTL is
held to exactly the semantics of docs/isa.md (Semantics 3). The burst split is the engine's documented
rule (docs/dma.md): greedy, each burst as long as allowed by the request's bytes left, the 4 KiB boundary
and MAX_BURST_BEATS beats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genesys.sim import dma as sim_dma

BOUNDARY = sim_dma.BURST_BOUNDARY  # 4096
LOOPS = 4


@dataclass
class Descriptor:
    """One transfer: ``iters[k]`` iterations (>= 1) and ``strides[k]`` signed bytes for loop k (0 outermost)."""

    store: bool
    addr: int
    iters: list[int]
    strides: list[int]
    req: int

    def __post_init__(self) -> None:
        if len(self.iters) != LOOPS or len(self.strides) != LOOPS:
            raise ValueError(f"a descriptor has {LOOPS} loops")
        if any(i < 1 for i in self.iters):
            raise ValueError("every loop runs at least one iteration")

    @property
    def n_requests(self) -> int:
        return int(np.prod(self.iters))

    @property
    def n_bytes(self) -> int:
        return self.n_requests * self.req


@dataclass(frozen=True)
class Burst:
    addr: int      # first byte
    n_bytes: int   # bytes moved
    beats: int     # AXI beats (len + 1)

    def strobes(self, bytes_per_beat: int) -> list[int]:
        """WSTRB of each beat."""
        out, lo, left = [], self.addr % bytes_per_beat, self.n_bytes
        for _ in range(self.beats):
            n = min(bytes_per_beat - lo, left)
            out.append(((1 << n) - 1) << lo)
            left -= n
            lo = 0
        return out


def request_addresses(d: Descriptor) -> np.ndarray:
    """DRAM address of every request, in stream order (the simulator's generator)."""
    return d.addr + sim_dma.grid_offsets(d.iters, d.strides)


def stream_addresses(d: Descriptor) -> np.ndarray:
    """DRAM address of every stream byte, in stream order: descriptor -> [(address of byte s) for s]."""
    a = request_addresses(d)
    return (a[:, None] + np.arange(d.req, dtype=np.int64)).reshape(-1)


def transfer(d: Descriptor) -> list[tuple[int, int]]:
    """(dram address, stream byte index) of every byte of the transfer, in stream order."""
    return [(int(a), s) for s, a in enumerate(stream_addresses(d))]


def split_request(addr: int, n: int, bytes_per_beat: int, max_beats: int) -> list[Burst]:
    out = []
    while n > 0:
        off = addr % bytes_per_beat
        size = min(n, BOUNDARY - addr % BOUNDARY, max_beats * bytes_per_beat - off)
        out.append(Burst(addr, size, -(-(off + size) // bytes_per_beat)))
        addr += size
        n -= size
    return out


def bursts(d: Descriptor, bytes_per_beat: int, max_beats: int = 256) -> list[Burst]:
    """Every burst of the transfer in issue order."""
    if d.req == 0:
        return []
    out: list[Burst] = []
    for a in request_addresses(d).tolist():
        out.extend(split_request(int(a), d.req, bytes_per_beat, max_beats))
    return out


def load_stream(d: Descriptor, dram: bytes | np.ndarray) -> bytes:
    """Bytes a load presents on the stream, given the DRAM image (the simulator's gather)."""
    mem = np.frombuffer(bytes(dram), dtype=np.uint8) if not isinstance(dram, np.ndarray) else dram
    return bytes(sim_dma.gather(mem, request_addresses(d), d.req)) if d.req else b""


def store(d: Descriptor, dram: np.ndarray, stream: bytes) -> None:
    """Apply a store of ``stream`` to the DRAM image in place (the simulator's scatter: later requests win)."""
    if d.req:
        sim_dma.scatter(dram, request_addresses(d), d.req, np.frombuffer(stream, dtype=np.uint8))


def footprint(d: Descriptor) -> tuple[int, int]:
    """[lo, hi) DRAM byte range the transfer touches."""
    a = request_addresses(d)
    return int(a.min()), int(a.max()) + d.req
