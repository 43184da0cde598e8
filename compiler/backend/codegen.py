"""Code generation: layouts, constants and the groups of every layer.

Array layers (conv, gemm): for every output tile (in the tiling's loop order) and every reduction tile,
one systolic-array group loads what changed (weights into WBUF, the bias into BBUF, the input tile into
IBUF) into the buffer half not in use, and runs the compute nest

    for j < ic_t  (reduction: input-channel blocks)   for kh, kw  (reduction: taps)
      for oh < oh_t, ow < ow_t                          for q, r    (output-channel blocks, ocb = q*P + r)
        OBUF[(oh*ow_t + ow)*oc_t + ocb] += IBUF[input row] . WBUF[(ocb*ic_t + j)*KH*KW + kh*KW + kw]

(the reduction loops are outermost so an accumulator row is revisited only after a whole output tile,
clear of the array's pipeline hazard). After a tile's last reduction group, one SIMD group requantizes
its OBUF rows into VMEM1 (and adds the residual loaded into VMEM2) and stores them as int8 NHWC.
Double buffering is expressed with on-chip base rows (SET_BASE_ADDR ..., IMEM, ...): each buffer is two
halves and consecutive new tiles alternate between them, continuing across layers.

SIMD layers (pools, standalone add/mul/clamp, concat, reshape) load input rows into VMEM, run loop
bodies, and store the result; their tiles also alternate between VMEM halves.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from genesys.arch import Arch
from genesys.compiler.backend import tiling as T
from genesys.compiler.backend.asm import Program, SAGroup, SimdGroup
from genesys.compiler.backend.codelets import lower
from genesys.compiler.backend.codelets.base import ArrayCodelet, BackendError, SimdCodelet
from genesys.compiler.backend.fusion import FusionPlan
from genesys.compiler.backend.layout import ActLayout, DramAllocator, act_dims, cdiv, ceil_to
from genesys.compiler.backend.simd_emit import emit_steps, n_bodies
from genesys.compiler.ir import Graph, Node


# ---- lowering context -----------------------------------------------------------------------------
@dataclass
class Context:
    arch: Arch
    graph: Graph
    plan: FusionPlan
    device_inputs: set[str]
    options: dict

    @property
    def A(self) -> int:
        return max(self.arch.ARRAY_N, self.arch.ARRAY_M)

    @property
    def fused_add(self) -> dict[str, Node]:
        return self.plan.fused_add

    def final_output(self, node: Node) -> str:
        add = self.plan.fused_add.get(node.name)
        return (add or node).outputs[0]

    def packs_input(self, node: Node, geo: dict, groups: int) -> bool:
        """Gather a small-channel graph input per output pixel (see codelets/conv.py)."""
        x = node.inputs[0]
        if not self.options.get("pack_input", True) or x not in self.device_inputs or groups != 1:
            return False
        if len(self.graph.consumers(x)) != 1 or x in self.graph.outputs or geo["IC"] >= self.A:
            return False
        from genesys.compiler.backend.codelets.conv import pack_geometry
        khp, xb = pack_geometry(geo["KH"], geo["KW"], geo["IC"], self.arch.ARRAY_N)
        dense = cdiv(geo["IC"], self.arch.ARRAY_N) * geo["KH"] * geo["KW"]
        return geo["DH"] == 1 and geo["DW"] == 1 and khp * xb // self.arch.ARRAY_N < dense


# ---- layer records --------------------------------------------------------------------------------
@dataclass
class LayerCode:
    name: str
    op: str
    nodes: list[str]
    engine: str
    groups: list = field(default_factory=list)
    tiling: dict = field(default_factory=dict)
    macs: int = 0
    first_group: int = 0
    last_group: int = 0
    steps: list = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    run: int = 0  # layers interleaved with each other share a run
    codelet: object = None
    meta: dict = field(default_factory=dict)


class CodeGen:
    def __init__(self, arch: Arch, graph: Graph, ctx: Context, options: dict):
        self.arch, self.g, self.ctx, self.opt = arch, graph, ctx, options
        self.n, self.m, self.lanes = arch.ARRAY_N, arch.ARRAY_M, arch.SIMD_LANES
        self.A = ctx.A
        self.depth = {k: v.depth for k, v in arch.buffers.items()}
        self.mach = T.Machine.of(arch, int(options.get("dma_latency", 100)))
        self.dram = DramAllocator()
        self.layouts: dict[str, ActLayout] = {}
        self.program = Program(arch.buffers["IMEM"].depth)
        self.slot: dict[tuple, int] = {}
        self.region = (0, 1)  # (index, count): this layer's share of every buffer
        self._tilings: dict[tuple, T.Tiling] = {}
        self.layers: list[LayerCode] = []

    # ---- layouts ----------------------------------------------------------------------------------
    def plan_layouts(self, codelets: dict[str, object]) -> None:
        """Channel padding, borders and pad values of every device tensor, then DRAM addresses. A Reshape
        whose input and output lay out alike (same shape, or [1, C, 1, 1] <-> [1, C]) shares its input's
        region (an alias: no code)."""
        g = self.g
        alias: dict[str, str] = {}
        for c in codelets.values():
            if isinstance(c, SimdCodelet) and c.kind == "reshape" and self._same_layout(c):
                src = c.inputs[0]
                alias[c.y] = alias.get(src, src)
        root = lambda t: alias.get(t, t)  # noqa: E731
        need: dict[str, list[int]] = {}
        padval: dict[str, tuple[int, str]] = {}

        def want(t: str, border, value: int, who: str):
            t = root(t)
            if not any(border):
                return
            cur = need.setdefault(t, [0, 0, 0, 0])
            for k in range(4):
                cur[k] = max(cur[k], int(border[k]))
            if t in padval and padval[t][0] != value:
                raise BackendError(who, f"tensor '{t}' needs border value {value} here but {padval[t][0]} for "
                                   f"'{padval[t][1]}'; give the consumers the same padding")
            padval[t] = (value, who)

        for name, c in codelets.items():
            if isinstance(c, ArrayCodelet) and c.op == "conv":
                X = g.tensors[c.x]
                zx = int(np.asarray(X.quant.zero_point).reshape(-1)[0])
                want(c.x, self._conv_border(c), zx, name)
            elif isinstance(c, SimdCodelet) and c.kind == "pool":
                p = c.params
                want(c.inputs[0], self._window_border(p), int(p["pad_value"]), name)
        packed = {c.x for c in codelets.values() if isinstance(c, ArrayCodelet) and c.packed is not None}
        for t, T_ in g.tensors.items():
            if T_.is_const or T_.dtype not in ("int8", "uint8") or t in alias:
                continue
            c_, h, w = act_dims(tuple(T_.shape), t)
            cp = c_ if t in packed else ceil_to(c_, self.A)
            border = tuple(need.get(t, (0, 0, 0, 0)))
            lay = ActLayout(t, c_, h, w, cp, border, padval.get(t, (0, ""))[0], logical_shape=tuple(T_.shape))
            lay.addr = self.dram.alloc(lay.nbytes, f"activation {t}", lay.image() if lay.pad_value else None)
            self.layouts[t] = lay
        for t, src in alias.items():
            s = self.layouts[src]
            self.layouts[t] = ActLayout(t, s.c, s.h, s.w, s.cp, s.border, s.pad_value, s.addr,
                                        logical_shape=tuple(g.tensors[t].shape))

    def _same_layout(self, c: SimdCodelet) -> bool:
        X, Y = self.g.tensors[c.inputs[0]], self.g.tensors[c.y]
        if tuple(X.shape) == tuple(Y.shape):
            return True
        cx, hx, wx = act_dims(tuple(X.shape), c.inputs[0])
        cy, hy, wy = act_dims(tuple(Y.shape), c.y)
        return hx == wx == hy == wy == 1 and cx == cy

    def _conv_border(self, c: ArrayCodelet) -> tuple[int, int, int, int]:
        pt, pl, _, _ = c.pads
        if c.packed is not None:
            khp, xb, ch = c.packed["KHp"], c.packed["X"], c.packed["C"]
            last_row = (c.OH - 1) * c.attrs["strides"][0] - pt + khp - 1
            last_col = (c.OW - 1) * c.attrs["strides"][1] - pl + cdiv(xb, ch) - 1
            return (pt, pl, max(0, last_row - (c.IH - 1)), max(0, last_col - (c.IW - 1)))
        last_row = (c.OH - 1) * c.SH - pt + (c.KH - 1) * c.DH
        last_col = (c.OW - 1) * c.SW - pl + (c.KW - 1) * c.DW
        return (pt, pl, max(0, last_row - (c.IH - 1)), max(0, last_col - (c.IW - 1)))

    @staticmethod
    def _window_border(p: dict) -> tuple[int, int, int, int]:
        pt, pl, _, _ = p["pads"]
        last_row = (p["OH"] - 1) * p["SH"] - pt + (p["KH"] - 1) * p["DH"]
        last_col = (p["OW"] - 1) * p["SW"] - pl + (p["KW"] - 1) * p["DW"]
        return (pt, pl, max(0, last_row - (p["IH"] - 1)), max(0, last_col - (p["IW"] - 1)))

    # ---- slots -----------------------------------------------------------------------------------
    def region_rows(self, buf: str) -> tuple[int, int]:
        """(first row, rows) of the current layer's region of `buf`: the whole buffer, or 1/k of it when k
        interleaved layers share the buffers."""
        i, k = self.region
        size = self.depth["VMEM" if buf.startswith("VMEM") else buf] // k
        return i * size, size

    def next_slot(self, buf: str, double: bool) -> int:
        """Base row of the next free half of the current region of `buf` (its start without double buffering).
        Halves alternate per buffer and region, continuing across layers."""
        first, size = self.region_rows(buf)
        if not double:
            return first
        n = self.slots_of(buf)
        key = (buf, self.region, n)
        s = self.slot.get(key, 0)
        self.slot[key] = (s + 1) % n
        return first + s * (size // n)

    def slots_of(self, buf: str) -> int:
        """Slots of a buffer in the current region: halves, or T.OUT_SLOTS output tiles for interleaved layers."""
        return T.OUT_SLOTS if self.region[1] > 1 and buf in ("OBUF", "VMEM1", "VMEM2") else 2

    # ---- array layers ----------------------------------------------------------------------------
    def tile(self, c: ArrayCodelet, forced: dict, double: bool, share: int = 1) -> T.Tiling:
        """The layer's tiling; layers of the same shape (a network's repeated blocks) share one search."""
        nb = n_bodies(c.epilogue.steps)
        key = (c.op, c.IH, c.IW, c.OH, c.OW, c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, c.pads, c.ICB, c.OCB, c.P, c.S, c.R,
               str(c.packed), c.epilogue.n_instr, nb, bool(c.epilogue.residual), double, share,
               tuple(sorted(forced.items())))
        hit = self._tilings.get(key)
        if hit is None:
            hit = T.choose(c, self.arch, self.mach, T.simd_estimator(c, self.mach, nb), double, forced, share)
            self._tilings[key] = hit
        return dataclasses.replace(hit, breakdown=dict(hit.breakdown), footprint=dict(hit.footprint))

    def array_layer(self, c: ArrayCodelet, t: T.Tiling, double: bool) -> LayerCode:
        """The groups of an array layer as steps, one per output tile (its reduction groups and its SIMD
        epilogue), each with the input rows it needs and the output rows complete after it."""
        code = LayerCode(c.layer, c.op, c.nodes, "array", macs=c.macs, codelet=c,
                         tiling=t.describe(self.arch))
        if self.region[1] > 1:
            code.tiling["interleaved_share"] = self.region[1]
            code.tiling["output_slots"] = self.slots_of("OBUF")
        geo = T.Geometry(c, t.oc_t, t.ic_t, t.oh_t, t.ow_t)
        n, m = self.n, self.m
        xl, yl = self.layouts[c.x], self.layouts[c.y]
        rl = self.layouts[c.epilogue.residual] if c.epilogue.residual else None
        ext = {"oc": T._extents(c.OCB, t.oc_t), "oh": T._extents(c.OH, t.oh_t), "ow": T._extents(c.OW, t.ow_t)}
        ic_ext = T._extents(c.R, t.ic_t)
        tiles = list(np.ndindex(*[len(ext[d]) for d in t.order]))
        # constants: weights in first-use order of (oc tile, ic tile), bias, channel vector
        w_addr: dict[tuple[int, int], int] = {}
        wdata = []
        top = 0
        for tile in tiles:
            oc_i = tile[t.order.index("oc")]
            for k in range(len(ic_ext)):
                if (oc_i, k) in w_addr:
                    continue
                oc0, j0 = oc_i * t.oc_t, k * t.ic_t
                blk = c.wblocks[oc0:oc0 + ext["oc"][oc_i], j0:j0 + ic_ext[k]]  # [oc, j, kh, kw, N, M]
                w_addr[(oc_i, k)] = top
                wdata.append(np.ascontiguousarray(blk).reshape(-1))
                top += blk.size
        wall = np.concatenate(wdata)
        w_base = self.dram.alloc(wall.size, f"weights {c.layer}", wall)
        b_base = self.dram.alloc(c.bias.size * 4, f"bias {c.layer}", c.bias.astype("<i4"))
        cv = c.epilogue.channel_vector.astype("<f4")
        cv_base = self.dram.alloc(cv.size * 4, f"scales {c.layer}", cv)
        resident = {"IBUF": None, "WBUF": None, "BBUF": None}
        chip = {"IBUF": 0, "WBUF": 0, "BBUF": 0}
        geom = []  # per tile: (oc_i, oh_i, ow_i, oc0, oh0, ow0, oc_e, oh_e, ow_e)
        for tile in tiles:
            pos = dict(zip(t.order, tile, strict=True))
            oc_i, oh_i, ow_i = pos["oc"], pos["oh"], pos["ow"]
            geom.append((oc_i, oh_i, ow_i, oc_i * t.oc_t, oh_i * t.oh_t, ow_i * t.ow_t,
                         int(ext["oc"][oc_i]), int(ext["oh"][oh_i]), int(ext["ow"][ow_i])))
        vslots = [self.next_slot("VMEM1", double) for _ in geom]
        v2_first, v2_rows = self.region_rows("VMEM2")
        vdelta = v2_first - self.region_rows("VMEM1")[0]  # residual rows: same offset in VMEM2's region
        cv_row = v2_first + v2_rows - c.OCB
        last_of_row = {}
        for ti, gm in enumerate(geom):
            last_of_row[gm[1]] = ti

        def load_residual(s: SimdGroup, ti: int) -> None:
            _, _, _, oc0_, oh0_, ow0_, oc_e_, oh_e_, ow_e_ = geom[ti]
            self._tile_io(s, "LD", "VMEM2", rl, oh0_, ow0_, oh_e_, ow_e_, oc0_, oc_e_, vslots[ti] + vdelta)

        for ti, (oc_i, oh_i, ow_i, oc0, oh0, ow0, oc_e, oh_e, ow_e) in enumerate(geom):
            step = {"sa": [], "simd": None, "needs": self._needs(c, geo, oh0, oh_e), "simd_needs": {},
                    "produces": oh0 + oh_e if (last_of_row[oh_i] == ti and t.order[0] == "oh") else None,
                    "a_cost": 0.0, "s_cost": 0.0}
            code.steps.append(step)
            obase = self.next_slot("OBUF", double)
            for k, ic_e in enumerate(ic_ext):
                ic_e = int(ic_e)
                g = SAGroup(c.layer)
                # weights
                wkey = (oc_i, k)
                if resident["WBUF"] != wkey:
                    chip["WBUF"] = self.next_slot("WBUF", double)
                    rows = oc_e * ic_e * c.KH * c.KW
                    g.dram_base("WBUF", w_base + w_addr[wkey])
                    g.chip_base("WBUF", chip["WBUF"])
                    g.transfer("LD", "WBUF", [(rows, n * m)], n * m)
                    resident["WBUF"] = wkey
                else:
                    g.chip_base("WBUF", chip["WBUF"])
                # bias (read by the first reduction group of a tile only)
                if k == 0:
                    if resident["BBUF"] != oc_i:
                        chip["BBUF"] = self.next_slot("BBUF", double)
                        g.dram_base("BBUF", b_base + oc0 * m * 4)
                        g.chip_base("BBUF", chip["BBUF"])
                        g.transfer("LD", "BBUF", [], oc_e * m * 4)
                        resident["BBUF"] = oc_i
                    else:
                        g.chip_base("BBUF", chip["BBUF"])
                # input tile
                q0 = oc0 // c.P if c.S else 0
                ikey = (oh_i, ow_i, k, q0 if c.S else 0)
                nq = cdiv(oc_e, c.P) if c.S else 1
                ct = (nq - 1) * c.S + ic_e
                if resident["IBUF"] != ikey:
                    chip["IBUF"] = self.next_slot("IBUF", double)
                    self._load_input(g, c, geo, xl, oh0, ow0, oh_e, ow_e, q0 * c.S + k * t.ic_t, ct, chip["IBUF"])
                    resident["IBUF"] = ikey
                else:
                    g.chip_base("IBUF", chip["IBUF"])
                g.chip_base("OBUF", obase)
                self._nest(g, c, geo, oc_e, ic_e, oh_e, ow_e, ct, outer=k > 0)
                step["sa"].append(g)
                step["a_cost"] += oc_e * ic_e * c.KH * c.KW * oh_e * ow_e + n + m
            # SIMD epilogue for the finished tile. With double buffering the residual of the next tile is
            # loaded here, ahead of this tile's bodies, so the SIMD never waits for its own transfers.
            s = SimdGroup(c.layer)
            vbase = vslots[ti]
            if ti == 0:
                self._vmem_load(s, "VMEM2", cv_base, [], c.OCB * m * 4, cv_row, 32)
            bases = {"acc": ("OBUF", obase), "x": ("VMEM1", vbase), "ch": ("VMEM2", cv_row + oc0)}
            if rl is not None:  # the residual tile sits in VMEM2 at the working rows' offset
                bases["r"] = ("VMEM2", vbase + vdelta)
                if ti == 0 or not double:
                    load_residual(s, ti)
                if double and ti + 1 < len(geom):
                    load_residual(s, ti + 1)
                nxt = geom[ti + 1] if double and ti + 1 < len(geom) else geom[ti]
                step["simd_needs"] = {c.epilogue.residual: max(oh0 + oh_e, nxt[4] + nxt[7])}
            emit_steps(s, c.epilogue.steps, bases, oh_e * ow_e, oc_e)
            self._tile_io(s, "ST", "VMEM1", yl, oh0, ow0, oh_e, ow_e, oc0, oc_e, vbase)
            step["simd"] = s
            step["s_cost"] = s.body_cost
        code.groups = [g for st in code.steps for g in [*st["sa"], st["simd"]]]
        return code

    def _needs(self, c: ArrayCodelet, geo: T.Geometry, oh0: int, oh_e: int) -> dict[str, int]:
        """Rows of each DRAM input a tile reads (one past the last), for interleaving."""
        last = oh0 + oh_e - 1
        if c.packed is not None:
            row = last * c.attrs["strides"][0] - c.pads[0] + c.packed["KHp"]
        elif geo.subsampled:
            row = last * c.SH - c.pads[0] + 1
        else:
            row = last * c.SH - c.pads[0] + (c.KH - 1) * c.DH + 1
        needs = {c.x: max(1, min(row, c.IH))}
        if c.epilogue.residual:
            needs[c.epilogue.residual] = oh0 + oh_e
        return needs

    def _load_input(self, g: SAGroup, c: ArrayCodelet, geo: T.Geometry, xl: ActLayout, oh0, ow0, oh_e, ow_e,
                    cblk0: int, ct: int, chip_row: int) -> None:
        n = self.n
        pt, pl = c.pads[0], c.pads[1]
        if c.packed is not None:
            sh, sw = c.attrs["strides"]
            addr = xl.pixel(oh0 * sh - pt, ow0 * sw - pl)
            loops = [(oh_e, sh * xl.row_pitch), (ow_e, sw * xl.cp), (c.packed["KHp"], xl.row_pitch)]
            req = c.packed["X"]
        else:
            ih_e, iw_e = geo.in_extent(oh_e, ow_e)
            sub = geo.subsampled
            addr = xl.pixel(oh0 * c.SH - pt, ow0 * c.SW - pl) + cblk0 * n
            rstep = c.SH if sub else 1
            cstep = c.SW if sub else 1
            if ct * n == xl.cp and cstep == 1 and iw_e * xl.cp <= 65535:
                loops, req = [(ih_e, rstep * xl.row_pitch)], iw_e * xl.cp
            else:
                loops, req = [(ih_e, rstep * xl.row_pitch), (iw_e, cstep * xl.cp)], ct * n
        g.dram_base("IBUF", addr)
        g.chip_base("IBUF", chip_row)
        g.transfer("LD", "IBUF", loops, req)

    def _nest(self, g: SAGroup, c: ArrayCodelet, geo: T.Geometry, oc_e, ic_e, oh_e, ow_e, ct, outer: bool) -> None:
        kh, kw = c.KH, c.KW
        sub = geo.subsampled or c.packed is not None
        ih_e, iw_e = geo.in_extent(oh_e, ow_e)
        sh = 1 if sub else c.SH
        sw = 1 if sub else c.SW
        taps = kh * kw
        if c.S:
            nq, nr = cdiv(oc_e, c.P), min(c.P, oc_e)
        else:
            nq, nr = 1, oc_e
        if outer:
            g.outer_reduction("ic")
        loops = [
            (ic_e, {"IBUF": 1, "WBUF": taps}, "ic"),
            (kh, {"IBUF": c.DH * iw_e * ct, "WBUF": kw}, "kh"),
            (kw, {"IBUF": c.DW * ct, "WBUF": 1}, "kw"),
            (oh_e, {"IBUF": sh * iw_e * ct, "OBUF": ow_e * oc_e}, None),
            (ow_e, {"IBUF": sw * ct, "OBUF": oc_e}, None),
            (nq, {"IBUF": c.S, "WBUF": c.P * ic_e * taps, "OBUF": c.P, "BBUF": c.P}, None),
            (nr, {"WBUF": ic_e * taps, "OBUF": 1, "BBUF": 1}, None),
        ]
        emitted = False
        for count, strides, red in loops:
            if count > 1:
                g.compute_loop(count, strides, reduction=red)
                emitted = True
        if not emitted:
            g.compute_loop(1, {})

    # ---- SIMD transfers of tiles --------------------------------------------------------------------
    def _tile_io(self, s: SimdGroup, direction: str, ns: str, lay: ActLayout, oh0, ow0, oh_e, ow_e, oc0, oc_e,
                 vrow: int) -> None:
        """Move a tile [oh][ow][ocb] of int8 rows between VMEM and its NHWC place in DRAM."""
        m = self.m
        addr = lay.pixel(oh0, ow0) + oc0 * m
        per_pixel = oc_e * m
        if per_pixel == lay.cp and ow_e * lay.cp <= 65535:
            loops, req = [(oh_e, lay.row_pitch)], ow_e * lay.cp
        else:
            loops, req = [(oh_e, lay.row_pitch), (ow_e, lay.cp)], per_pixel
        s.transfer(direction, ns, addr, loops, req, vrow, 8)

    def _vmem_load(self, s: SimdGroup, ns: str, addr: int, loops, nbytes: int, vrow: int, width: int) -> None:
        if nbytes <= 65535:
            s.transfer("LD", ns, addr, loops, nbytes, vrow, width)
        else:
            row = 4 * self.lanes  # the vector is whole VMEM rows: one request per row
            s.transfer("LD", ns, addr, [(nbytes // row, row)], row, vrow, width)

    # ---- SIMD layers ------------------------------------------------------------------------------
    def simd_layer(self, c: SimdCodelet, op: str, double: bool) -> LayerCode:
        code = LayerCode(c.layer, op, c.nodes, "simd", codelet=c)
        if c.kind == "eltwise":
            self._eltwise(c, code, double)
        elif c.kind == "pool":
            self._pool(c, code, double)
        elif c.kind == "concat":
            self._concat(c, code, double)
        elif c.kind == "reshape":
            self._reshape(c, code, double)
        else:
            raise BackendError(c.layer, f"unknown SIMD codelet kind {c.kind}")
        return code

    @staticmethod
    def _pipelined(code: LayerCode, layer: str, items: list, double: bool) -> None:
        """One SIMD group per tile; with double buffering group t also starts the loads of tile t + 1 (into
        the other half), before its own bodies, so loads, bodies and stores of neighbouring tiles overlap."""
        for i, (load, work) in enumerate(items):
            s = SimdGroup(layer)
            if i == 0 or not double:
                load(s)
            if double and i + 1 < len(items):
                items[i + 1][0](s)
            work(s)
            code.groups.append(s)

    def _half(self, double: bool) -> int:
        return self.depth["VMEM"] // (2 if double else 1)

    def _eltwise(self, c: SimdCodelet, code: LayerCode, double: bool) -> None:
        yl = self.layouts[c.y]
        ins = [self.layouts[t] for t in c.inputs]
        cb = yl.cp // self.m
        per_row = yl.w * cb
        oh_t = max(1, min(yl.h, self._half(double) // per_row))
        if per_row > self._half(double):
            raise BackendError(c.layer, f"one output row needs {per_row} VMEM rows; a tile may use "
                               f"{self._half(double)}")
        n_tiles = cdiv(yl.h, oh_t)
        items = []
        for ti in range(n_tiles):
            oh0, oh_e = ti * oh_t, min(oh_t, yl.h - ti * oh_t)
            v1, v2 = self.next_slot("VMEM1", double), self.next_slot("VMEM2", double)

            def load(s, oh0=oh0, oh_e=oh_e, v1=v1, v2=v2):
                self._tile_io(s, "LD", "VMEM1", ins[0], oh0, 0, oh_e, yl.w, 0, cb, v1)
                if len(ins) > 1:
                    self._tile_io(s, "LD", "VMEM2", ins[1], oh0, 0, oh_e, yl.w, 0, cb, v2)

            def work(s, oh0=oh0, oh_e=oh_e, v1=v1, v2=v2):
                bases = {"x": ("VMEM1", v1), "r": ("VMEM2", v2)}
                emit_steps(s, c.epilogue.steps, bases, oh_e * yl.w, cb)
                self._tile_io(s, "ST", "VMEM1", yl, oh0, 0, oh_e, yl.w, 0, cb, v1)
            items.append((load, work))
        self._pipelined(code, c.layer, items, double)
        code.tiling = {"oh": oh_t, "tiles": n_tiles}

    def _pool(self, c: SimdCodelet, code: LayerCode, double: bool) -> None:
        p = c.params
        xl, yl = self.layouts[c.inputs[0]], self.layouts[c.y]
        lanes = self.lanes
        cbn = xl.cp // lanes
        half = self._half(double)
        pv = p.get("pixel_vector")
        ih_of = lambda oh: (oh - 1) * p["SH"] + (p["KH"] - 1) * p["DH"] + 1  # noqa: E731
        out_of = lambda oh, cb: oh * yl.w * cb + (oh * yl.w if pv is not None else 0)  # noqa: E731
        best = None
        for cb_t in sorted({cdiv(cbn, k) for k in range(1, cbn + 1)}, reverse=True):
            for oh_t in range(p["OH"], 0, -1):
                if ih_of(oh_t) * xl.wb * cb_t <= half and out_of(oh_t, cb_t) <= half:
                    best = (cb_t, oh_t)
                    break
            if best:
                break
        if best is None:
            raise BackendError(c.layer, f"cannot be tiled to fit VMEM: one output row of one channel block needs "
                               f"{ih_of(1) * xl.wb} input rows; a tile may use {half}")
        cb_t, oh_t = best
        pv_addr = None
        if pv is not None:  # one VMEM row (all lanes equal) per output pixel
            rows = np.repeat(pv.astype("<f4")[:, None], lanes, axis=1)
            pv_addr = self.dram.alloc(rows.nbytes, f"pool multipliers {c.layer}", rows)
        pt, pl = p["pads"][0], p["pads"][1]
        items = []
        for cb0 in range(0, cbn, cb_t):
            cb_e = min(cb_t, cbn - cb0)
            for oh0 in range(0, p["OH"], oh_t):
                oh_e = min(oh_t, p["OH"] - oh0)
                v1, v2 = self.next_slot("VMEM1", double), self.next_slot("VMEM2", double)

                def load(s, cb0=cb0, cb_e=cb_e, oh0=oh0, oh_e=oh_e, v1=v1, v2=v2):
                    # whole bordered rows of the channel blocks: [ih][iw incl. border][cb]
                    ih_e = ih_of(oh_e)
                    addr = xl.pixel(oh0 * p["SH"] - pt, -xl.border[1]) + cb0 * lanes
                    if cb_e == cbn and xl.wb * xl.cp <= 65535:
                        loops, req = [(ih_e, xl.row_pitch)], xl.wb * xl.cp
                    else:
                        loops, req = [(ih_e, xl.row_pitch), (xl.wb, xl.cp)], cb_e * lanes
                    s.transfer("LD", "VMEM2", addr, loops, req, v2, 8)
                    if pv_addr is not None:
                        self._vmem_load(s, "VMEM1", pv_addr + oh0 * yl.w * lanes * 4, [], oh_e * yl.w * lanes * 4,
                                        v1 + oh_e * yl.w * cb_e, 32)

                def work(s, cb0=cb0, cb_e=cb_e, oh0=oh0, oh_e=oh_e, v1=v1, v2=v2):
                    ih_e = ih_of(oh_e)
                    emit_steps(s, p["pre"], {"r": ("VMEM2", v2)}, ih_e * xl.wb * cb_e, 1)
                    out_rows = oh_e * yl.w * cb_e
                    bases = {"x": ("VMEM1", v1), "pv": ("VMEM1", v1 + out_rows)}
                    s.dtype("32FP" if p["fp"] else "32FXP")
                    init = s.imm(int(p["init"]))
                    x0 = s.it("VMEM1", v1)
                    one = ("VMEM1", s.it("VMEM1", 0, 1))
                    s.body([(out_rows, one, one, one)], [f"MOVE VMEM1, {x0}, IMM, {init}, IMM, {init}"])
                    col0 = (xl.border[1] - pl) * cb_e
                    src = s.it("VMEM2", v2 + col0)
                    loops5 = [
                        (oh_e, yl.w * cb_e, p["SH"] * xl.wb * cb_e),
                        (yl.w, cb_e, p["SW"] * cb_e),
                        (cb_e, 1, 1),
                        (p["KH"], 0, p["DH"] * xl.wb * cb_e),
                        (p["KW"], 0, p["DW"] * cb_e),
                    ]
                    bl = []
                    for count, ds, ss in loops5:
                        if count > 1:
                            d = ("VMEM1", s.it("VMEM1", 0, ds))
                            bl.append((count, d, d, ("VMEM2", s.it("VMEM2", 0, ss))))
                    if not bl:
                        d = ("VMEM1", s.it("VMEM1", 0, 0))
                        bl = [(1, d, d, d)]
                    s.body(bl, [f"{p['reduce']} VMEM1, {x0}, VMEM1, {x0}, VMEM2, {src}"])
                    emit_steps(s, p["post"], bases, oh_e * yl.w, cb_e)
                    self._pool_store(s, yl, oh0, oh_e, cb0, cb_e, v1)
                items.append((load, work))
        self._pipelined(code, c.layer, items, double)
        code.tiling = {"oh": oh_t, "channel_blocks": cb_t}

    def _pool_store(self, s: SimdGroup, yl: ActLayout, oh0, oh_e, cb0, cb_e, vrow) -> None:
        lanes = self.lanes
        addr = yl.pixel(oh0, 0) + cb0 * lanes
        if cb_e * lanes == yl.cp:
            loops, req = [(oh_e, yl.row_pitch)], yl.w * yl.cp
            if req > 65535:
                loops, req = [(oh_e, yl.row_pitch), (yl.w, yl.cp)], yl.cp
        else:
            loops, req = [(oh_e, yl.row_pitch), (yl.w, yl.cp)], cb_e * lanes
        s.transfer("ST", "VMEM1", addr, loops, req, vrow, 8)

    def _concat(self, c: SimdCodelet, code: LayerCode, double: bool) -> None:
        yl = self.layouts[c.y]
        half = self._half(double) * self.lanes  # elements a tile may hold
        for part in c.params["parts"]:
            xl = self.layouts[part["tensor"]]
            ch = part["channels"]
            per_row = yl.w * ch
            if per_row > half:
                raise BackendError(c.layer, f"one row of input '{part['tensor']}' is {per_row} elements; a tile "
                                   f"may hold {half}")
            oh_t = max(1, min(yl.h, half // per_row))
            for oh0 in range(0, yl.h, oh_t):
                oh_e = min(oh_t, yl.h - oh0)
                s = SimdGroup(c.layer)
                v1 = self.next_slot("VMEM1", double)
                s.transfer("LD", "VMEM1", xl.pixel(oh0, 0), [(oh_e, xl.row_pitch), (yl.w, xl.cp)], ch, v1, 8)
                rows = cdiv(oh_e * yl.w * ch, self.lanes)
                emit_steps(s, part["epilogue"].steps, {"x": ("VMEM1", v1)}, rows, 1)
                s.transfer("ST", "VMEM1", yl.pixel(oh0, 0) + part["offset"], [(oh_e, yl.row_pitch), (yl.w, yl.cp)],
                           ch, v1, 8)
                code.groups.append(s)
        code.tiling = {"parts": len(c.params["parts"])}

    def _reshape(self, c: SimdCodelet, code: LayerCode, double: bool) -> None:
        xl, yl = self.layouts[c.inputs[0]], self.layouts[c.y]
        if xl.addr == yl.addr:
            code.tiling = {"alias": True}
            return
        hw_in, hw_out = xl.h * xl.w, yl.h * yl.w
        unit = math.lcm(hw_in, hw_out)
        total = xl.c * hw_in
        half = self._half(double) * self.lanes
        per = max(unit, (half // unit) * unit)
        if unit > half:
            raise BackendError(c.layer, f"a reshape unit of {unit} elements exceeds a VMEM tile ({half})")

        def side(lay: ActLayout, k0: int, k1: int):
            hw = lay.h * lay.w
            c0, c1 = k0 // hw, k1 // hw
            addr = lay.addr + (lay.border[0] * lay.wb + lay.border[1]) * lay.cp + c0
            if hw == 1:
                return addr, [], c1 - c0
            return addr, [(c1 - c0, 1), (lay.h, lay.row_pitch), (lay.w, lay.cp)], 1

        for k0 in range(0, total, per):
            k1 = min(total, k0 + per)
            s = SimdGroup(c.layer)
            v1 = self.next_slot("VMEM1", double)
            a, loops, req = side(xl, k0, k1)
            s.transfer("LD", "VMEM1", a, loops, req, v1, 8)
            a, loops, req = side(yl, k0, k1)
            s.transfer("ST", "VMEM1", a, loops, req, v1, 8)
            code.groups.append(s)
        code.tiling = {"elements_per_tile": per}


def lower_all(graph: Graph, ctx: Context) -> dict[str, object]:
    codelets = {}
    for layer in ctx.plan.layers:
        codelets[layer.name] = lower(graph, layer.node, ctx)
    return codelets
