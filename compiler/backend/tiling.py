"""Architecture-aware tiling of array codelets, and the cost model that ranks the candidates.

A tiling of an `ArrayCodelet` chooses, in blocks and output pixels:

    oc_t  output-channel blocks per tile      ic_t  reduction blocks per group (of R)
    oh_t  output rows per tile                ow_t  output columns per tile
    order the group-level loop order of (oc, oh, ow); the reduction (ic) loop is always innermost, so an
          output tile's partial sums are finished before the SIMD post-processes it.

Footprints (rows of each buffer) must fit: with double buffering a buffer is split into two halves and a
tile uses one half, so the load of the next tile goes into the other half while the current one computes.
Capacities come from `arch.buffers` only.

The cost model is the simulator's timing model (docs/isa.md, Semantics §5) applied to the group
sequence the tiling produces: a transfer costs DMA_LATENCY + its AXI beats, a compute nest iterations +
N + M (+ the OBUF read-after-write stall when an accumulator row is revisited sooner than N + M
iterations), a SIMD body rows x instructions + 4. With double buffering a group's loads overlap the
previous group's compute, so a group costs max(compute, its loads) and the SIMD work of tile t overlaps
the array work of tile t + 1; without it every step adds up. Candidates are ranked by this estimate.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from genesys.arch import Arch
from genesys.compiler.backend.codelets.base import ArrayCodelet, BackendError
from genesys.compiler.backend.layout import cdiv

GROUP_WORDS = 40  # instructions of a typical group (configuration, transfers, loops)
REFINE = 8  # candidates re-estimated group by group after the closed-form ranking
ORDERS = (("oh", "ow", "oc"), ("oc", "oh", "ow"), ("ow", "oh", "oc"), ("oh", "oc", "ow"), ("oc", "ow", "oh"),
          ("ow", "oc", "oh"))
OUT_SLOTS = 2  # output tiles in flight per interleaved layer (more slots, smaller tiles: measured worse)
WAVEFRONT_ROWS = 8  # an interleaved layer produces its output in at least this many row tiles
ROW_ORDERS = (("oh", "ow", "oc"), ("oh", "oc", "ow"))  # output rows complete in order (interleaved layers)


@dataclass(frozen=True)
class Caps:
    """Rows a tile may use in each buffer."""

    ibuf: int
    wbuf: int
    obuf: int
    bbuf: int
    vmem: int

    @staticmethod
    def of(arch: Arch, double_buffer: bool, share: int = 1) -> Caps:
        """Rows per tile when a layer owns 1/share of every buffer. Interleaved layers (share > 1) keep
        OUT_SLOTS output tiles in flight (OBUF and VMEM), so the array can run that far ahead of the SIMD."""
        b = arch.buffers
        k = 2 if double_buffer else 1
        ko = OUT_SLOTS if share > 1 and double_buffer else k
        return Caps(b["IBUF"].depth // share // k, b["WBUF"].depth // share // k, b["OBUF"].depth // share // ko,
                    b["BBUF"].depth // share // k, b["VMEM"].depth // share // ko)


@dataclass
class Tiling:
    oc_t: int
    ic_t: int
    oh_t: int
    ow_t: int
    order: tuple[str, str, str]
    double_buffer: bool = True
    cost: float = 0.0
    breakdown: dict = field(default_factory=dict)
    footprint: dict = field(default_factory=dict)

    def describe(self, arch: Arch) -> dict:
        return {"oc": self.oc_t * arch.ARRAY_M, "ic_blocks": self.ic_t, "oh": self.oh_t, "ow": self.ow_t,
                "loop_order": [*self.order, "ic"], "double_buffer": self.double_buffer,
                "estimated_cycles": round(self.cost), "footprint_rows": self.footprint, **self.breakdown}


@dataclass(frozen=True)
class Geometry:
    """Derived sizes of one candidate (used by the cost model and the code generator alike)."""

    c: ArrayCodelet
    oc_t: int
    ic_t: int
    oh_t: int
    ow_t: int

    @property
    def nq(self) -> int:  # distinct lo(ocb) values inside an oc tile
        c = self.c
        return cdiv(self.oc_t, c.P) if c.S else 1

    @property
    def ct(self) -> int:  # input-channel blocks an IBUF tile holds per pixel
        return (self.nq - 1) * self.c.S + self.ic_t

    @property
    def subsampled(self) -> bool:  # strided 1x1: load only the pixels the kernel reads
        c = self.c
        return c.packed is None and c.KH == 1 and c.KW == 1 and (c.SH > 1 or c.SW > 1)

    def in_extent(self, oh: int, ow: int) -> tuple[int, int]:
        c = self.c
        if c.packed is not None or self.subsampled:
            return oh, ow
        return (oh - 1) * c.SH + (c.KH - 1) * c.DH + 1, (ow - 1) * c.SW + (c.KW - 1) * c.DW + 1

    def ibuf_rows(self, oh: int | None = None, ow: int | None = None) -> int:
        ih, iw = self.in_extent(oh or self.oh_t, ow or self.ow_t)
        return ih * iw * self.ct

    def wbuf_rows(self, oc: int | None = None, ic: int | None = None) -> int:
        return (oc or self.oc_t) * (ic or self.ic_t) * self.c.KH * self.c.KW

    def obuf_rows(self) -> int:
        return self.oh_t * self.ow_t * self.oc_t


def vmem_rows(c: ArrayCodelet, obuf_rows: int, double_buffer: bool) -> tuple[int, int]:
    """(VMEM1 rows, VMEM2 rows) one slot of an output tile needs. VMEM1 holds the working rows in one half
    (double buffering) or all of it; VMEM2 holds the residual rows at the same offset and the per-channel
    vector in its top rows, so a slot's residual rows must stay clear of the vector."""
    v2 = c.OCB + (obuf_rows if c.epilogue.residual else 0)
    return obuf_rows, v2


