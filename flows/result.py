"""The typed result of one flow run: what ran, on which preset, with which tool, and what came out.

Every flow writes one :class:`FlowResult` as ``<build>/<preset>/<flow>/result.json``; the report reads
them back and renders Markdown and HTML from the same objects (OpenTitan dvsim style: typed results
first, renderers second). The JSON is the contract between flows and reports, so it is versioned.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genesys.errors import GenesysError

SCHEMA = "genesys.flow_result/2"
READABLE_SCHEMAS = ("genesys.flow_result/1", SCHEMA)  # /1 had no implementation figures; they read as None
RESULT_FILE = "result.json"
# Outcomes a flow can have. "error" is never written by a flow: the report uses it for a result
# file it could not read (corrupt JSON, wrong schema), so that one bad file does not hide the rest.
STATUSES = ("passed", "failed", "skipped")
REPORT_STATUSES = STATUSES + ("error",)


@dataclass
class FlowResult:
    """One flow on one preset. ``log`` is relative to the build root, so reports can link it."""

    preset: str
    flow: str
    status: str
    reason: str = ""
    tool: str = ""
    tool_version: str = ""
    wall_seconds: float = 0.0
    warnings: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    log: str = ""
    started: str = ""
    command: list[str] = field(default_factory=list)
    # Implementation figures, typed and top-level so reports and scripts never dig in `metrics` (None: the
    # flow does not measure it). Area in um^2 (ASIC), timing against the flow's clock, FPGA resources.
    area_um2: float | None = None
    fmax_mhz: float | None = None
    wns_ns: float | None = None    # worst setup slack, signed as Vivado's WNS: >= 0 met, < 0 missed by that much
    tns_ns: float | None = None    # total negative slack (sum over failing endpoints; 0 when met)
    clock_mhz: float | None = None
    luts: int | None = None
    ffs: int | None = None
    dsps: int | None = None
    brams: int | None = None
    # The inputs' hash (rendered RTL, flow options, tool version): a re-run with the same key reuses this result
    cache_key: str = ""

    def __post_init__(self) -> None:
        if self.status not in REPORT_STATUSES:
            raise ValueError(f"FlowResult.status must be one of {', '.join(STATUSES)}; got {self.status!r}")

    # ---- serialisation ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> FlowResult:
        if not isinstance(data, dict):
            raise GenesysError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema") not in READABLE_SCHEMAS:
            raise GenesysError(f"{source}: schema is {data.get('schema')!r}, expected {SCHEMA!r}")
        known = {f.name for f in fields(cls)}
        missing = [n for n in ("preset", "flow", "status") if n not in data]
        if missing:
            raise GenesysError(f"{source}: missing field(s) {', '.join(missing)}")
        unknown = sorted(set(data) - known - {"schema"})
        if unknown:
            raise GenesysError(f"{source}: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as e:
            raise GenesysError(f"{source}: {e}") from None

    @classmethod
    def from_json(cls, text: str, source: str = "<json>") -> FlowResult:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise GenesysError(f"{source}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
        return cls.from_dict(data, source)

    # ---- files --------------------------------------------------------------------------------------
    @staticmethod
    def path_for(build_root: Path | str, preset: str, flow: str) -> Path:
        return Path(build_root) / preset / flow / RESULT_FILE

    def write(self, build_root: Path | str) -> Path:
        """Write ``<build_root>/<preset>/<flow>/result.json`` atomically (never a half-written file)."""
        path = self.path_for(build_root, self.preset, self.flow)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{RESULT_FILE}.{os.getpid()}.tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path: Path | str) -> FlowResult:
        path = Path(path)
        return cls.from_json(path.read_text(), str(path))


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")
