"""What every block's testbench shares: reading the DUT's parameters back, and coverage summaries.

Free of heavy imports: testbenches import it inside the simulator. A block supplies only its own parameter
fields and its own list of coverage bins ("group:bin" names).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


class DutParamsMixin:
    """For a frozen dataclass of a DUT's parameters: read every field back from the elaborated DUT."""

    @classmethod
    def from_dut(cls, dut):
        return cls(**{name: int(getattr(dut, name).value) for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def coverage_summary(hits: dict[str, int], names: list[str]) -> dict[str, Any]:
    """Bins hit out of ``names``, per group (the part of a bin name before ':'), the missed ones, and every count."""
    hit = [b for b in names if hits.get(b, 0) > 0]
    groups: dict[str, dict[str, int]] = {}
    for b in names:
        g = groups.setdefault(b.split(":", 1)[0], {"hit": 0, "total": 0})
        g["total"] += 1
        g["hit"] += hits.get(b, 0) > 0
    return {"bins_hit": len(hit), "bins_total": len(names), "percent": round(100.0 * len(hit) / len(names), 1),
            "groups": groups, "missed": [b for b in names if b not in hit],
            "bins": {b: int(hits.get(b, 0)) for b in names}}


def merge_coverage(reports: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Union of per-test coverage reports: hit counts add up."""
    total: dict[str, int] = dict.fromkeys(names, 0)
    for r in reports:
        for b, c in r.get("bins", {}).items():
            total[b] = total.get(b, 0) + int(c)
    return coverage_summary(total, names)
