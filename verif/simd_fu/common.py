"""What every component of the SIMD function-unit environment shares: the DUT's parameters (read back from
the DUT), the environment variables the runner sets, and the per-test report files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesys.verif.bench_common import DutParamsMixin
from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR  # noqa: F401


@dataclass(frozen=True)
class DutParams(DutParamsMixin):
    LANES: int
    TAG_WIDTH: int
    DIV_STEPS: int
    LATENCY: int
    DIV_CYCLES: int
    DIV_LATENCY: int


def clock_period_ps() -> int:
    period = int(os.environ.get(ENV_CLOCK_PS, DEFAULT_CLOCK_PS))
    return period + (period & 1)


def items_default(fallback: int) -> int:
    return int(os.environ.get(ENV_ITEMS, fallback))


def write_report(test: str, kind: str, data: dict[str, Any]) -> Path | None:
    out = os.environ.get(ENV_OUT_DIR)
    if not out:
        return None
    path = Path(out) / f"{test}.{kind}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
