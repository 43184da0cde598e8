"""Sequences of the systolic-array engine: compiled single-layer programs, random legal groups, error groups.
Every sequence starts with the fill group (known buffer contents) and stores OBUF to DRAM after each group
(the dump group), so the scoreboard's DRAM comparison covers OBUF too."""

from __future__ import annotations

import random

from pyuvm import ConfigDB, uvm_sequence

from .common import ERROR_PAGE, MODEL_DRAM, items_default
from .components import SaGroupItem
from .foreign import KINDS, Footprint, ForeignGroup, group_ranges, scenario
from .reference import RefMachine, group_words
from .stimulus import FIRST, Geometry, Group, RandomGroups, compiled_program, dump_group, fill_group, set32


class SaBaseSeq(uvm_sequence):
    items = 30

    async def setup(self):
        self.arch = ConfigDB().get(None, "", "ARCH")
        self.seed = ConfigDB().get(None, "", "SEED")
        self.data_base = ConfigDB().get(None, "", "DATA_BASE")
        self.imem_depth = ConfigDB().get(None, "", "IMEM_DEPTH")
        self.rng = random.Random(self.seed)
        self.geo = Geometry.of(self.arch)
        self.gen = RandomGroups(self.arch, self.rng)

    async def run(self, group: Group, expect_axi=None, dump: bool = True, foreign: Footprint | None = None):
        group.data_base = self.data_base
        pc = self.rng.randrange(1, self.imem_depth - len(group.body) - 1)
        item = SaGroupItem("group", group, pc, expect_axi)
        if foreign is not None:
            sb = ConfigDB().get(None, "", "SCOREBOARD")
            item.foreign = ForeignGroup(foreign, sb.ram, sb.ref.state.byte_view("OBUF"), self.geo.row["OBUF"],
                                        self.geo.depth["OBUF"], random.Random(self.rng.random()))
        await self.start_item(item)
        await self.finish_item(item)
        if dump:
            d = dump_group(self.geo)
            d.data_base = self.data_base
            item2 = SaGroupItem("dump", d, self.rng.randrange(1, self.imem_depth - len(d.body) - 1))
            await self.start_item(item2)
            await self.finish_item(item2)
        return item

    async def fill(self):
        await self.run(fill_group(self.geo), dump=False)


class SaRandomSeq(SaBaseSeq):
    async def body(self):
        await self.setup()
        await self.fill()
        for _ in range(items_default(self.items)):
            await self.run(self.gen.group())


class SaCompiledSeq(SaBaseSeq):
    """Compiled one-layer convolutions and Gemms: the program's systolic-array groups in order, on its image."""

    async def body(self):
        await self.setup()
        sb = ConfigDB().get(None, "", "SCOREBOARD")
        for k, kind in enumerate(("conv", "gemm", "conv", "gemm")):
            image, groups = compiled_program(self.arch, kind, self.seed * 10 + k)
            sb.load_image(image, self.data_base)
            await self.fill()
            for g in groups:
                await self.run(g)


class SaErrorSeq(SaBaseSeq):
    """Error groups (each followed by the fill group: after an error the engine and the reference may hold
    different buffer contents) and AXI error responses on a load and a store."""

    async def body(self):
        await self.setup()
        await self.fill()
        kinds = list(self.gen.ERROR_KINDS) + [(None, None)] * max(0, items_default(self.items) // 2 - 10)
        for what, buf in kinds:
            g = self.gen.error_group(what, buf)
            await self.run(g, dump=False)
            await self.fill()
        # AXI SLVERR: one load from the error page, one store to it
        base = ERROR_PAGE - self.data_base
        for store in (False, True):
            buf = "OBUF" if store else self.rng.choice(("IBUF", "WBUF", "BBUF"))
            first = FIRST[buf]
            body = set32("base", "BUFFER", buf, 0, base) + [f"SA_LOOP_CFG 0, {first + 3}, 0",
                                                            f"LD_ST {'ST' if store else 'LD'}, BUFFER, {buf}, {first + 3}, 8"]
            g = Group(f"axi:{'store' if store else 'load'}", body)
            await self.run(g, expect_axi=("AXI_SLVERR", len(body) - 1, ERROR_PAGE), dump=False)
            await self.fill()
        await self.run(self.gen.group())


class SaForeignSeq(SaBaseSeq):
    """Random legal groups next to a foreign (SIMD) group that still runs: per round one case of every kind of
    foreign.KINDS (a footprint overlapping the group's LD reads, its LDs into OBUF, its nest's OBUF writes,
    its STs, all of them; not valid at first; disjoint from the group)."""

    async def body(self):
        await self.setup()
        await self.fill()
        scratch = RefMachine(self.arch, MODEL_DRAM)      # legality of candidate groups
        window = (self.data_base, self.data_base + MODEL_DRAM)
        for _ in range(max(1, items_default(self.items) // 3)):
            for kind in KINDS:
                for _ in range(200):
                    g = self.gen.group()
                    if scratch.run_group(*group_words(g.body), 10).cause is not None:
                        continue
                    fp = scenario(kind, self.rng, group_ranges(self.geo, g.body, self.data_base),
                                  self.geo.depth["OBUF"], window)
                    if fp is not None:
                        g.kind = "random"
                        await self.run(g, foreign=fp)
                        break
        await self.run(self.gen.group())                  # and one group without a foreign group
