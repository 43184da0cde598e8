"""Stimulus: the sequence item (one weight matrix and the stream of input vectors that uses it) and the
sequences that build items (random, corner values, identity/permutation weights, all-zero).

Every size and value range comes from the DUT's parameters (ConfigDB "PARAMS"); the corner values are
the ends of the signed ranges of DATA_WIDTH, WGT_WIDTH and ACC_WIDTH.
"""

from __future__ import annotations

import os
import random

import numpy as np
from pyuvm import ConfigDB, uvm_sequence, uvm_sequence_item

from .common import ENV_ITEMS, DutParams
from .reference import signed_range

DEFAULT_RANDOM_ITEMS = 60  # items of SaRandomSeq when neither the runner nor the test says otherwise


class SaItem(uvm_sequence_item):
    """One matrix of weights and the input vectors multiplied with it.

    ``w``          (N, M) weights written to bank address ``bank_addr`` (one array row per cycle), or None
                   to write nothing and load what the bank already holds at ``bank_addr``.
    ``load``       strobe wgt_load (bank ``bank_addr``) before streaming; False keeps the weights in effect.
    ``x``          (T, N) input vectors; ``psum`` (T, M) top-edge partial sums, one row per vector.
    ``load_lead``  idle cycles between the load strobe and the first vector (0: the same cycle).
    ``gaps``       idle cycles before each vector after the first (T entries, the first ignored).
    """

    def __init__(self, name: str = "sa_item"):
        super().__init__(name)
        self.w: np.ndarray | None = None
        self.bank_addr = 0
        self.load = True
        self.x = np.zeros((0, 0), dtype=np.int64)
        self.psum = np.zeros((0, 0), dtype=np.int64)
        self.load_lead = 0
        self.gaps: list[int] = []

    def __str__(self) -> str:
        w = "reuse" if self.w is None else f"{self.w.shape[0]}x{self.w.shape[1]}"
        return (f"{self.get_name()}: w={w} addr={self.bank_addr} load={self.load} vectors={len(self.x)} "
                f"lead={self.load_lead} gaps={sum(self.gaps[1:])}")


class SaSeqBase(uvm_sequence):
    """Shared helpers: parameters, value ranges, a numpy generator seeded from cocotb's seed."""

    async def pre_body(self):
        self.p: DutParams = ConfigDB().get(None, "", "PARAMS")
        p = self.p
        self.N, self.M = p.ARRAY_N, p.ARRAY_M
        self.xr = signed_range(p.DATA_WIDTH)
        self.wr = signed_range(p.WGT_WIDTH)
        self.ar = signed_range(p.ACC_WIDTH)
        # cocotb seeds `random` from RANDOM_SEED; numpy follows it, so a seed reproduces a run.
        self.rng = np.random.default_rng(random.getrandbits(64))
        self.last_addr: int | None = None

    # ---- value helpers --------------------------------------------------------------------------
    def uniform(self, rng: tuple[int, int], shape) -> np.ndarray:
        return self.rng.integers(rng[0], rng[1], size=shape, endpoint=True, dtype=np.int64)

    def corners(self, rng: tuple[int, int]) -> np.ndarray:
        """Corner values of a signed range: lowest, highest, zero, -1, +1."""
        return np.array([rng[0], rng[1], 0, -1, 1], dtype=np.int64)

    def from_corners(self, rng: tuple[int, int], shape) -> np.ndarray:
        return self.rng.choice(self.corners(rng), size=shape)

    def new_addr(self) -> int:
        """A random bank address other than the previous item's, so the next matrix can be written while
        the previous one is still in use (the driver enforces the rule anyway)."""
        addr = int(self.rng.integers(0, self.p.WBUF_DEPTH))
        if addr == self.last_addr:
            addr = (addr + 1) % self.p.WBUF_DEPTH
        self.last_addr = addr
        return addr

    def item(self, w, x, psum=None, *, addr=None, load=True, load_lead=0, gaps=None) -> SaItem:
        it = SaItem("sa_item")
        it.w = None if w is None else np.asarray(w, dtype=np.int64)
        it.bank_addr = self.new_addr() if addr is None else addr
        it.load = load
        it.x = np.asarray(x, dtype=np.int64).reshape(-1, self.N)
        t = len(it.x)
        it.psum = np.zeros((t, self.M), dtype=np.int64) if psum is None else np.asarray(psum, np.int64).reshape(t, self.M)
        it.load_lead = load_lead
        it.gaps = list(gaps) if gaps is not None else [0] * t
        return it

    async def send(self, it: SaItem) -> None:
        await self.start_item(it)
        await self.finish_item(it)


