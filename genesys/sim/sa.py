"""Systolic-array groups (docs/isa.md, Semantics §3): configuration, transfers and the compute nest.

The compute nest is executed without a Python loop over iterations. When the OBUF read and write strides
agree (the accumulate chain every convolution and matmul uses), each OBUF row only ever reads itself, so

    final[row] = (BBUF row of its last "first" iteration, or the OBUF value if none) + sum of the
                 contributions IBUF[ra] @ WBUF[ra] of the iterations from that one on,   wrapped to ACC_WIDTH.

Loops are split into R (WR(OBUF) stride 0: they accumulate into one row), Ow (move the output row and the
weight row) and Of (move the output row only). For every Ow point the R loops form the K dimension of one
matrix product (im2col): (Of x R*N) @ (R*N x M), batched over Ow, in float32/float64 BLAS when that is
exact for the data widths (products of small integers summed below 2**24 / 2**53), int64 otherwise.
Any other stride pattern runs the general path: contributions vectorized, the OBUF recurrence stepped
one innermost-loop run at a time (one iteration at a time only where a run reads its own writes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from genesys.isa.table import ACCESS, BUFFER
from genesys.sim import dma
from genesys.sim.decoder import Group, Op
from genesys.sim.state import MachineState, wrap

_ACCESS = {v: k for k, v in ACCESS.items}
_BUFFER = {v: k for k, v in BUFFER.items}
N_COMPUTE_LOOPS = 16
N_LOOPS = 32
TRANSFER_LOOPS = {"WBUF": 16, "IBUF": 20, "OBUF": 24, "BBUF": 28}  # first of each buffer's four loops
CHUNK_ELEMENTS = 1 << 22
MAX_ITERATIONS = 1 << 27  # per compute nest (all of ResNet-50 on 16x16 is ~2**24 iterations)  # bound on the gathered im2col block per matmul call
MAX_WEIGHT_BLOCK = 1 << 24


def _s32(lo: int, hi: int) -> int:
    v = (hi << 16) | lo
    return v - (1 << 32) if v & (1 << 31) else v


def _u32(lo: int, hi: int) -> int:
    return (hi << 16) | lo


@dataclass
class Transfer:
    op: Op
    load: bool
    buf: str
    base_dram: int
    base_chip: int
    counts: list[int]
    strides: list[int]
    req: int


@dataclass
class Nest:
    """The compute nest as configured at the end of the group."""
    counts: list[int]
    strides: dict[str, list[int]]  # "I", "W", "B", "OR", "OW" -> 16 strides (rows)
    bases: dict[str, int]  # IBUF/WBUF/BBUF/OBUF -> on-chip base row
    inner: frozenset[int]
    outer: bool
    start: Op  # named in errors about the nest (it has no instruction of its own)


@dataclass
class SAProgram:
    loads: list[Transfer] = field(default_factory=list)
    nest: Nest | None = None
    stores: list[Transfer] = field(default_factory=list)


def parse_group(group: Group) -> SAProgram:
    """Interpret a group's configuration instructions (transfers snapshot the configuration they see)."""
    base_dram = {b: [0, 0] for b in TRANSFER_LOOPS}
    base_chip = {b: [0, 0] for b in TRANSFER_LOOPS}
    iters = [1] * N_LOOPS
    strides: dict[tuple[str, str, int], list[int]] = {}
    inner: set[int] = set()
    outer = False
    compute = False
    prog = SAProgram()
    for op in group.body:
        m, f = op.mnemonic, op.f
        if m in ("SA_LOOP_CFG", "SA_REDUCTION_LOOP", "SET_LOOP_STRIDE", "LD_ST"):
            loop = f["LOOP_ID"]
            if loop >= N_LOOPS:
                raise op.error(f"loop {loop} does not exist: loops 0-15 are compute loops, 16-31 transfer loops")
        if m == "SA_LOOP_CFG":
            iters[loop] = f["NUM_ITER"] + 1
            compute |= loop < N_COMPUTE_LOOPS
        elif m == "SA_REDUCTION_LOOP":
            if loop >= N_COMPUTE_LOOPS:
                raise op.error(f"reduction marks apply to compute loops 0-15, not loop {loop}")
            if f["LOOP_TYPE"] == 0:
                inner.add(loop)
            else:
                outer = True
        elif m == "SET_LOOP_STRIDE":
            access, buf = _ACCESS[f["ACCESS"]], _BUFFER[f["BUFFER"]]
            _check_stride(op, access, buf, loop)
            strides.setdefault((access, buf, loop), [0, 0])[f["LOW_HIGH"]] = f["STRIDE"]
        elif m == "SET_BASE_ADDR":
            buf = _BUFFER[f["BUFFER"]]
            (base_chip if f["MEM_TYPE"] else base_dram)[buf][f["LOW_HIGH"]] = f["BASE_ADDR"]
        elif m == "LD_ST":
            buf = _BUFFER[f["BUFFER"]]
            load = f["DIRECTION"] == 0
            if f["MEM_TYPE"] != 0:
                raise op.error("LD_ST on IMEM is not defined: instructions are fetched block by block (BLOCK_END)")
            if not load and buf != "OBUF":
                raise op.error(f"ST is only legal for OBUF, not {buf}")
            first = TRANSFER_LOOPS[buf]
            if not first <= loop < first + 4:
                raise op.error(f"a {buf} transfer uses {buf}'s transfer loops {first}-{first + 3}, not loop {loop}")
            if f["REQ_SIZE"] == 0:
                raise op.error("a transfer request moves 1..65535 bytes, not 0")
            kind = "LD" if load else "ST"
            loops = range(loop, first + 4)
            t = Transfer(op, load, buf, _u32(*base_dram[buf]), _u32(*base_chip[buf]), [iters[k] for k in loops],
                         [_s32(*strides.get((kind, buf, k), (0, 0))) for k in loops], f["REQ_SIZE"])
            (prog.loads if load else prog.stores).append(t)
        else:  # the decoder admits only systolic-array opcodes here
            raise op.error(f"{m} cannot appear in a systolic-array group")
    if compute:
        nest_strides = {name: [0] * N_COMPUTE_LOOPS for name in _NEST_STRIDE.values()}
        for (access, buf, loop), (lo, hi) in strides.items():
            name = _NEST_STRIDE.get((access, buf))
            if name is not None:
                nest_strides[name][loop] = _s32(lo, hi)
        prog.nest = Nest(iters[:N_COMPUTE_LOOPS], nest_strides, {b: _u32(*base_chip[b]) for b in TRANSFER_LOOPS},
                         frozenset(inner), outer, group.start)
    return prog


