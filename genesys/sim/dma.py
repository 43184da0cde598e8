"""DRAM transfers shared by the systolic-array and SIMD engines: request addresses, byte moves, AXI beats.

A transfer is a loop nest of requests; each request moves `req` bytes at `base + sum(index * stride)`.
Everything here is vectorized over the requests.
"""

from __future__ import annotations

import numpy as np

BURST_BOUNDARY = 4096  # an AXI burst never crosses a 4 KiB boundary


_GRID_CACHE: dict[tuple, np.ndarray] = {}
_GRID_CACHE_MAX = 4096


def grid_offsets(counts, strides) -> np.ndarray:
    """sum_k t_k * stride_k for every point t of the nest (lexicographic, first loop outermost), int64.
    The result is shared and read-only (programs repeat the same nests group after group)."""
    key = (tuple(counts), tuple(strides))
    off = _GRID_CACHE.get(key)
    if off is not None:
        return off
    off = np.zeros(1, dtype=np.int64)
    for c, s in zip(key[0], key[1], strict=True):
        if c > 1:
            off = (off[:, None] + np.arange(c, dtype=np.int64) * s).reshape(-1)
    off.flags.writeable = False
    if len(_GRID_CACHE) >= _GRID_CACHE_MAX:
        _GRID_CACHE.clear()
    _GRID_CACHE[key] = off
    return off


def dram_range_problem(addrs: np.ndarray, req: int, dram_size: int) -> str | None:
    """Why the requests fall outside DRAM, or None."""
    lo, hi = int(addrs.min()), int(addrs.max()) + req
    if lo >= 0 and hi <= dram_size:
        return None
    bad = int(np.flatnonzero((addrs < 0) | (addrs + req > dram_size))[0])
    a = int(addrs[bad])
    return (f"request {bad} of the transfer covers DRAM bytes {a}..{a + req - 1}, outside DRAM "
            f"(0..{dram_size - 1}); check the base address and strides")


def _is_dense(addrs: np.ndarray, req: int) -> bool:
    """Requests back to back in increasing order: the transfer is one contiguous DRAM range."""
    return addrs.size == 1 or bool(np.all(np.diff(addrs) == req))


def gather(dram: np.ndarray, addrs: np.ndarray, req: int) -> np.ndarray:
    """The bytes of all requests in order, as one flat uint8 stream."""
    if _is_dense(addrs, req):
        a = int(addrs[0])
        return dram[a:a + req * addrs.size]
    return dram[(addrs[:, None] + np.arange(req, dtype=np.int64)).reshape(-1)]


def scatter(dram: np.ndarray, addrs: np.ndarray, req: int, data: np.ndarray) -> None:
    """Write the stream `data` request by request; where requests overlap the later one wins."""
    if _is_dense(addrs, req):
        a = int(addrs[0])
        dram[a:a + data.size] = data
        return
    order = np.sort(addrs)
    if np.all(np.diff(order) >= req):  # disjoint requests: one vectorized store
        dram[(addrs[:, None] + np.arange(req, dtype=np.int64)).reshape(-1)] = data
        return
    chunks = data.reshape(addrs.size, req)
    for a, chunk in zip(addrs.tolist(), chunks, strict=True):  # overlapping requests: program order
        dram[a:a + req] = chunk


def beats(addrs: np.ndarray, req: int, bytes_per_beat: int) -> int:
    """AXI data beats of the requests: each is split at 4 KiB boundaries (a crossing costs one more burst),
    and a piece that starts at byte offset o of a beat needs ceil((o + bytes) / bytes_per_beat) beats."""
    addrs = np.asarray(addrs, dtype=np.int64)
    first_page = addrs // BURST_BOUNDARY
    last_page = (addrs + req - 1) // BURST_BOUNDARY
    crossing = last_page > first_page
    a = addrs[~crossing]
    total = int(np.sum(-(-(a % bytes_per_beat + req) // bytes_per_beat)))
    if crossing.any():
        a = addrs[crossing]
        pages = last_page[crossing] - first_page[crossing]
        head = BURST_BOUNDARY - a % BURST_BOUNDARY
        tail = a + req - last_page[crossing] * BURST_BOUNDARY  # starts on a page, so on a beat
        full = BURST_BOUNDARY // bytes_per_beat
        total += int(np.sum(-(-(a % bytes_per_beat + head) // bytes_per_beat) + (pages - 1) * full
                            + -(-tail // bytes_per_beat)))
    return total
