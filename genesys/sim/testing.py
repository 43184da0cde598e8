"""Small builders of assembly text for tests and benchmarks (one group at a time, in docs/isa.md (Semantics) terms).

    g = SAGroup(1)
    g.base("IBUF", dram=0x1000, chip=0)
    g.loop(20, 4); g.stride("LD", "IBUF", 20, 16); g.transfer("LD", "IBUF", 20, 16)
    text = program([g.text()])
"""

from __future__ import annotations

TRANSFER_LOOPS = {"WBUF": 16, "IBUF": 20, "OBUF": 24, "BBUF": 28}


def _halves(value: int) -> tuple[int, int]:
    v = value & 0xFFFFFFFF
    return v & 0xFFFF, v >> 16


class SAGroup:
    def __init__(self, number: int = 1):
        self.number = number
        self.body: list[str] = []

    def base(self, buf: str, dram: int | None = None, chip: int | None = None) -> SAGroup:
        for kind, value in (("BUFFER", dram), ("IMEM", chip)):
            if value is not None:
                lo, hi = _halves(value)
                self.body += [f"SET_BASE_ADDR LOW, {kind}, {buf}, 0, {lo}", f"SET_BASE_ADDR HIGH, {kind}, {buf}, 0, {hi}"]
        return self

    def loop(self, loop: int, iterations: int) -> SAGroup:
        self.body.append(f"SA_LOOP_CFG 0, {loop}, {iterations - 1}")
        return self

    def stride(self, access: str, buf: str, loop: int, value: int) -> SAGroup:
        lo, hi = _halves(value)
        self.body += [f"SET_LOOP_STRIDE LOW, {access}, {buf}, {loop}, {lo}",
                      f"SET_LOOP_STRIDE HIGH, {access}, {buf}, {loop}, {hi}"]
        return self

    def inner(self, loop: int, dim: str = "IC") -> SAGroup:
        self.body.append(f"SA_REDUCTION_LOOP 32, {loop}, INNER, {dim}")
        return self

    def outer(self, dim: str = "IC") -> SAGroup:
        self.body.append(f"SA_REDUCTION_LOOP 32, 0, OUTER, {dim}")
        return self

    def transfer(self, direction: str, buf: str, loop: int, req: int) -> SAGroup:
        self.body.append(f"LD_ST {direction}, BUFFER, {buf}, {loop}, {req}")
        return self

    def load_rows(self, buf: str, dram: int, chip: int, n_bytes: int, req: int | None = None) -> SAGroup:
        """A dense load of n_bytes from `dram` into `buf` from row `chip` (one loop, requests of req bytes)."""
        req = req or min(n_bytes, 4096)
        assert n_bytes % req == 0
        loop = TRANSFER_LOOPS[buf] + 3
        self.base(buf, dram=dram, chip=chip).loop(loop, n_bytes // req).stride("LD", buf, loop, req)
        return self.transfer("LD", buf, loop, req)

    def store_rows(self, dram: int, chip: int, n_bytes: int, req: int | None = None) -> SAGroup:
        req = req or min(n_bytes, 4096)
        assert n_bytes % req == 0
        loop = TRANSFER_LOOPS["OBUF"] + 3
        self.base("OBUF", dram=dram, chip=chip).loop(loop, n_bytes // req).stride("ST", "OBUF", loop, req)
        return self.transfer("ST", "OBUF", loop, req)

    def text(self) -> str:
        return group_text("SYSTOLIC_ARRAY", self.number, self.body)


def group_text(engine: str, number: int, body: list[str]) -> str:
    head = f"SYNC_INST {engine}, START, EXEC, 0, {number}, {len(body)}"
    tail = f"SYNC_INST {engine}, END, EXEC, 0, {number}, 0"
    return "\n".join([head, *body, tail])


def simd_group(number: int, body: list[str]) -> str:
    return group_text("SIMD", number, body)


def simd_set32(kind: str, ns: str, idx: int, value: int) -> list[str]:
    """ITERATOR_CONFIG lines that set an iterator's base/stride (kind BASE/STRIDE) or IMM entry to a 32-bit value."""
    lo, hi = _halves(value)
    if kind == "IMM":
        return [f"SET_IMM_LOW IMM, {idx}, {lo}", f"SET_IMM_HIGH IMM, {idx}, {hi}"]
    return [f"{kind}_LOW {ns}, {idx}, {lo}", f"{kind}_HIGH {ns}, {idx}, {hi}"]


def simd_transfer(direction: str, ns: str, dram: int, tile_row: int, req: int, width: int = 32,
                  base_loops: tuple[tuple[int, int], ...] = (), tile_loops: tuple[tuple[int, int], ...] = ()) -> list[str]:
    """A SIMD LD/ST: (iterations, DRAM stride) per base loop and tile loop, then the START."""
    d = direction
    out = []
    for sel, value in (("LSB", dram & 0xFFFF), ("MSB", (dram >> 16) & 0xFFFF)):
        out.append(f"{d}_CONFIG_BASE_ADDR {sel}, {ns}, 0, {value}")
    for sel, value in (("LSB", tile_row & 0xFFFF), ("MSB", (tile_row >> 16) & 0xFFFF)):
        out.append(f"{d}_CONFIG_TILE_ADDR {sel}, {ns}, 0, {value}")
    for kind, loops in (("BASE", base_loops), ("TILE", tile_loops)):
        for k, (n, stride) in enumerate(loops):
            lo, hi = _halves(stride)
            out += [f"{d}_CONFIG_{kind}_LOOP_ITER 0, {ns}, {k}, {n - 1}",
                    f"{d}_CONFIG_{kind}_LOOP_STRIDE LSB, {ns}, {k}, {lo}",
                    f"{d}_CONFIG_{kind}_LOOP_STRIDE MSB, {ns}, {k}, {hi}"]
    out.append(f"{d}_START 0, {ns}, {width - 1}, {req}")
    return out


def program(groups: list[str], blocks: list[int] | None = None) -> str:
    """Groups joined into blocks (`blocks`: groups per block; default one block), each ended by BLOCK_END."""
    blocks = blocks or [len(groups)]
    assert sum(blocks) == len(groups)
    out, k = [], 0
    for i, n in enumerate(blocks):
        out += groups[k:k + n]
        out.append(f"BLOCK_END {1 if i == len(blocks) - 1 else 0}")
        k += n
    return "\n".join(out)