_NEST_STRIDE = {("RD", "IBUF"): "I", ("RD", "WBUF"): "W", ("RD", "BBUF"): "B", ("RD", "OBUF"): "OR",
                ("WR", "OBUF"): "OW"}


def _check_stride(op: Op, access: str, buf: str, loop: int) -> None:
    if access in ("RD", "WR"):
        if loop >= N_COMPUTE_LOOPS:
            raise op.error(f"{access} strides are on-chip strides of compute loops 0-15, not loop {loop} "
                           "(a transfer loop takes LD/ST strides)")
        if access == "WR" and buf != "OBUF":
            raise op.error(f"only OBUF is written by the compute nest: WR strides are for OBUF, not {buf}")
    else:
        first = TRANSFER_LOOPS[buf]
        if not first <= loop < first + 4:
            where = "a compute loop" if loop < N_COMPUTE_LOOPS else f"loop {loop}"
            raise op.error(f"{access} strides are DRAM strides of {buf}'s transfer loops {first}-{first + 3}, "
                           f"not of {where} (loop {loop})")
        if access == "ST" and buf != "OBUF":
            raise op.error(f"only OBUF is stored to DRAM: ST strides are for OBUF, not {buf}")


# ---- transfers ----------------------------------------------------------------------------------
@dataclass
class TransferResult:
    n_bytes: int
    beats: int
    dram_lo: int
    dram_hi: int
    row_lo: int
    row_hi: int


