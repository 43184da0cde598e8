"""Generated regions inside hand-written docs, so tables in docs/ can never drift from their data.

A region looks like ``<!-- BEGIN GENERATED: name -->`` ... ``<!-- END GENERATED -->``; prose around it is
hand-written. ``python -m genesys.docgen --write`` refreshes every region; tests call :func:`check`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _config_tables() -> str:
    from genesys.arch import PARAMS, list_presets, load_arch

    presets = [load_arch(p) for p in list_presets()]
    lines = ["| parameter | meaning | rule | " + " | ".join(a.name for a in presets) + " |",
             "|---|---|---|" + "---|" * len(presets)]
    for p in PARAMS:
        rule = "power of two" if p.power_of_two else "integer"
        rng = f"{p.minimum}..{p.maximum}" if p.maximum else f">= {p.minimum}"
        rule += f", {rng}" + (", size (e.g. 32KiB)" if p.size else "")
        lines.append(f"| `{p.name}` | {p.description} | {rule} | "
                     + " | ".join(str(getattr(a, p.name)) for a in presets) + " |")
    lines += ["", "Derived values (computed by `genesys.arch.Arch`, never written in a preset):", "",
              "| derived | " + " | ".join(a.name for a in presets) + " |", "|---|" + "---|" * len(presets)]
    for key in presets[0].derived():
        lines.append(f"| `{key}` | " + " | ".join(str(a.derived()[key]) for a in presets) + " |")
    return "\n".join(lines) + "\n"


def _isa_tables() -> str:
    from genesys.isa.doc import render_markdown

    return render_markdown()


def _control_tables() -> str:
    from genesys.isa.counters import COUNTERS
    from genesys.isa.status import COUNTER_BASE, ERROR_CAUSES, REGISTERS

    lines = ["| offset | register | access | meaning |", "|---|---|---|---|"]
    lines += [f"| `0x{r.offset:03x}` | `{r.name}` | {r.access} | {r.meaning} |" for r in REGISTERS]
    lines += ["", f"Counters: 64-bit, LO word at `0x{COUNTER_BASE:03x} + 8k`, HI word at `+ 4`:", "",
              "| k | LO offset | counter | meaning |", "|---|---|---|---|"]
    lines += [f"| {k} | `0x{COUNTER_BASE + 8 * k:03x}` | `{c.name}` | {c.meaning} |" for k, c in enumerate(COUNTERS)]
    lines += ["", "Error causes (`ERR_CAUSE`):", "", "| code | cause | meaning |", "|---|---|---|"]
    lines += [f"| {e.code} | `{e.name}` | {e.meaning} |" for e in ERROR_CAUSES]
    return "\n".join(lines) + "\n"


# doc file -> {region name: generator}
REGIONS: dict[str, dict[str, Callable[[], str]]] = {
    "configuration.md": {"config tables": _config_tables},
    "isa.md": {"isa tables": _isa_tables},
    "npu.md": {"control tables": _control_tables},
}


def _replace(text: str, name: str, body: str, path: Path) -> str:
    pattern = re.compile(rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->\n)(.*?)(<!-- END GENERATED -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no generated region '{name}' (add the BEGIN/END markers)")
    return pattern.sub(lambda m: m[1] + body + m[3], text)


def stale() -> list[str]:
    """Doc regions whose text differs from what their generator produces now."""
    out = []
    for fname, regions in REGIONS.items():
        path = DOCS / fname
        text = path.read_text()
        for name, gen in regions.items():
            if _replace(text, name, gen(), path) != text:
                out.append(f"docs/{fname} [{name}]")
    return out


def write() -> None:
    for fname, regions in REGIONS.items():
        path = DOCS / fname
        text = path.read_text()
        for name, gen in regions.items():
            text = _replace(text, name, gen(), path)
        path.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", action="store_true", help="rewrite the generated regions in docs/")
    args = ap.parse_args()
    if args.write:
        write()
        return 0
    bad = stale()
    for b in bad:
        print(f"stale: {b} (run python -m genesys.docgen --write)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