def fits(g: Geometry, caps: Caps, double_buffer: bool) -> bool:
    c = g.c
    if g.wbuf_rows() > caps.wbuf or g.oc_t > caps.bbuf or g.obuf_rows() > caps.obuf or g.ibuf_rows() > caps.ibuf:
        return False
    v1, v2 = vmem_rows(c, g.obuf_rows(), double_buffer)
    if v1 > caps.vmem or v2 > caps.vmem:
        return False
    # one oc tile must cover whole groups of P blocks, or sit inside one (the block map stays affine)
    return not (c.S and c.P > 1 and g.oc_t % c.P and c.P % g.oc_t)


@dataclass
class Machine:
    """The timing parameters the cost model reads (all from the arch, plus the DMA latency option)."""

    n: int
    m: int
    bpb_i: int
    bpb_w: int
    bpb_v: int
    latency: int
    bpb_instr: int = 8

    @staticmethod
    def of(arch: Arch, dma_latency: int) -> Machine:
        b = arch.buffers
        return Machine(arch.ARRAY_N, arch.ARRAY_M, b["IBUF"].bytes_per_beat, b["WBUF"].bytes_per_beat,
                       b["VMEM"].bytes_per_beat, dma_latency, b["IMEM"].bytes_per_beat)

    @property
    def group_cycles(self) -> float:
        """Instruction fetch of a typical group (GROUP_WORDS words): charged per group so that, between
        otherwise equal tilings, the one with fewer groups (a shorter program) wins."""
        return GROUP_WORDS * 4 / self.bpb_instr


def _beats(nbytes, bpb: int):
    """AXI beats of contiguous requests of `nbytes`, with the expected 4 KiB crossings."""
    return np.ceil(nbytes / bpb) + nbytes / 4096.0


def _extents(total: int, t: int) -> np.ndarray:
    n = cdiv(total, t)
    e = np.full(n, t, dtype=np.int64)
    e[-1] = total - t * (n - 1)
    return e


