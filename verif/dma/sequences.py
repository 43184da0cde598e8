"""Sequences of transfer descriptors: random (strides of any sign, request sizes of any alignment,
4 KiB crossings), corners (single byte, exact and over-long max bursts, page-spanning requests, empty
transfer, overlapping stores) and error injection (transfers touching the SLVERR page)."""

from __future__ import annotations

import random

from pyuvm import ConfigDB, uvm_sequence

from .common import ERROR_PAGE, items_default
from .components import DmaItem
from .reference import BOUNDARY, Descriptor, footprint

LIMIT = ERROR_PAGE  # clean transfers stay in [0, ERROR_PAGE)
MAX_BYTES = 3 * 4096  # bytes of one random transfer (keeps a run short)


class DmaBaseSeq(uvm_sequence):
    default_items = 60

    def setup(self):
        self.p = ConfigDB().get(None, "", "PARAMS")
        self.rng = random.Random(ConfigDB().get(None, "", "SEED"))
        self.n_items = items_default(self.default_items)

    def place(self, iters, strides, req, lo=0, hi=LIMIT, near_page=False) -> int:
        """A base address that keeps every request inside [lo, hi)."""
        probe = Descriptor(False, 0, iters, strides, req)
        f_lo, f_hi = footprint(probe)
        a_min, a_max = lo - f_lo, hi - f_hi
        assert a_min <= a_max, (iters, strides, req)
        if near_page:  # start a little before a 4 KiB boundary so requests cross it
            page = self.rng.randrange(a_min // BOUNDARY + 1, a_max // BOUNDARY + 1)
            a = page * BOUNDARY - self.rng.randint(1, min(req, 64))
            return min(max(a, a_min), a_max)
        return self.rng.randint(a_min, a_max)

    async def send(self, store: bool, addr: int, iters, strides, req: int, ready_prob: float | None = None):
        d = Descriptor(store, addr, list(iters), list(strides), req)
        data = bytes(self.rng.getrandbits(8) for _ in range(d.n_bytes)) if store else b""
        item = DmaItem("item", d, data, self.rng.choice([1.0, 1.0, 0.7, 0.4]) if ready_prob is None else ready_prob)
        await self.start_item(item)
        await self.finish_item(item)
        return item

    def random_desc(self):
        rng, bpb = self.rng, self.p.bytes_per_beat
        req = rng.choice([1, rng.randint(1, bpb), rng.randint(1, 4 * bpb), rng.randint(1, 700),
                          rng.randint(1, 2 * 4096), bpb * rng.randint(1, 8)])
        levels = rng.randint(0, 4)
        iters, strides = [1] * 4, [0] * 4
        budget = max(1, MAX_BYTES // req)
        for k in rng.sample(range(4), levels):
            n = rng.randint(2, 4)
            if n * self._count(iters) > budget:
                continue
            iters[k] = n
            strides[k] = rng.choice([req, -req, rng.randint(-3 * req - 64, 3 * req + 64), 0, 4096,
                                     rng.randint(-20000, 20000)])
        return iters, strides, req

    @staticmethod
    def _count(iters) -> int:
        out = 1
        for i in iters:
            out *= i
        return out


class DmaRandomSeq(DmaBaseSeq):
    default_items = 60

    async def body(self):
        self.setup()
        for _ in range(self.n_items):
            iters, strides, req = self.random_desc()
            addr = self.place(iters, strides, req, near_page=self.rng.random() < 0.3)
            await self.send(self.rng.random() < 0.5, addr, iters, strides, req)


class DmaCornerSeq(DmaBaseSeq):
    async def body(self):
        self.setup()
        bpb, mb = self.p.bytes_per_beat, self.p.MAX_BURST_BEATS
        one = ([1, 1, 1, 1], [0, 0, 0, 0])
        for store in (False, True):
            await self.send(store, 0x1234, *one, 1)                       # single byte
            await self.send(store, 0x2000, *one, 0)                       # empty transfer: status only
            await self.send(store, 0x10000, *one, min(mb * bpb, 4096))    # longest aligned burst
            await self.send(store, 0x10000 + 3, *one, min(mb * bpb, 4096))  # unaligned: one more burst
            await self.send(store, 0x20000 - 5, *one, 10)                 # 4 KiB crossing, tiny
            await self.send(store, 0x30000 + 1, *one, 3 * 4096)           # request spanning pages
            await self.send(store, 0x40000 + 7, [2, 2, 2, 2], [-1000, 300, -7, 1], 5, ready_prob=0.5)  # 4 levels
            await self.send(store, 0x50000, [1, 1, 1, 6], [0, 0, 0, 3], 8)    # overlapping requests
            await self.send(store, 0x60000 + 2, [1, 1, 3, 1], [0, 0, 0, 0], bpb + 1)  # stride 0: repeats
            await self.send(store, 0x70FF0, [1, 1, 1, 4], [0, 0, 0, -4096], 33, ready_prob=0.3)  # backwards pages


class DmaErrorSeq(DmaBaseSeq):
    """Transfers that touch the SLVERR page report an error with the first failing burst's address and
    still complete; clean transfers in between must report no error."""

    async def body(self):
        self.setup()
        bpb = self.p.bytes_per_beat
        for store in (False, True):
            await self.send(store, ERROR_PAGE + 5, [1, 1, 1, 1], [0, 0, 0, 0], 3 * bpb + 1)
            await self.send(store, ERROR_PAGE - 100, [1, 1, 1, 1], [0, 0, 0, 0], 300)  # good page, then bad
            await self.send(store, ERROR_PAGE - 2 * 4096 + 9, [1, 1, 1, 3], [0, 0, 0, 4096], 64, ready_prob=0.5)
            await self.send(store, 0x3000, [1, 1, 1, 2], [0, 0, 0, 100], 50)  # clean afterwards
        for _ in range(max(4, self.n_items // 4)):
            iters, strides, req = self.random_desc()
            addr = self.place(iters, strides, req, lo=ERROR_PAGE - 8192, hi=ERROR_PAGE + 8192) \
                if footprint(Descriptor(False, 0, iters, strides, req))[1] - \
                footprint(Descriptor(False, 0, iters, strides, req))[0] < 16384 else self.place(iters, strides, req)
            await self.send(self.rng.random() < 0.5, addr, iters, strides, req)
