"""Functional coverage of the SIMD engine bench: bins named "group:bin"."""

from __future__ import annotations

from typing import Any

from genesys.isa.status import ERROR_CAUSES
from genesys.verif.bench_common import coverage_summary, merge_coverage

SIMD_CAUSES = ("BAD_FIELD", "VMEM_RANGE", "OBUF_RANGE", "UNSUPPORTED", "DIV_BY_ZERO", "NEG_SHIFT")
BINS = [
    "source:compiled", "source:random",
    "dtype:fxp_formats", "dtype:fp",
    "body:loops0", "body:loops1", "body:loops2", "body:loops3", "body:loops2_single", "body:loops3_single",
    "op:macc", "op:div", "op:cast", "operand:obuf_src", "operand:imm",
    "xfer:ld_w8", "xfer:ld_w16", "xfer:ld_w32", "xfer:st_w8", "xfer:st_w16", "xfer:st_w32",
    "xfer:ld_vmem1", "xfer:ld_vmem2", "xfer:st_vmem1", "xfer:st_vmem2", "xfer:tile_loops",
    "xfer:ld_partial_row", "xfer:st_partial_row",
    "pipe:stall", "pipe:div_stall",
    *(f"error:{c}" for c in SIMD_CAUSES),
]
_TAG_GROUP = {b.split(":", 1)[1]: b for b in BINS}
_CODE = {e.code: e.name for e in ERROR_CAUSES}


class Coverage:
    def __init__(self):
        self.hits: dict[str, int] = dict.fromkeys(BINS, 0)

    def case(self, case) -> None:
        for t in case.tags:
            b = _TAG_GROUP.get(t)
            if b and t != "imm":
                self.hits[b] += 1
        if "imm" in case.tags:
            self.hits["operand:imm"] += 1
        if case.error is not None:
            b = f"error:{_CODE.get(case.error[0], '?')}"
            if b in self.hits:
                self.hits[b] += 1

    def pipe(self, case, stall_cycles: int) -> None:
        """perf_simd_stall during the group: RAW hazards, and the divider holding in_ready low."""
        if stall_cycles:
            self.hits["pipe:stall"] += 1
            if "div" in case.tags:
                self.hits["pipe:div_stall"] += 1

    def report(self) -> dict[str, Any]:
        return coverage_summary(self.hits, BINS)


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    return merge_coverage(reports, BINS)