def estimate(c: ArrayCodelet, t: Tiling, mach: Machine, simd_cost) -> tuple[float, dict]:
    """Cycles of the layer under tiling t (see the module docstring), and where they go."""
    g = Geometry(c, t.oc_t, t.ic_t, t.oh_t, t.ow_t)
    ext = {"oc": _extents(c.OCB, t.oc_t), "oh": _extents(c.OH, t.oh_t), "ow": _extents(c.OW, t.ow_t)}
    ic_ext = _extents(c.R, t.ic_t)
    grids = np.meshgrid(*[np.arange(len(ext[d])) for d in t.order], indexing="ij")
    idx = {d: grids[k].reshape(-1) for k, d in enumerate(t.order)}
    n_tiles = idx["oc"].size
    n_ic = ic_ext.size
    e_oc, e_oh, e_ow = ext["oc"][idx["oc"]], ext["oh"][idx["oh"]], ext["ow"][idx["ow"]]
    pix = e_oh * e_ow
    # per group (tile x ic), ic innermost
    rep = lambda a: np.repeat(a, n_ic)  # noqa: E731
    g_ic = np.tile(ic_ext, n_tiles)
    g_oc, g_pix = rep(e_oc), rep(pix)
    red = g_ic * c.KH * c.KW
    iters = g_oc * red * g_pix
    d = g_pix * g_oc  # OBUF revisit distance
    nm = mach.n + mach.m
    stall = np.where(d < nm, (red - 1) * np.maximum(0, nm - d), 0)
    array = iters + nm + stall
    # loads: a buffer reloads when its tile changes from the previous group
    ic_i = np.tile(np.arange(n_ic), n_tiles)
    keys_in = [rep(idx["oh"]), rep(idx["ow"]), ic_i] + ([rep(idx["oc"])] if c.S else [])
    keys_w = [rep(idx["oc"]), ic_i]

    def changes(keys):
        ch = np.zeros(keys[0].size, dtype=bool)
        ch[0] = True
        for k in keys:
            ch[1:] |= k[1:] != k[:-1]
        return ch

    ch_in, ch_w = changes(keys_in), changes(keys_w)
    ih, iw = g.in_extent(rep(e_oh), rep(e_ow))
    ct = (g.nq - 1) * c.S + g_ic
    if c.packed is not None:
        xb = c.packed["X"]
        in_beats = rep(pix) * c.packed["KHp"] * _beats(xb, mach.bpb_i)
    elif ct[0] == c.ICB:
        in_beats = ih * _beats(iw * ct * mach.n, mach.bpb_i)
    else:
        in_beats = ih * iw * _beats(ct * mach.n, mach.bpb_i)
    t_in = np.where(ch_in, mach.latency + in_beats, 0)
    w_bytes = g_oc * red * mach.n * mach.m
    bias_new = ch_w & (ic_i == 0)
    t_w = np.where(ch_w, mach.latency + _beats(w_bytes, mach.bpb_w), 0) + \
        np.where(bias_new, mach.latency + _beats(g_oc * mach.m * 4, mach.bpb_w), 0)
    # SIMD per tile
    rows = pix * e_oc
    s_body, s_dma = simd_cost(rows, pix, e_oc)
    a_tile = array.reshape(n_tiles, n_ic)
    l_tile = np.maximum(t_in, t_w).reshape(n_tiles, n_ic)
    if t.double_buffer:
        per_group = np.maximum(a_tile, l_tile)
        arr_tile = per_group.sum(axis=1)
        per_tile = np.maximum(arr_tile, np.maximum(s_body, s_dma))
        total = float(per_tile.sum() + l_tile[0, 0] + s_body[-1] + s_dma[-1])
    else:
        arr_tile = (a_tile + l_tile).sum(axis=1)
        total = float((arr_tile + s_body + s_dma).sum())
    total += (array.size + n_tiles) * mach.group_cycles
    breakdown = {"array_side": int(arr_tile.sum() + l_tile[0, 0]), "simd_side": int(s_body.sum()),
                 "simd_dma_side": int(s_dma.sum()),
                 "array_cycles": int(array.sum()), "fill_drain": int(nm * array.size), "obuf_stall": int(stall.sum()),
                 "ibuf_load_cycles": int(t_in.sum()), "wbuf_load_cycles": int(t_w.sum()),
                 "simd_cycles": int(s_body.sum()), "simd_dma_cycles": int(s_dma.sum()),
                 "groups": int(array.size + n_tiles)}
    return total, breakdown


