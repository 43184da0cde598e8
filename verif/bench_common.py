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


# ---- what every testbench needs from its runner's environment (genesys.verif.bench_env) ----------------
def clock_period_ps() -> int:
    """The clock period the runner asked for (ps), made even so both clock phases are whole picoseconds."""
    import os

    from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS

    period = int(os.environ.get(ENV_CLOCK_PS, DEFAULT_CLOCK_PS))
    return period + (period & 1)


def items_default(fallback: int) -> int:
    """Items of a random sequence: the runner's request, else the test's own default."""
    import os

    from genesys.verif.bench_env import ENV_ITEMS

    return int(os.environ.get(ENV_ITEMS, fallback))


def write_report(test: str, kind: str, data: dict[str, Any], default=None):
    """Write reports/<test>.<kind>.json for the runner to collect (nothing without a runner's out dir);
    `default` converts values json cannot (numpy scalars, dataclasses)."""
    import json
    import os
    from pathlib import Path

    from genesys.verif.bench_env import ENV_OUT_DIR

    out = os.environ.get(ENV_OUT_DIR)
    if not out:
        return None
    path = Path(out) / f"{test}.{kind}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=default) + "\n")
    return path