def run_transfer(state: MachineState, t: Transfer, bytes_per_beat: int) -> TransferResult:
    buf = state.buffer(t.buf)
    row_bytes, depth = buf[0].nbytes, buf.shape[0]
    total = math.prod(t.counts) * t.req
    start = t.base_chip * row_bytes
    if t.base_chip >= depth or start + total > depth * row_bytes:
        last_row = (start + total - 1) // row_bytes
        raise t.op.error(f"the transfer moves {total} bytes from {t.buf} row {t.base_chip} on, up to row {last_row}, "
                         f"outside {t.buf} (rows 0..{depth - 1})")
    addrs = t.base_dram + dma.grid_offsets(t.counts, t.strides)
    problem = dma.dram_range_problem(addrs, t.req, state.dram.size)
    if problem:
        raise t.op.error(problem)
    chip = state.byte_view(t.buf)[start:start + total]
    if t.load:
        chip[:] = dma.gather(state.dram, addrs, t.req)
    else:
        dma.scatter(state.dram, addrs, t.req, chip)
        state.dram_high_water = max(state.dram_high_water, int(addrs.max()) + t.req)
    return TransferResult(total, dma.beats(addrs, t.req, bytes_per_beat), int(addrs.min()),
                          int(addrs.max()) + t.req, t.base_chip, -(-(start + total) // row_bytes))


# ---- the compute nest ---------------------------------------------------------------------------
@dataclass
class NestResult:
    iterations: int
    stall: int  # OBUF read-after-write stall cycles
    reads: list[tuple[str, int, int]]
    writes: list[tuple[str, int, int]]
    fast: bool


class _Lin:
    """Linear forms over subsets of the active loops: sum_l i_l * s_l on each sub-grid."""

    def __init__(self, counts: list[int], active: list[int]):
        self.counts, self.active = counts, active

    def grid(self, loops, strides) -> np.ndarray:
        return dma.grid_offsets([self.counts[k] for k in loops], [strides[k] for k in loops])

    def span(self, loops, strides) -> tuple[int, int]:
        lo = sum(min(0, (self.counts[k] - 1) * strides[k]) for k in loops)
        hi = sum(max(0, (self.counts[k] - 1) * strides[k]) for k in loops)
        return lo, hi


def run_nest(state: MachineState, nest: Nest, fast: bool = True) -> NestResult:
    counts = nest.counts
    active = [k for k in range(N_COMPUTE_LOOPS) if counts[k] > 1]
    lin = _Lin(counts, active)
    s = nest.strides
    b = nest.bases
    inner_active = [k for k in active if k in nest.inner]
    any_first = not nest.outer
    any_nonfirst = nest.outer or bool(inner_active)
    first_loops = [k for k in active if k not in nest.inner]  # loops that vary among first iterations

    # Address checks (analytic): every IBUF/WBUF read and OBUF write; BBUF only where a first iteration reads it.
    spans = {"IBUF": (b["IBUF"], lin.span(active, s["I"])), "WBUF": (b["WBUF"], lin.span(active, s["W"])),
             "OBUF": (b["OBUF"], lin.span(active, s["OW"]))}
    checks = [("IBUF", "I", active, "read"), ("WBUF", "W", active, "read"), ("OBUF", "OW", active, "write")]
    if any_first:
        spans["BBUF"] = (b["BBUF"], lin.span(first_loops, s["B"]))
        checks.append(("BBUF", "B", first_loops, "read"))
    for name, key, loops, what in checks:
        base, (lo, hi) = spans[name]
        depth = state.buffer(name).shape[0]
        if base + lo < 0 or base + hi >= depth:
            _range_error(nest, lin, active, loops, name, key, what, depth)
    iterations = math.prod(counts[k] for k in active)
    if iterations > MAX_ITERATIONS:
        raise nest.start.error(f"the compute nest has {iterations} iterations; the simulator runs at most "
                               f"{MAX_ITERATIONS} per group (split the work across groups)")
    reads = [("IBUF", b["IBUF"] + spans["IBUF"][1][0], b["IBUF"] + spans["IBUF"][1][1] + 1),
             ("WBUF", b["WBUF"] + spans["WBUF"][1][0], b["WBUF"] + spans["WBUF"][1][1] + 1)]
    if any_first:
        reads.append(("BBUF", b["BBUF"] + spans["BBUF"][1][0], b["BBUF"] + spans["BBUF"][1][1] + 1))
    writes = [("OBUF", b["OBUF"] + spans["OBUF"][1][0], b["OBUF"] + spans["OBUF"][1][1] + 1)]

    if fast and all(s["OR"][k] == s["OW"][k] for k in active):
        stall = _fast_nest(state, nest, lin, active)
        if stall is not None:
            if any_nonfirst:
                reads.append(writes[0])
            return NestResult(iterations, stall, reads, writes, True)
    stall, obuf_read = _general_nest(state, nest, lin, active)
    if obuf_read is not None:
        reads.append(("OBUF", *obuf_read))
    return NestResult(iterations, stall, reads, writes, False)


def _range_error(nest: Nest, lin: _Lin, active, loops, name, key, what, depth):
    """Find the first offending iteration of an out-of-range address and stop with its description."""
    base = nest.bases[name]
    rows = base + lin.grid(loops, nest.strides[key])
    bad = int(np.flatnonzero((rows < 0) | (rows >= depth))[0])
    idx = np.unravel_index(bad, [lin.counts[k] for k in loops]) if loops else ()
    where = ", ".join(f"loop {k} = {int(i)}" for k, i in zip(loops, idx, strict=True)) or "the only iteration"
    kind = "WR" if key == "OW" else "RD"
    raise nest.start.error(f"the compute nest {what}s {name} row {int(rows[bad])} at iteration ({where}), outside "
                           f"{name} (rows 0..{depth - 1}); check the {name} base row and {kind} strides")


def _exact_dtype(arch, k: int):
    """The cheapest matmul dtype in which sums of k products are exact."""
    bound = k * (1 << (arch.DATA_WIDTH - 1)) * (1 << (arch.WGT_WIDTH - 1))
    if bound <= 1 << 24:
        return np.float32
    if bound <= 1 << 53:
        return np.float64
    return np.int64  # numpy integer matmul: exact modulo 2**64, and ACC_WIDTH <= 64


def _stall_cost(d: np.ndarray, depth: int) -> np.ndarray:
    """Stall per iteration that re-reads a row written d iterations earlier: a chain that revisits a row
    every d iterations can issue one write per row every N + M cycles, i.e. (N + M - d) / d per iteration."""
    d = np.maximum(d, 1)
    return np.maximum(0, depth - d) / d


def _fast_nest(state: MachineState, nest: Nest, lin: _Lin, active: list[int]) -> int | None:
    """The accumulate chain (RD(OBUF) == WR(OBUF) strides). Returns the OBUF stall cycles, or None when
    the pattern needs the general path (two output points writing one row, or an oversized weight block)."""
    arch = state.arch
    n, m = arch.ARRAY_N, arch.ARRAY_M
    s, b, counts = nest.strides, nest.bases, nest.counts
    R = [k for k in active if s["OW"][k] == 0]
    Ow = [k for k in active if s["OW"][k] != 0 and s["W"][k] != 0]
    Of = [k for k in active if s["OW"][k] != 0 and s["W"][k] == 0]
    wa = b["OBUF"] + lin.grid(Ow, s["OW"])[:, None] + lin.grid(Of, s["OW"])[None, :]
    if wa.size > 1 and np.bincount(wa.reshape(-1)).max() > 1:
        return None
    t_stride = {k: math.prod(counts[j] for j in active if j > k) for k in active}
    tR = lin.grid(R, t_stride)
    n_r = tR.size
    tow, tof = wa.shape
    if tow * n_r * n * m > MAX_WEIGHT_BLOCK:
        return None

    is_inner = {k: int(k in nest.inner) for k in active}
    if nest.outer:
        cand = np.zeros(wa.shape, bool)
        first_r = np.zeros(n_r, bool)
    else:
        cand = (lin.grid(Ow, is_inner) == 0)[:, None] & (lin.grid(Of, is_inner) == 0)[None, :]
        first_r = lin.grid(R, is_inner) == 0
    if first_r.any() and cand.any():
        r_lf = int(np.flatnonzero(first_r)[-1])  # the last first iteration among a row's iterations
        has_first = cand
    else:
        r_lf, has_first = 0, np.zeros(wa.shape, bool)

    # Initial value of each row: its last first iteration's bias row, or what OBUF holds.
    rows = wa.reshape(-1)
    init = state.obuf[rows].astype(np.int64)
    if has_first.any():
        brow = b["BBUF"] + lin.grid(Ow, s["B"])[:, None] + lin.grid(Of, s["B"])[None, :] + int(lin.grid(R, s["B"])[r_lf])
        hf = has_first.reshape(-1)
        init[hf] = state.bbuf[brow.reshape(-1)[hf]]

    total = _contrib(state, nest, lin, Ow, Of, R, np.arange(r_lf, n_r))
    if r_lf > 0 and not has_first.all():
        pre = _contrib(state, nest, lin, Ow, Of, R, np.arange(0, r_lf))
        total += np.where(has_first[..., None], 0, pre)
    state.obuf[rows] = wrap(init + total.reshape(-1, m), arch.ACC_WIDTH)

    # OBUF hazards: iteration r (r >= 1) of a row re-reads what iteration r - 1 wrote, unless it is first.
    if n_r <= 1:
        return 0
    cost = _stall_cost(np.diff(tR), n + m)
    readers = np.full(n_r - 1, float(tow * tof))
    readers -= np.where(first_r[1:], float(np.count_nonzero(cand)) if not nest.outer else 0.0, 0.0)
    return int(round(float(np.dot(cost, readers))))


def _contrib(state: MachineState, nest: Nest, lin: _Lin, Ow, Of, R, r_sel: np.ndarray) -> np.ndarray:
    """sum over the selected R points of IBUF[ra] @ WBUF[ra], for every (Ow, Of) point: int64 (Tow, Tof, M)."""
    arch = state.arch
    n, m = arch.ARRAY_N, arch.ARRAY_M
    s, b = nest.strides, nest.bases
    iOw, iOf = lin.grid(Ow, s["I"]), lin.grid(Of, s["I"])
    iR = lin.grid(R, s["I"])[r_sel]
    wOw, wR = lin.grid(Ow, s["W"]), lin.grid(R, s["W"])[r_sel]
    tow, tof, k = iOw.size, iOf.size, r_sel.size
    out = np.zeros((tow, tof, m), np.int64)
    if k == 0:
        return out
    dt = _exact_dtype(arch, k * n)
    wrows = b["WBUF"] + wOw[:, None] + wR[None, :]
    wcat = np.take(state.wbuf, wrows, axis=0).astype(dt).reshape(tow, k * n, m)
    ilo, ihi = int(b["IBUF"] + iOw.min() + iOf.min() + iR.min()), int(b["IBUF"] + iOw.max() + iOf.max() + iR.max())
    x = state.ibuf[ilo:ihi + 1].astype(dt)
    if not iOw.any():
        # The input rows do not depend on the Ow loops (each output-channel tile reads the same pixels):
        # gather once and multiply by all Ow weight blocks side by side in one GEMM (Tof x K) @ (K x Tow*M).
        wide = wcat.transpose(1, 0, 2).reshape(k * n, tow * m)
        base = b["IBUF"] - ilo + iR[None, :]
        step = max(1, CHUNK_ELEMENTS // (k * n))
        for c0 in range(0, tof, step):
            c1 = min(tof, c0 + step)
            g = np.take(x, base + iOf[c0:c1, None], axis=0).reshape(c1 - c0, k * n)
            out[:, c0:c1] = (g @ wide).reshape(c1 - c0, tow, m).transpose(1, 0, 2)
        return out
    base = b["IBUF"] - ilo + iOw[:, None, None] + iR[None, None, :]
    step = max(1, CHUNK_ELEMENTS // max(1, tow * k * n))
    for c0 in range(0, tof, step):
        c1 = min(tof, c0 + step)
        g = np.take(x, base + iOf[None, c0:c1, None], axis=0).reshape(tow, c1 - c0, k * n)
        out[:, c0:c1] = np.matmul(g, wcat)
    return out


def _general_nest(state: MachineState, nest: Nest, lin: _Lin, active: list[int]):
    """Any stride pattern: contributions vectorized; the OBUF recurrence in innermost-loop runs."""
    arch = state.arch
    n, m, acc = arch.ARRAY_N, arch.ARRAY_M, arch.ACC_WIDTH
    s, b = nest.strides, nest.bases
    ra_i = b["IBUF"] + lin.grid(active, s["I"])
    ra_w = b["WBUF"] + lin.grid(active, s["W"])
    ra_b = b["BBUF"] + lin.grid(active, s["B"])
    ra_o = b["OBUF"] + lin.grid(active, s["OR"])
    wa = b["OBUF"] + lin.grid(active, s["OW"])
    if nest.outer:
        first = np.zeros(ra_i.size, bool)
    else:
        first = lin.grid(active, {k: int(k in nest.inner) for k in active}) == 0
    depth = state.obuf.shape[0]
    reading = ~first
    if reading.any():
        ro = ra_o[reading]
        if ro.min() < 0 or ro.max() >= depth:
            t = int(np.flatnonzero(reading & ((ra_o < 0) | (ra_o >= depth)))[0])
            idx = np.unravel_index(t, [lin.counts[k] for k in active]) if active else ()
            where = ", ".join(f"loop {k} = {int(i)}" for k, i in zip(active, idx, strict=True)) or "the only iteration"
            raise nest.start.error(f"the compute nest reads OBUF row {int(ra_o[t])} at iteration ({where}), outside "
                                   f"OBUF (rows 0..{depth - 1}); check the OBUF base row and RD strides")
    contrib = np.empty((ra_i.size, m), np.int64)
    step = max(1, CHUNK_ELEMENTS // (n * m))
    for c0 in range(0, ra_i.size, step):
        c1 = min(ra_i.size, c0 + step)
        contrib[c0:c1] = np.einsum("tn,tnm->tm", state.ibuf[ra_i[c0:c1]].astype(np.int64),
                                   state.wbuf[ra_w[c0:c1]].astype(np.int64))
    run = lin.counts[active[-1]] if active else 1
    ra_b = np.where(first, ra_b, 0)  # BBUF is only read (and checked) at first iterations
    ra_o = np.where(first, 0, ra_o)
    obuf, bbuf = state.obuf, state.bbuf
    for c0 in range(0, ra_i.size, run):
        sl = slice(c0, c0 + run)
        w, ro, fi = wa[sl], ra_o[sl], first[sl]
        independent = np.unique(w).size == w.size and not np.isin(ro[~fi], w).any()
        if independent:
            psum = np.where(fi[:, None], bbuf[ra_b[sl]], obuf[ro]).astype(np.int64)
            obuf[w] = wrap(psum + contrib[sl], acc)
        else:
            for t in range(c0, min(c0 + run, ra_i.size)):
                psum = (bbuf[ra_b[t]] if first[t] else obuf[ra_o[t]]).astype(np.int64)
                obuf[wa[t]] = wrap(psum + contrib[t], acc)
    # OBUF hazards: distance from each OBUF read to the last earlier write of that row.
    stall = 0
    obuf_read = None
    if reading.any():
        t_all = np.arange(wa.size, dtype=np.int64)
        keys = np.sort(wa * wa.size + t_all)
        tr = t_all[reading]
        q = ra_o[reading] * wa.size + tr
        pos = np.searchsorted(keys, q) - 1
        ok = pos >= 0
        prev = keys[np.maximum(pos, 0)]
        ok &= prev // wa.size == ra_o[reading]
        if ok.any():
            d = tr[ok] - prev[ok] % wa.size
            stall = int(round(float(_stall_cost(d, n + m).sum())))
        obuf_read = (int(ra_o[reading].min()), int(ra_o[reading].max()) + 1)
    return stall, obuf_read