def _choices(total: int, cap: int, max_tiles: int | None = None) -> list[int]:
    """Tile sizes up to cap: the divisors of `total` and the sizes that split it into 1..4 near-even tiles
    (ragged last tiles rarely pay off beyond that), with at most max_tiles tiles."""
    out = {d for d in range(1, total + 1) if total % d == 0} | {cdiv(total, k) for k in range(1, min(4, total) + 1)}
    return sorted(v for v in out if v <= cap and (max_tiles is None or cdiv(total, v) <= max_tiles))


def quick_estimate(c: ArrayCodelet, t: Tiling, mach: Machine, simd_cost) -> float:
    """The same model on average tiles, in closed form: used to rank all candidates before `estimate`
    refines the best few group by group."""
    n_oc, n_oh, n_ow, n_ic = cdiv(c.OCB, t.oc_t), cdiv(c.OH, t.oh_t), cdiv(c.OW, t.ow_t), cdiv(c.R, t.ic_t)
    oc, oh, ow, ic = c.OCB / n_oc, c.OH / n_oh, c.OW / n_ow, c.R / n_ic
    tiles = n_oc * n_oh * n_ow
    groups = tiles * n_ic
    nm = mach.n + mach.m
    taps = c.KH * c.KW
    pix = oh * ow
    d = pix * oc
    a = oc * ic * taps * pix + nm + ((ic * taps - 1) * (nm - d) if d < nm else 0)
    counts = {"oc": n_oc, "oh": n_oh, "ow": n_ow}

    def loads(dims) -> float:
        if n_ic > 1:
            return groups
        inner = max((k for k, dd in enumerate(t.order) if dd in dims), default=-1)
        return math.prod(counts[dd] for dd in t.order[:inner + 1]) if inner >= 0 else 1

    l_in = loads(("oh", "ow") + (("oc",) if c.S else ()))
    l_w = loads(("oc",))
    g = Geometry(c, t.oc_t, t.ic_t, t.oh_t, t.ow_t)
    ih, iw = g.in_extent(oh, ow)
    ct = (g.nq - 1) * c.S + ic
    if c.packed is not None:
        in_beats = pix * c.packed["KHp"] * math.ceil(c.packed["X"] / mach.bpb_i)
    elif ct == c.ICB:
        in_beats = ih * math.ceil(iw * ct * mach.n / mach.bpb_i)
    else:
        in_beats = ih * iw * math.ceil(ct * mach.n / mach.bpb_i)
    i_t = mach.latency + in_beats
    w_t = mach.latency + oc * ic * taps * mach.n * mach.m / mach.bpb_w
    s_body, s_dma = simd_cost(pix * oc, pix, oc)
    fetch = (groups + tiles) * mach.group_cycles
    if t.double_buffer:
        arr = groups * a + l_in * max(0.0, i_t - a) + l_w * max(0.0, w_t - a)
        return max(arr / tiles, s_body, s_dma) * tiles + max(i_t, w_t) + s_body + s_dma + fetch
    return groups * a + l_in * i_t + l_w * w_t + tiles * (s_body + s_dma) + fetch


