"""Functional coverage of the systolic-array engine: group kinds, transfers per buffer, partial last rows,
multi-loop and negative-stride transfers, nest features (reduction marks, OUTER, OBUF hazard stalls),
every error cause the engine reports for systolic-array groups, relocation (data_base), and the foreign-footprint
holds (each case kind of SaForeignTest, and a hold of each kind seen)."""

from __future__ import annotations

from typing import Any

from genesys.isa.status import ERROR_BY_CODE
from genesys.verif.bench_common import coverage_summary, merge_coverage

PERF = ("perf_array_busy", "perf_array_stall", "perf_macs", "perf_instr", "perf_ibuf_ld_bytes",
        "perf_wbuf_ld_bytes", "perf_bbuf_ld_bytes", "perf_obuf_ld_bytes", "perf_obuf_st_bytes")

BINS = (
    "group:compiled_conv", "group:compiled_gemm", "group:random", "group:dump", "group:fill",
    "xfer:ld_ibuf", "xfer:ld_wbuf", "xfer:ld_bbuf", "xfer:ld_obuf", "xfer:store",
    "partial_row:ibuf", "partial_row:wbuf", "partial_row:bbuf", "partial_row:obuf",
    "xfer:multi_loop", "xfer:negative_stride",
    "nest:run", "nest:inner", "nest:outer", "nest:hazard_stall", "nest:no_stall",
    "error:BAD_FIELD", "error:IBUF_RANGE", "error:WBUF_RANGE", "error:BBUF_RANGE", "error:OBUF_RANGE",
    "error:AXI_SLVERR_load", "error:AXI_SLVERR_store",
    "data_base:nonzero",
    "foreign:ld", "foreign:ld_obuf", "foreign:nest", "foreign:st", "foreign:all", "foreign:invalid",
    "foreign:disjoint", "foreign:hold_ld", "foreign:hold_st", "foreign:hold_nest",
)


def bin_names() -> tuple[str, ...]:
    return BINS


def sample(hits: dict[str, int], item) -> None:
    def add(name: str) -> None:
        hits[name] = hits.get(name, 0) + 1

    g, res = item.group, item.result
    fgn = getattr(item, "foreign", None)
    if fgn is not None:
        add(f"foreign:{fgn.fp.kind}")
        for name, n in fgn.waits.items():
            if n:
                add(f"foreign:hold_{name}")
    kind = g.kind.split(":")[0]
    if kind == "compiled":
        add(f"group:compiled_{g.kind.split(':')[1]}")
    elif kind in ("random", "dump", "fill"):
        add(f"group:{kind}")
    if res["err"]:
        name = ERROR_BY_CODE[res["cause"]].name
        if name == "AXI_SLVERR":
            add("error:AXI_SLVERR_" + ("store" if "store" in g.kind else "load"))
        else:
            add(f"error:{name}")
        return
    for t in g.tags:
        if t.startswith(("xfer:", "partial_row:")) or t in ("nest:inner", "nest:outer"):
            add(t)
    if res["perf"]["perf_macs"]:
        add("nest:run")
        add("nest:hazard_stall" if res["perf"]["perf_array_stall"] else "nest:no_stall")
    if g.data_base:
        add("data_base:nonzero")


def summary(hits: dict[str, int]) -> dict[str, Any]:
    return coverage_summary(hits, list(BINS))


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    return merge_coverage(reports, list(BINS))
