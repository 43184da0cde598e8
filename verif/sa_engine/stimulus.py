"""Stimulus of the systolic-array engine (pure Python: usable outside the simulator).

- compiled groups: tiny quantized ONNX convolutions and Gemms compiled by genesys.compiler for the preset,
  split into groups by genesys.sim.decoder; their systolic-array groups run in program order with the
  program's DRAM image (random input activations);
- random groups: LD transfers into every buffer (1-4 transfer loops, strides of any sign, partial last
  rows), a compute nest (1-4 of the 16 compute loops, accumulate chains with inner reduction marks that
  re-read OBUF rows back to back, OUTER continuation, arbitrary RD/WR strides), OBUF stores;
- error groups: a random group with one illegal field, a transfer past its buffer, or a nest address
  outside a buffer;
- the OBUF dump group: stores all of OBUF to DUMP_ADDR, so the scoreboard compares OBUF through DRAM.
Each group is a list of assembly lines (its body); the reference assembles them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from .common import DUMP_ADDR, FILL_ADDR, MODEL_DRAM

BUFS = ("WBUF", "IBUF", "OBUF", "BBUF")
FIRST = {"WBUF": 16, "IBUF": 20, "OBUF": 24, "BBUF": 28}   # genesys.sim.sa.TRANSFER_LOOPS


@dataclass
class Group:
    kind: str                 # "compiled:<model>", "random", "error:<what>", "dump", "axi:<dir>"
    body: list[str]
    data_base: int = 0
    tags: set[str] = field(default_factory=set)


@dataclass
class Geometry:
    depth: dict[str, int]
    row: dict[str, int]       # bytes per row

    @classmethod
    def of(cls, arch) -> Geometry:
        n, m = arch.ARRAY_N, arch.ARRAY_M
        row = {"IBUF": n * arch.DATA_WIDTH // 8, "WBUF": n * m * arch.WGT_WIDTH // 8,
               "BBUF": m * arch.BIAS_WIDTH // 8, "OBUF": m * arch.ACC_WIDTH // 8}
        return cls({b: arch.buffers[b].depth for b in BUFS}, row)


def _halves(value: int) -> tuple[int, int]:
    v = value & 0xFFFFFFFF
    return v & 0xFFFF, v >> 16


def set32(kind: str, what: str, buf: str, loop: int, value: int) -> list[str]:
    """SET_LOOP_STRIDE / SET_BASE_ADDR lines for a 32-bit value (both halves: an earlier HIGH may linger)."""
    lo, hi = _halves(value)
    if kind == "stride":
        return [f"SET_LOOP_STRIDE LOW, {what}, {buf}, {loop}, {lo}", f"SET_LOOP_STRIDE HIGH, {what}, {buf}, {loop}, {hi}"]
    return [f"SET_BASE_ADDR LOW, {what}, {buf}, 0, {lo}", f"SET_BASE_ADDR HIGH, {what}, {buf}, 0, {hi}"]


def dump_group(geo: Geometry) -> Group:
    """ST all of OBUF to DUMP_ADDR (requests of whole rows, at most 65535 bytes each)."""
    rows, row = geo.depth["OBUF"], geo.row["OBUF"]
    per = max(1, min(rows, 65535 // row))
    while rows % per:
        per -= 1
    n = rows // per
    body = set32("base", "BUFFER", "OBUF", 0, DUMP_ADDR) + set32("base", "IMEM", "OBUF", 0, 0)
    body += [f"SA_LOOP_CFG 0, 27, {n - 1}"] + set32("stride", "ST", "OBUF", 27, per * row)
    body += [f"LD_ST ST, BUFFER, OBUF, 27, {per * row}"]
    return Group("dump", body)


def fill_group(geo: Geometry) -> Group:
    """LD every buffer completely from FILL_ADDR on (known contents in the engine and the reference: at the
    start of a test, and after an error group, which may leave the two in different states)."""
    body, addr = [], FILL_ADDR
    for buf in BUFS:
        rows, row = geo.depth[buf], geo.row[buf]
        per = max(1, min(rows, 65535 // row))
        while rows % per:
            per -= 1
        first = FIRST[buf]
        body += set32("base", "BUFFER", buf, 0, addr) + set32("base", "IMEM", buf, 0, 0)
        body += [f"SA_LOOP_CFG 0, {first + 3}, {rows // per - 1}"] + set32("stride", "LD", buf, first + 3, per * row)
        body += [f"LD_ST LD, BUFFER, {buf}, {first + 3}, {per * row}"]
        addr += rows * row
    assert addr <= MODEL_DRAM, "the buffers do not fit the fill region"
    return Group("fill", body)


# ---- random legal groups ------------------------------------------------------------------------
class RandomGroups:
    def __init__(self, arch, rng: random.Random):
        self.arch, self.rng, self.geo = arch, rng, Geometry.of(arch)

    def transfer(self, buf: str, store: bool, tags: set[str]) -> list[str]:
        """One LD/ST with its own configuration, inside its buffer and inside the model DRAM."""
        r, geo = self.rng, self.geo
        first = FIRST[buf]
        loop = first + r.randrange(4)
        counts = [r.choice((1, 1, 2, 3)) for _ in range(loop, first + 4)]
        row, depth = geo.row[buf], geo.depth[buf]
        max_total = min(depth * row, 4096)
        req = r.choice((1, 3, row, row // 2 + 1, 2 * row + 5, r.randrange(1, 4 * row + 1)))
        while math.prod(counts) * req > max_total:
            counts = [max(1, c - 1) for c in counts]
            if math.prod(counts) * req > max_total:
                req = max(1, req // 2)
        total = math.prod(counts) * req
        rows = -(-total // row)
        base_chip = r.randrange(0, depth - rows + 1)
        strides = [r.choice((req, req, -req, 0, 2 * req + 7, 4096 + r.randrange(64))) for _ in counts]
        lo = sum(min(0, (c - 1) * s) for c, s in zip(counts, strides, strict=True))
        hi = sum(max(0, (c - 1) * s) for c, s in zip(counts, strides, strict=True)) + req
        base_dram = r.randrange(-lo, DUMP_ADDR - hi)
        if store:
            tags.add("xfer:store")
        else:
            tags.add(f"xfer:ld_{buf.lower()}")
        if total % row:
            tags.add(f"partial_row:{buf.lower()}")
        if loop - first < 3 and any(c > 1 for c in counts):
            tags.add("xfer:multi_loop")
        if any(s < 0 for s, c in zip(strides, counts, strict=True) if c > 1):
            tags.add("xfer:negative_stride")
        body = set32("base", "BUFFER", buf, 0, base_dram) + set32("base", "IMEM", buf, 0, base_chip)
        kind = "ST" if store else "LD"
        for k, (c, s) in enumerate(zip(counts, strides, strict=True)):
            body.append(f"SA_LOOP_CFG 0, {loop + k}, {c - 1}")
            body += set32("stride", kind, buf, loop + k, s)
        body.append(f"LD_ST {kind}, BUFFER, {buf}, {loop}, {req}")
        return body

    def nest(self, tags: set[str]) -> list[str]:
        r, geo = self.rng, self.geo
        loops = sorted(r.sample(range(16), r.randrange(1, 5)))
        counts = {k: r.choice((1, 2, 3, 4)) for k in loops}
        chain = r.random() < 0.6
        inner = {k for k in loops if r.random() < 0.4}
        outer = r.random() < 0.15
        st = {b: {} for b in ("I", "W", "B", "OR", "OW")}
        for k in loops:
            for b in ("I", "W", "B"):
                st[b][k] = r.choice((0, 1, 1, 2, -1, 3))
            if chain:
                ow = 0 if k in inner else r.choice((1, 2, counts[k], -1))
                st["OW"][k] = st["OR"][k] = ow
            else:
                st["OW"][k] = r.choice((0, 1, 2, -1))
                st["OR"][k] = r.choice((0, 1, st["OW"][k]))
        if chain and inner and loops[-1] in inner:
            tags.add("nest:hazard_chain")
        body, bases = [], {}
        for buf, keys in (("IBUF", ("I",)), ("WBUF", ("W",)), ("BBUF", ("B",)), ("OBUF", ("OR", "OW"))):
            lo = min(sum(min(0, (counts[k] - 1) * st[key][k]) for k in loops) for key in keys)
            hi = max(sum(max(0, (counts[k] - 1) * st[key][k]) for k in loops) for key in keys)
            depth = geo.depth[buf]
            bases[buf] = r.randrange(-lo, max(-lo + 1, depth - hi))
        for k in loops:
            body.append(f"SA_LOOP_CFG 0, {k}, {counts[k] - 1}")
            if k in inner:
                body.append(f"SA_REDUCTION_LOOP 32, {k}, INNER, {r.choice(('IC', 'KW', 'KH'))}")
            for key, acc, buf in (("I", "RD", "IBUF"), ("W", "RD", "WBUF"), ("B", "RD", "BBUF"), ("OR", "RD", "OBUF"),
                                  ("OW", "WR", "OBUF")):
                if st[key][k]:
                    body += set32("stride", acc, buf, k, st[key][k])
        if outer:
            body.append(f"SA_REDUCTION_LOOP 32, {r.randrange(16)}, OUTER, IC")
            tags.add("nest:outer")
        if inner:
            tags.add("nest:inner")
        for buf in ("IBUF", "WBUF", "BBUF", "OBUF"):
            body += set32("base", "IMEM", buf, 0, bases[buf])
        tags.add("nest:run")
        return body

    def group(self) -> Group:
        r = self.rng
        tags: set[str] = set()
        body: list[str] = []
        xfers = [(b, False) for b in r.sample(BUFS, r.randrange(1, 5))]
        xfers += [("WBUF", False)] * r.randrange(2) + [("IBUF", False)] * r.randrange(2)
        xfers += [("OBUF", True)] * r.randrange(3)
        r.shuffle(xfers)
        for buf, store in xfers:
            body += self.transfer(buf, store, tags)
        if r.random() < 0.85:
            body += self.nest(tags)
        return Group("random", body, tags=tags)

    # ---- error groups --------------------------------------------------------------------------
    BAD_FIELDS = (
        "LD_ST LD, BUFFER, IBUF, 16, 4",            # a WBUF loop for an IBUF transfer
        "LD_ST LD, BUFFER, WBUF, 3, 4",             # a compute loop
        "LD_ST ST, BUFFER, IBUF, 23, 4",            # ST of a buffer other than OBUF
        "LD_ST LD, IMEM, IBUF, 23, 4",              # IMEM transfers
        "LD_ST LD, BUFFER, BBUF, 31, 0",            # empty request
        "LD_ST LD, BUFFER, OBUF, 40, 4",            # loop 40 does not exist
        "SET_LOOP_STRIDE LOW, RD, IBUF, 20, 1",     # RD stride on a transfer loop
        "SET_LOOP_STRIDE LOW, WR, IBUF, 2, 1",      # WR stride on IBUF
        "SET_LOOP_STRIDE LOW, LD, IBUF, 2, 1",      # LD stride on a compute loop
        "SET_LOOP_STRIDE LOW, ST, WBUF, 16, 1",     # ST stride on WBUF
        "SET_LOOP_STRIDE LOW, LD, WBUF, 20, 1",     # LD stride on another buffer's loop
        "SA_REDUCTION_LOOP 32, 20, INNER, IC",      # reduction mark on a transfer loop
        "SA_REDUCTION_LOOP 32, 17, OUTER, KH",      # (the simulator checks the loop id for OUTER too)
        "SA_LOOP_CFG 0, 33, 1",                     # loop 33
    )

    ERROR_KINDS = tuple(("field", None) for _ in range(2)) + tuple(("xfer_range", b) for b in BUFS) \
        + tuple(("nest_range", b) for b in BUFS)  # every cause at least once

    def error_group(self, what: str | None = None, buf: str | None = None) -> Group:
        r, geo = self.rng, self.geo
        g = self.group()
        what = what or r.choice(("field", "field", "xfer_range", "nest_range"))
        if what == "field":
            g.body.insert(r.randrange(len(g.body) + 1), r.choice(self.BAD_FIELDS))
        elif what == "xfer_range":
            buf = buf or r.choice(BUFS)
            first = FIRST[buf]
            body = set32("base", "IMEM", buf, 0, geo.depth[buf] - r.choice((0, 1)))
            body += [f"SA_LOOP_CFG 0, {first + 3}, 0", f"LD_ST {'ST' if buf == 'OBUF' and r.random() < 0.5 else 'LD'}, "
                     f"BUFFER, {buf}, {first + 3}, {geo.row[buf] + 1}"]
            g.body[r.randrange(len(g.body) + 1):0] = body
        else:
            buf = buf or r.choice(("IBUF", "WBUF", "BBUF", "OBUF"))
            acc = "WR" if buf == "OBUF" and r.random() < 0.5 else "RD"
            g.body += ["SA_LOOP_CFG 0, 15, 1", *set32("stride", acc, buf, 15, geo.depth[buf] * r.choice((1, -1)))]
        g.kind = f"error:{what}"
        return g


# ---- compiled groups ----------------------------------------------------------------------------
def _qdq_model(kind: str, rng: np.random.Generator):
    """A quantized (QDQ) one-layer model: a 3x3 convolution with padding, or a Gemm."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def c(v, n):
        inits.append(numpy_helper.from_array(np.asarray(v), n))
        return n

    def qdq(x, s, z, tag):
        nodes.append(helper.make_node("QuantizeLinear", [x, c(np.float32(s), tag + "s"), c(np.int8(z), tag + "z")],
                                      [tag + "q"]))
        nodes.append(helper.make_node("DequantizeLinear", [tag + "q", tag + "s", tag + "z"], [tag + "d"]))
        return tag + "d"

    if kind == "conv":
        cin, cout, hw = int(rng.integers(3, 9)), int(rng.integers(3, 12)), int(rng.integers(3, 7))
        shape, wshape = [1, cin, hw, hw], (cout, cin, 3, 3)
    else:
        cin, cout = int(rng.integers(5, 40)), int(rng.integers(3, 20))
        shape, wshape = [1, cin], (cout, cin)
    x = qdq("x", 0.05, 3, "a")
    nodes.append(helper.make_node("DequantizeLinear", [c(rng.integers(-127, 128, wshape).astype(np.int8), "wq"),
                                                       c(np.float32(0.01), "ws"), c(np.int8(0), "wz")], ["w"]))
    nodes.append(helper.make_node("DequantizeLinear", [c(rng.integers(-500, 500, cout).astype(np.int32), "bq"),
                                                       c(np.float32(0.0005), "bs"), c(np.int32(0), "bz")], ["b"]))
    if kind == "conv":
        nodes.append(helper.make_node("Conv", [x, "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    else:
        nodes.append(helper.make_node("Gemm", [x, "w", "b"], ["y"], transB=1))
    out = qdq("y", 0.2, -5, "o")
    graph = helper.make_graph(nodes, kind, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def compiled_program(arch, kind: str, seed: int) -> tuple[bytes, list[Group]]:
    """(DRAM image with random input activations, the program's systolic-array groups in order)."""
    from genesys.compiler.compile import compile_model
    from genesys.compiler.pipeline import frontend
    from genesys.sim.decoder import Decoder, parse_block

    rng = np.random.default_rng(seed)
    bundle = compile_model(frontend(_qdq_model(kind, rng)), arch)
    image = bytearray(bundle.dram)
    for io in bundle.inputs:
        a, n = io.layout["addr"], io.layout["bytes"]
        image[a:a + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    words = np.asarray(bundle.words, dtype=np.int64)
    decoder, groups, index = Decoder(), [], 0
    ends = np.flatnonzero((words >> 28) == 0b1011)  # BLOCK_END (genesys.sim.decoder.BLOCK_END_OPCODE)
    begin = 0
    for e in ends:
        block = parse_block(decoder, words[begin:e + 1], begin)
        for g in block.groups:
            if g.engine == "SA":
                groups.append(Group(f"compiled:{kind}", [op.text for op in g.body],
                                    tags={f"compiled:{kind}"}))
        begin = int(e) + 1
        index = begin
    del index
    assert len(image) <= MODEL_DRAM
    return bytes(image), groups