def candidates(c: ArrayCodelet, caps: Caps, double_buffer: bool, forced: dict,
               orders: tuple = ORDERS[:2], min_row_tiles: int = 1) -> list[Tiling]:
    """Every legal tiling (pruned to the largest spatial tiles per shape), honouring forced values."""
    oc_opts = [forced["oc_t"]] if "oc_t" in forced else _choices(c.OCB, caps.bbuf)
    ic_opts = [forced["ic_t"]] if "ic_t" in forced else _choices(c.R, c.R)
    if c.packed is not None:
        ic_opts = [c.R]
    ow_opts = [forced["ow_t"]] if "ow_t" in forced else _choices(c.OW, c.OW, 8)
    oh_all = [forced["oh_t"]] if "oh_t" in forced else _choices(c.OH, max(1, c.OH // min_row_tiles))
    orders = [forced["order"]] if "order" in forced else list(orders)
    out = []
    for oc_t, ic_t in itertools.product(oc_opts, ic_opts):
        if oc_t * ic_t * c.KH * c.KW > caps.wbuf:
            continue
        for ow_t in ow_opts:
            feasible = [oh for oh in oh_all if fits(Geometry(c, oc_t, ic_t, oh, ow_t), caps, double_buffer)]
            if not feasible:
                continue
            # the largest spatial tile, and a few smaller ones (they shorten the pipeline's prologue)
            picks = {feasible[-1], feasible[len(feasible) // 2], feasible[max(0, len(feasible) * 3 // 4)]}
            if "oh_t" in forced:
                picks = set(feasible)
            for oh_t in picks:
                for order in orders:
                    out.append(Tiling(oc_t, ic_t, oh_t, ow_t, tuple(order), double_buffer))
    return out


def choose(c: ArrayCodelet, arch: Arch, mach: Machine, simd_cost, double_buffer: bool = True,
           forced: dict | None = None, share: int = 1) -> Tiling:
    """The cheapest legal tiling. `share` > 1: the layer owns 1/share of every buffer and produces its output
    rows in order (it is interleaved with its neighbours)."""
    forced = dict(forced or {})
    caps = Caps.of(arch, double_buffer, share)
    cands = candidates(c, caps, double_buffer, forced, ROW_ORDERS if share > 1 else ORDERS[:2],
                       WAVEFRONT_ROWS if share > 1 else 1)
    if not cands:
        g = Geometry(c, forced.get("oc_t", 1), forced.get("ic_t", 1 if c.packed is None else c.R),
                     forced.get("oh_t", 1), forced.get("ow_t", 1))
        v1, v2 = vmem_rows(c, g.obuf_rows(), double_buffer)
        what = "with the forced tile sizes " if forced else ""
        raise BackendError(c.layer, f"cannot be tiled {what}to fit the buffers: the smallest tile needs IBUF "
                           f"{g.ibuf_rows()} rows, WBUF {g.wbuf_rows()}, OBUF {g.obuf_rows()}, BBUF {g.oc_t}, "
                           f"VMEM1 {v1}, VMEM2 {v2}; a tile may use IBUF {caps.ibuf}, WBUF {caps.wbuf}, OBUF "
                           f"{caps.obuf}, BBUF {caps.bbuf}, VMEM {caps.vmem} rows"
                           + (" (half of each buffer: double buffering)" if double_buffer else ""),
                           "try --no-double-buffer or a larger configuration" if double_buffer else "")
    for t in cands:
        t.cost = quick_estimate(c, t, mach, simd_cost)
    cands.sort(key=lambda t: t.cost)
    best = None
    for t in cands[:REFINE]:
        t.cost, t.breakdown = estimate(c, t, mach, simd_cost)
        if best is None or t.cost < best.cost:
            best = t
    g = Geometry(c, best.oc_t, best.ic_t, best.oh_t, best.ow_t)
    v1, v2 = vmem_rows(c, g.obuf_rows(), double_buffer)
    best.footprint = {"IBUF": g.ibuf_rows(), "WBUF": g.wbuf_rows(), "OBUF": g.obuf_rows(), "BBUF": best.oc_t,
                      "VMEM1": v1, "VMEM2": v2}
    return best


def simd_estimator(c: ArrayCodelet, mach: Machine, n_bodies: int):
    """SIMD cycles per output tile: the epilogue bodies, and its transfers (store, residual load)."""
    n_instr = c.epilogue.n_instr
    lanes_bytes = mach.m  # one int8 per lane

    def cost(rows, pix, oc):
        body = rows * n_instr + 4 * n_bodies
        per_pixel = oc * lanes_bytes
        beats = np.ceil(per_pixel / mach.bpb_v) if isinstance(per_pixel, np.ndarray) else \
            math.ceil(per_pixel / mach.bpb_v)
        dma = (mach.latency + pix * beats) * (2 if c.epilogue.residual else 1)
        return body * 1.0, dma * 1.0
    return cost


def ideal_cycles(macs: int, arch: Arch) -> float:
    return macs / (arch.ARRAY_N * arch.ARRAY_M)


__all__ = ["Tiling", "Geometry", "Caps", "Machine", "choose", "estimate", "candidates", "simd_estimator",
           "ideal_cycles", "ORDERS"]
