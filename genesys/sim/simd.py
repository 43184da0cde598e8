"""SIMD groups (docs/isa.md, Semantics §4): types, iterators, loop nests, functions and transfers.

A loop body runs vectorized: every operand's rows over all iterations are one linear form of the loop
indices. The body runs one instruction at a time over all iterations when no iteration touches a row
that another iteration writes; otherwise the loops that carry the conflict (typically a reduction: the
destination's stride is 0 in that loop) are stepped in Python and everything else stays vectorized; only
a body whose every loop carries a conflict runs iteration by iteration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from genesys.isa.table import DTYPE, LDST_NS, NS
from genesys.sim import dma
from genesys.sim.decoder import Group, Op
from genesys.sim.errors import DataError
from genesys.sim.functions import OPERANDS, PLAIN, DType, apply
from genesys.sim.state import MachineState

_NS = {v: k for k, v in NS.items}
N_SIMD_LOOPS = 8
MAX_ITERATIONS = 1 << 24  # per loop body
COMPUTE_OPCODES = ("ALU", "CALCULUS", "COMPARISON", "DATATYPE_CAST")
ROW_SPACES = ("OBUF", "VMEM1", "VMEM2")
WIDTH_DTYPES = {8: np.dtype("<i1"), 16: np.dtype("<i2"), 32: np.dtype("<i4")}


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & (1 << 31) else v


@dataclass
class Loop:
    op: Op
    loop_id: int
    count: int
    binding: tuple | None = None  # ((ns, idx) for dst, src1, src2), from SET_INDEX


@dataclass
class Channel:
    """One transfer channel (LD or ST of VMEM1 or VMEM2): its configuration stays set for the group."""
    base: list[int] = field(default_factory=lambda: [0, 0])
    tile_addr: list[int] = field(default_factory=lambda: [0, 0])
    base_loops: dict[int, list[int]] = field(default_factory=dict)  # k -> [count, stride lo, stride hi]
    tile_loops: dict[int, list[int]] = field(default_factory=dict)

    def nest(self) -> tuple[list[int], list[int]]:
        counts, strides = [], []
        for loops in (self.base_loops, self.tile_loops):
            for k in sorted(loops):
                c, lo, hi = loops[k]
                counts.append(c)
                strides.append(_s32((hi << 16) | lo))
        return counts, strides


@dataclass
class Access:
    space: str
    rows: np.ndarray  # (T,) row per iteration
    write: bool
    strides: tuple[int, ...]  # row stride per loop


class SIMDGroup:
    """Executes one SIMD group; `account` receives timing operations and byte counts."""

    def __init__(self, state: MachineState, account):
        self.state = state
        self.account = account
        self.lanes = state.arch.SIMD_LANES
        self.dtype = PLAIN
        self.iters: dict[tuple[str, int], list[int]] = {}  # (ns, idx) -> [base, stride]
        self.pending: list[Loop] = []
        self.channels: dict[tuple[str, str], Channel] = {}

    # ---- the group --------------------------------------------------------------------------------
    def run(self, group: Group) -> None:
        body = group.body
        k = 0
        while k < len(body):
            op = body[k]
            opcode = op.opcode
            m = op.mnemonic
            if opcode in COMPUTE_OPCODES:
                self._body([op], [])
            elif m == "SET_INST":
                n = op.f["NUM_INSTR"]
                if n == 0 or k + 1 + n > len(body):
                    raise op.error(f"SET_INST announces a body of {n} instructions but the group has "
                                   f"{len(body) - k - 1} more (a body holds 1 or more instructions inside its group)")
                ops = body[k + 1:k + 1 + n]
                for b in ops:
                    if b.opcode not in COMPUTE_OPCODES:
                        raise b.error(f"{b.mnemonic} cannot be in a loop body (started by SET_INST at instruction "
                                      f"{op.index}): bodies hold ALU, CALCULUS, COMPARISON and DATATYPE_CAST only")
                loops = self.pending if op.f["NESTED"] else self.pending[-1:]
                self._body(ops, loops)
                self.pending = []
                k += n
            elif m == "SET_ITER":
                self._set_iter(op)
            elif m == "SET_INDEX":
                if not self.pending:
                    raise op.error("SET_INDEX binds iterators to the most recently configured loop, but no loop has "
                                   "been configured (SET_ITER) since the last body")
                f = op.f
                self.pending[-1].binding = ((_NS.get(f["DST_NS"]), f["DST_IDX"]),
                                            (_NS.get(f["SRC1_NS"]), f["SRC1_IDX"]),
                                            (_NS.get(f["SRC2_NS"]), f["SRC2_IDX"]))
            elif m == "DTYPE_CFG":
                self._dtype(op)
            elif opcode == "ITERATOR_CONFIG":
                self._iterator(op)
            elif opcode == "LD_ST":
                self._transfer_cfg(op)
            else:  # PERMUTATION
                raise op.error("PERMUTATION is not implemented (docs/isa.md, Semantics §4): the compiler does not "
                               "emit it")
            k += 1

    # ---- configuration -----------------------------------------------------------------------------
    def _set_iter(self, op: Op) -> None:
        loop_id, n = op.f["SIMD_LOOP_ID"], op.f["NUM_ITER"]
        if n == 0:
            raise op.error("SET_ITER gives a loop 1 or more iterations, not 0")
        if any(p.loop_id == loop_id for p in self.pending):
            raise op.error(f"SIMD loop {loop_id} is configured twice before its body")
        self.pending.append(Loop(op, loop_id, n))

    def _dtype(self, op: Op) -> None:
        kind = DTYPE.symbol_of(op.f["DTYPE"])
        if kind == "32FP":
            self.dtype = DType("FP")
            return
        if kind != "32FXP":
            raise op.error(f"DTYPE_CFG {kind} is rejected: only 32FXP and 32FP are supported (narrow formats are "
                           "reached with DATATYPE_CAST)")
        bits = (op.f["DST_BITS"], op.f["SRC1_BITS"], op.f["SRC2_BITS"])
        if max(bits) > 32:
            raise op.error(f"32FXP integer bits must be 0..32, got {bits[0]}, {bits[1]}, {bits[2]}")
        self.dtype = DType("FXP", 32 - bits[0], 32 - bits[1], 32 - bits[2])

    def _iterator(self, op: Op) -> None:
        m, f = op.mnemonic, op.f
        ns, idx, imm = _NS.get(f["NS"]), f["NS_IDX"], f["IMM"]
        if m in ("SET_IMM_LOW", "SET_IMM_HIGH", "IMM_SIGN_EXT"):
            if ns != "IMM":
                raise op.error(f"{m} writes an immediate: its namespace must be IMM, not {ns}")
            self.state.imm[idx] = _s32(_half(int(self.state.imm[idx]), m, imm))
            return
        if ns == "IMM":
            raise op.error(f"IMM entries are scalars, not iterators: {m} needs OBUF, VMEM1 or VMEM2")
        reg = self.iters.setdefault((ns, idx), [0, 0])
        slot = 0 if m.startswith("BASE") else 1
        reg[slot] = _s32(_half(reg[slot], m, imm))

    def _transfer_cfg(self, op: Op) -> None:
        m, f = op.mnemonic, op.f
        ns = LDST_NS.symbol_of(f["LDST_NS"])
        if ns not in ("VMEM1", "VMEM2"):
            raise op.error(f"SIMD transfers move VMEM1 or VMEM2, not {ns}")
        direction, what = m[:2], m[3:]
        ch = self.channels.setdefault((direction, ns), Channel())
        if what == "START":
            self._transfer(op, direction == "LD", ns, ch)
        elif what == "CONFIG_BASE_ADDR":
            ch.base[f["LSB_MSB"]] = f["BASE_ADDR"]
        elif what == "CONFIG_TILE_ADDR":
            ch.tile_addr[f["LSB_MSB"]] = f["BASE_ADDR"]
        else:
            loops = ch.base_loops if "BASE_LOOP" in what else ch.tile_loops
            entry = loops.setdefault(f["LOOP_IDX"], [1, 0, 0])
            if what.endswith("ITER"):
                entry[0] = f["NUM_ITER"] + 1
            else:
                entry[1 + f["LSB_MSB"]] = f["STRIDE"]

    # ---- transfers ---------------------------------------------------------------------------------
    def _transfer(self, op: Op, load: bool, ns: str, ch: Channel) -> None:
        state = self.state
        width = op.f["DATA_WIDTH"] + 1
        req = op.f["REQ_SIZE"]
        if width not in WIDTH_DTYPES:
            raise op.error(f"element width {width} bits (DATA_WIDTH field {width - 1}) is not 8, 16 or 32")
        eb = width // 8
        if req == 0 or req % eb:
            raise op.error(f"a request of {req} bytes is not a positive whole number of {width}-bit elements")
        counts, strides = ch.nest()
        vmem = state.buffer(ns)
        flat = vmem.reshape(-1)
        tile = (ch.tile_addr[1] << 16) | ch.tile_addr[0]
        n_elem = math.prod(counts) * req // eb
        start = tile * self.lanes
        if tile >= vmem.shape[0] or start + n_elem > flat.size:
            raise op.error(f"the transfer moves {n_elem} elements from {ns} row {tile} on, up to row "
                           f"{(start + n_elem - 1) // self.lanes}, outside {ns} (rows 0..{vmem.shape[0] - 1})")
        addrs = ((ch.base[1] << 16) | ch.base[0]) + dma.grid_offsets(counts, strides)
        problem = dma.dram_range_problem(addrs, req, state.dram.size)
        if problem:
            raise op.error(problem)
        dt = WIDTH_DTYPES[width]
        if load:
            raw = np.ascontiguousarray(dma.gather(state.dram, addrs, req))
            flat[start:start + n_elem] = raw.view(dt)
        else:
            data = flat[start:start + n_elem].astype(dt).view(np.uint8)  # each lane's low `width` bits
            dma.scatter(state.dram, addrs, req, data)
            state.dram_high_water = max(state.dram_high_water, int(addrs.max()) + req)
        n_bytes = addrs.size * req
        rows = (tile, -(-(start + n_elem) // self.lanes))
        dram = ("DRAM", int(addrs.min()), int(addrs.max()) + req)
        beats = dma.beats(addrs, req, state.arch.buffers["VMEM"].bytes_per_beat)
        if load:
            self.account.transfer(ns, True, n_bytes, beats, reads=[dram], writes=[(ns, *rows)])
        else:
            self.account.transfer(ns, False, n_bytes, beats, reads=[(ns, *rows)], writes=[dram])

    # ---- compute -----------------------------------------------------------------------------------
    def _position_strides(self, loops: list[Loop]) -> list[tuple[int, ...]]:
        """Per operand position (dst, src1, src2): the row stride of each loop (the bound iterator's stride)."""
        out = []
        for pos in range(3):
            strides = []
            for lp in loops:
                if lp.binding is None:
                    strides.append(0)
                else:
                    bns, bidx = lp.binding[pos]
                    strides.append(self.iters.get((bns, bidx), (0, 0))[1] if bns != "IMM" else 0)
            out.append(tuple(strides))
        return out

    def _operand_rows(self, op: Op, pos: int, ns: str, idx: int, loops: list[Loop]) -> np.ndarray:
        base = self.iters.get((ns, idx), (0, 0))[0]
        strides = self._pos_strides[pos]
        key = (ns, base, strides)
        rows = self._rows_cache.get(key)
        if rows is not None:
            return rows
        counts = [lp.count for lp in loops]
        depth = self.state.buffer(ns).shape[0]
        lo = base + sum(min(0, (c - 1) * st) for c, st in zip(counts, strides, strict=True))
        hi = base + sum(max(0, (c - 1) * st) for c, st in zip(counts, strides, strict=True))
        rows = base + dma.grid_offsets(counts, strides)
        if lo < 0 or hi >= depth:
            bad = int(np.flatnonzero((rows < 0) | (rows >= depth))[0])
            idxs = np.unravel_index(bad, counts) if loops else ()
            where = ", ".join(f"loop {lp.loop_id} = {int(i)}" for lp, i in zip(loops, idxs, strict=True))
            role = ("destination", "source 1", "source 2")[pos]
            raise op.error(f"the {role} row {int(rows[bad])} of {ns} at iteration ({where or 'the only one'}) is "
                           f"outside {ns} (rows 0..{depth - 1}); check iterator {ns}[{idx}] and the loop bindings")
        self._rows_cache[key] = rows
        self._spans[id(rows)] = (lo, hi + 1)
        self._strides[id(rows)] = tuple(strides)
        self._slices[id(rows)] = _progression(base, counts, strides)
        return rows

    def _body(self, ops: list[Op], loops: list[Loop]) -> None:
        self._rows_cache: dict = {}
        self._spans: dict[int, tuple[int, int]] = {}
        self._strides: dict[int, tuple[int, ...]] = {}
        self._slices: dict[int, slice | None] = {}  # rows that are one arithmetic progression
        self._pos_strides = self._position_strides(loops)
        counts = [lp.count for lp in loops]
        total = math.prod(counts)
        if total > MAX_ITERATIONS:
            head = loops[0].op if loops else ops[0]
            raise head.error(f"the loop nest has {total} iterations; the simulator runs at most {MAX_ITERATIONS} "
                             "per body (split the work)")
        plans = []
        accesses: list[Access] = []
        for op in ops:
            f = op.f
            uses = OPERANDS[op.mnemonic]
            if op.mnemonic == "NOP":
                plans.append((op, None, None, None, None))
                continue
            names = (("DST_NS", "DST_IDX"), ("SRC1_NS", "SRC1_IDX"), ("SRC2_NS", "SRC2_IDX"))
            ends = []
            for pos, (nk, ik) in enumerate(names):
                used = pos == 0 or uses[pos - 1]
                if not used:
                    ends.append(None)
                    continue
                ns, idx = _NS.get(f[nk]), f[ik]
                if ns == "IBUF":
                    raise op.error("the SIMD does not access IBUF in this implementation (docs/isa.md (Semantics) "
                                   "section 4)")
                if pos == 0 and ns in ("OBUF", "IMM"):
                    raise op.error(f"{ns} cannot be a destination: OBUF is read-only for the SIMD and IMM entries "
                                   "are written with SET_IMM_LOW/SET_IMM_HIGH/IMM_SIGN_EXT")
                if ns == "IMM":
                    ends.append(("IMM", idx, None))
                    continue
                rows = self._operand_rows(op, pos, ns, idx, loops)
                ends.append((ns, idx, rows))
                strides = self._strides[id(rows)]
                accesses.append(Access(ns, rows, pos == 0, strides))
                if pos == 0 and uses[2]:  # the function reads the destination's old value too
                    accesses.append(Access(ns, rows, False, strides))
            plans.append((op, *ends, uses[2]))
        split = self._split(accesses, counts)
        self._execute(plans, counts, split)
        n_compute = sum(1 for p in plans if p[1] is not None)
        if n_compute == 0:  # only NOPs: nothing reaches the SIMD pipeline
            return
        reads, writes = [], []
        for a in accesses:
            (writes if a.write else reads).append((a.space, *self._spans[id(a.rows)]))
        self.account.simd_body(total * n_compute, reads, writes)

    def _split(self, accesses: list[Access], counts: list[int]) -> list[int]:
        """The loops to step in Python (empty: the whole body is vectorized)."""
        active = [k for k, c in enumerate(counts) if c > 1]
        if not active:
            return []
        candidates = [[]]
        carried = sorted({k for k in active for a in accesses if a.write and a.strides[k] == 0})
        if carried:
            candidates.append(carried)
        for cand in candidates:
            if self._independent(accesses, counts, cand):
                return cand
        return active

    def _obviously_independent(self, accesses: list[Access]) -> bool:
        """Cheap sufficient test for full vectorization: every written operand hits distinct rows, and every
        other access to its buffer either uses exactly the same rows (same iteration) or a disjoint range."""
        for w in accesses:
            if not w.write:
                continue
            sl = self._slices[id(w.rows)]
            distinct = sl is not None and (sl.step != 0 or w.rows.size == 1)
            if not distinct and w.rows.size > 1 and np.bincount(w.rows).max() > 1:
                return False
            wlo, whi = self._spans[id(w.rows)]
            for a in accesses:
                if a.space != w.space or a.rows is w.rows:
                    continue
                alo, ahi = self._spans[id(a.rows)]
                if (alo < whi and wlo < ahi) and not np.array_equal(a.rows, w.rows):
                    return False
        return True

    def _independent(self, accesses: list[Access], counts: list[int], stepped: list[int]) -> bool:
        """No row written by one vectorized point is touched by another vectorized point."""
        if not stepped and self._obviously_independent(accesses):
            return True
        vec = [k for k in range(len(counts)) if k not in stepped]
        strides = [0] * len(counts)
        acc = 1
        for k in reversed(vec):
            strides[k] = acc
            acc *= counts[k]
        vid = dma.grid_offsets(counts, strides)
        for space in {a.space for a in accesses if a.write}:
            mine = [a for a in accesses if a.space == space]
            depth = self.state.buffer(space).shape[0]
            rows = np.concatenate([a.rows for a in mine])
            vids = np.tile(vid, len(mine))
            lo = np.full(depth, np.iinfo(np.int64).max)
            hi = np.full(depth, -1)
            np.minimum.at(lo, rows, vids)
            np.maximum.at(hi, rows, vids)
            written = np.zeros(depth, bool)
            for a in mine:
                if a.write:
                    written[a.rows] = True
            if np.any(written & (lo != hi)):
                return False
        return True

    def _execute(self, plans, counts: list[int], stepped: list[int]) -> None:
        vec = [k for k in range(len(counts)) if k not in stepped]
        perm = stepped + vec
        n_step = math.prod(counts[k] for k in stepped)
        n_vec = math.prod(counts[k] for k in vec)

        def arrange(rows):
            if not counts:
                return rows.reshape(1, 1)
            return rows.reshape(counts).transpose(perm).reshape(n_step, n_vec)

        def arrange_operand(e):
            if e is None:
                return None
            ns, idx, rows = e
            if rows is None:
                return ns, idx, None
            if n_step == 1:  # one vectorized step: a progression of rows is a slice (a view, no gather)
                sl = self._slices[id(rows)]
                if sl is not None:
                    return ns, idx, [sl]
            return ns, idx, arrange(rows)

        arranged = [(op, arrange_operand(dst), arrange_operand(s1), arrange_operand(s2), reads_dst)
                    for op, dst, s1, s2, reads_dst in plans if dst is not None]
        state = self.state
        for s in range(n_step):
            for op, dst, s1, s2, reads_dst in arranged:
                a = self._read(s1, s)
                b = self._read(s2, s)
                d = self._read(dst, s) if reads_dst else None
                try:
                    out = apply(op.mnemonic, self.dtype, a, b, d)
                except DataError as e:
                    raise op.error(str(e)) from None
                if out is not None:
                    state.buffer(dst[0])[dst[2][s]] = out  # broadcasts IMM-only results over the rows

    def _read(self, operand, s: int):
        if operand is None:
            return None
        ns, idx, rows = operand
        if ns == "IMM":
            return self.state.imm[idx:idx + 1].reshape(1, 1)
        data = self.state.buffer(ns)[rows[s]]
        return data if data.dtype == np.int32 else data.astype(np.int32)  # OBUF wider than 32 bits: low word


def _progression(base: int, counts: list[int], strides: list[int]) -> slice | None:
    """The rows base + sum(i_l * s_l) in iteration order as one slice, when they form one arithmetic
    progression with a nonzero step (each loop's stride = step x the inner loops' iterations)."""
    step, inner = None, 1
    for c, st in zip(reversed(counts), reversed(strides), strict=True):
        if c == 1:
            continue
        if step is None:
            if st == 0:
                return None
            step = st
        elif st != step * inner:
            return None
        inner *= c
    if step is None:
        return slice(base, base + 1)
    stop = base + inner * step
    return slice(base, stop if stop >= 0 else None, step)


def _half(old: int, mnemonic: str, imm: int) -> int:
    """The new 32-bit register value for a *_SIGN_EXT / *_ZERO_FILL / *_LOW / *_HIGH write."""
    if mnemonic.endswith("SIGN_EXT"):
        return imm  # already sign-extended by the decoder (signed field)
    if mnemonic.endswith("ZERO_FILL"):
        return imm & 0xFFFF
    old &= 0xFFFFFFFF
    if mnemonic.endswith("LOW"):
        return (old & 0xFFFF0000) | imm
    return (old & 0x0000FFFF) | (imm << 16)