class SaRandomSeq(SaSeqBase):
    """Random matrices (full or partial tiles, sometimes reloaded from a bank written earlier), random
    stream lengths from one vector to several array heights, random bubbles, load strobes in the cycle of
    the first vector or ahead of it, and partial sums from zero to the full accumulator range."""

    async def body(self):
        n_items = int(os.environ.get(ENV_ITEMS, DEFAULT_RANDOM_ITEMS))
        N, M = self.N, self.M
        written: list[int] = []
        for _ in range(n_items):
            t = self.length()
            x = self.values(self.xr, (t, N))
            psum = self.psums(t)
            lead = int(self.rng.choice([0, 0, 0, 1, 2]))
            gaps = [0 if self.rng.random() < 0.85 else int(self.rng.integers(1, 4)) for _ in range(t)]
            if written and self.rng.random() < 0.15:
                # Reload a matrix written by an earlier item: banks hold several matrices.
                addr = int(self.rng.choice(written))
                await self.send(self.item(None, x, psum, addr=addr, load_lead=lead, gaps=gaps))
                self.last_addr = addr
                continue
            rows = N if self.rng.random() < 0.6 else int(self.rng.integers(1, N))
            cols = M if self.rng.random() < 0.6 else int(self.rng.integers(1, M))
            w = np.zeros((N, M), dtype=np.int64)
            w[:rows, :cols] = self.values(self.wr, (rows, cols))
            it = self.item(w, x, psum, load_lead=lead, gaps=gaps)
            written.append(it.bank_addr)
            await self.send(it)

    def length(self) -> int:
        N = self.N
        kind = self.rng.random()
        if kind < 0.1:
            return 1
        if kind < 0.4:
            return int(self.rng.integers(2, N + 1))
        if kind < 0.85:
            return int(self.rng.integers(N + 1, 4 * N + 1))
        return int(self.rng.integers(4 * N + 1, 6 * N + 1))

    def values(self, rng: tuple[int, int], shape) -> np.ndarray:
        """Mostly uniform over the range, sometimes drawn from its corner values."""
        if self.rng.random() < 0.8:
            return self.uniform(rng, shape)
        return self.from_corners(rng, shape)

    def psums(self, t: int) -> np.ndarray:
        kind = self.rng.random()
        if kind < 0.5:
            return np.zeros((t, self.M), dtype=np.int64)
        if kind < 0.8:  # bias-sized: about one product's magnitude
            bound = 1 << (self.p.DATA_WIDTH + self.p.WGT_WIDTH - 1)
            return self.uniform((-bound, bound - 1), (t, self.M))
        return self.uniform(self.ar, (t, self.M))


class SaCornerSeq(SaSeqBase):
    """Corner values: every pairing of (lowest, highest, zero) activations with (lowest, highest, zero)
    weights across the whole array (largest positive and negative column sums), partial sums at the ends
    of the accumulator range (results at min/max, and sums that wrap), then elementwise random picks
    from the corner sets (lowest, highest, 0, -1, +1) of every operand."""

    async def body(self):
        N, M = self.N, self.M
        xs = (self.xr[0], self.xr[1], 0)
        ws = (self.wr[0], self.wr[1], 0)
        for vx in xs:
            for vw in ws:
                await self.send(self.item(np.full((N, M), vw), np.full((2, N), vx)))
        lo, hi = self.ar
        # Results exactly at the accumulator's ends (zero products), and wrapping past them.
        await self.send(self.item(np.zeros((N, M)), np.full((2, N), self.xr[1]),
                                  np.array([[lo] * M, [hi] * M])))
        await self.send(self.item(np.full((N, M), self.wr[1]), np.full((1, N), self.xr[1]), [[hi] * M]))
        await self.send(self.item(np.full((N, M), self.wr[0]), np.full((1, N), self.xr[1]), [[lo] * M]))
        for _ in range(2 * N):
            t = int(self.rng.integers(1, N + 1))
            await self.send(self.item(self.from_corners(self.wr, (N, M)), self.from_corners(self.xr, (t, N)),
                                      self.from_corners(self.ar, (t, M))))


class SaIdentitySeq(SaSeqBase):
    """Identity weights, then every cyclic column shift of it (W[i][(i+s) mod M] = 1 for
    i < min(N, M)): each row's activation must appear, unchanged, in exactly one column. Random full-range
    activations, zero partial sums for the identity itself and random ones for the shifts."""

    async def body(self):
        N, M = self.N, self.M
        k = min(N, M)
        for s in range(M):
            w = np.zeros((N, M), dtype=np.int64)
            for i in range(k):
                w[i, (i + s) % M] = 1
            t = 2 * N
            psum = None if s == 0 else self.uniform(self.ar, (t, M))
            await self.send(self.item(w, self.uniform(self.xr, (t, N)), psum))


class SaZeroSeq(SaSeqBase):
    """Zeros: vectors before any weight load (weights are zero after reset), an all-zero matrix with
    random activations, random weights with all-zero activations, and everything zero. Every result
    must equal its partial sum."""

    async def body(self):
        N, M = self.N, self.M
        t = N + 1
        await self.send(self.item(None, self.uniform(self.xr, (t, N)), self.uniform(self.ar, (t, M)), load=False))
        await self.send(self.item(np.zeros((N, M)), self.uniform(self.xr, (t, N)), self.uniform(self.ar, (t, M))))
        await self.send(self.item(self.uniform(self.wr, (N, M)), np.zeros((t, N)), self.uniform(self.ar, (t, M))))
        await self.send(self.item(np.zeros((N, M)), np.zeros((t, N))))

