"""Standard-cell libraries for the ASIC flow: finding a PDK's Liberty file, and the facts about it the flow
needs (tie and buffer cells, cells ABC must not use, the SRAM capacity model of its node).

A PDK is named by the OpenLane convention and looked up under ``$PDK_ROOT``:

    --pdk sky130A | sky130_fd_sc_hd | sky130hd   -> $PDK_ROOT/sky130A/libs.ref/sky130_fd_sc_hd/lib/sky130_fd_sc_hd__tt_025C_1v80.lib
    --pdk nangate45                                -> $PDK_ROOT/nangate45/lib/NangateOpenCellLibrary_typical.lib (ORFS layout)

and, when ``$PDK_ROOT`` does not have it, in the workplace's shared Liberty folder (``../shared/pdk/`` next to the
checkout, or ``$GENESYS_PDK_DIR``), which is what tests and CI use. ``--liberty PATH`` names a file directly
(``.lib`` or ``.lib.gz``); its technology is guessed from its cell names.

Liberty files are prepared once per content: decompressed, with the cells ABC must not use removed (probe and
low-power cells of sky130, which a real flow also excludes), into ``<build>/.liberty/<stem>-<sha16>.lib``.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from genesys.errors import GenesysError

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SramModel:
    """A capacity model of SRAM macros in one node (see docs/asic.md): an SRAM compiler's macro of B bits with P
    ports takes ``periphery_um2 + B * um2_per_bit * (1 + port_factor * (P - 1))``; its clock-to-output delay
    grows with log2(depth). Honest, simple, and the same for every buffer."""

    um2_per_bit: float       # bitcell plus array overhead, single port
    port_factor: float       # extra area per extra port, relative to single port
    periphery_um2: float     # decoders, sense amplifiers, control: per macro
    access_ns: float         # clock to read data for a 16-row macro
    access_ns_per_log2: float  # added per doubling of depth
    setup_ns: float
    hold_ns: float
    cap_pf: float            # input pin capacitance
    source: str              # where the numbers come from


@dataclass(frozen=True)
class Technology:
    name: str                    # canonical PDK name
    aliases: tuple[str, ...]
    cell_prefix: str             # how its cells are named (to guess the technology of a --liberty file)
    pdk_root_paths: tuple[str, ...]  # Liberty locations under $PDK_ROOT (OpenLane/ORFS layouts)
    shared_file: str             # the file in the shared pdk folder
    tie_hi: tuple[str, str]      # (cell, pin)
    tie_lo: tuple[str, str]
    buffer: tuple[str, str, str]  # (cell, input, output)
    dont_use: tuple[str, ...]    # fnmatch patterns of cells synthesis must not use
    sram: SramModel


TECHNOLOGIES = {t.name: t for t in (
    Technology(
        name="sky130hd", aliases=("sky130A", "sky130_fd_sc_hd", "sky130"), cell_prefix="sky130_fd_sc_hd__",
        pdk_root_paths=("sky130A/libs.ref/sky130_fd_sc_hd/lib/sky130_fd_sc_hd__tt_025C_1v80.lib",),
        shared_file="sky130hd_tt.lib.gz",
        tie_hi=("sky130_fd_sc_hd__conb_1", "HI"), tie_lo=("sky130_fd_sc_hd__conb_1", "LO"),
        buffer=("sky130_fd_sc_hd__buf_2", "A", "X"),
        # OpenLane's default exclusions: probe cells, low-power (lpflow) cells, spare-cell macros
        dont_use=("*__probe_p_*", "*__probec_p_*", "*__lpflow_*", "*__macro_sparecell*", "*__clkdlybuf4s*"),
        # sky130 6T bitcell ~2.1 um^2 (1.2 x 1.58 um); OpenRAM's sky130 macros reach ~25% array efficiency at
        # 1-8 kbit, commercial compilers ~60%; we take 4.0 um^2/bit (~52%) and 1.5-2.6 ns access at 1.8 V tt.
        sram=SramModel(um2_per_bit=4.0, port_factor=0.6, periphery_um2=12000.0, access_ns=1.2,
                       access_ns_per_log2=0.12, setup_ns=0.25, hold_ns=0.05, cap_pf=0.005,
                       source="sky130 6T bitcell 2.1 um^2 at ~52% array efficiency; access 1.2 ns + 0.12 ns per "
                              "doubling of depth beyond 16 rows"),
    ),
    Technology(
        name="nangate45", aliases=("nangate", "freepdk45"), cell_prefix="",
        pdk_root_paths=("nangate45/lib/NangateOpenCellLibrary_typical.lib",
                        "nangate45/NangateOpenCellLibrary_typical.lib"),
        shared_file="nangate45_typ.lib.gz",
        tie_hi=("LOGIC1_X1", "Z"), tie_lo=("LOGIC0_X1", "Z"), buffer=("BUF_X2", "A", "Z"),
        dont_use=("ANTENNA*", "FILLCELL*"),
        # FreePDK45 6T bitcell ~0.45 um^2 at ~55% efficiency; access 0.45 ns + 0.05 ns per doubling
        sram=SramModel(um2_per_bit=0.8, port_factor=0.6, periphery_um2=2500.0, access_ns=0.45,
                       access_ns_per_log2=0.05, setup_ns=0.08, hold_ns=0.02, cap_pf=0.002,
                       source="FreePDK45 6T bitcell ~0.45 um^2 at ~55% array efficiency; access 0.45 ns + 0.05 "
                              "ns per doubling of depth beyond 16 rows"),
    ),
)}
DEFAULT_PDK = "sky130hd"


def technology(name: str) -> Technology:
    for t in TECHNOLOGIES.values():
        if name == t.name or name in t.aliases:
            return t
    names = ", ".join(n for t in TECHNOLOGIES.values() for n in (t.name, *t.aliases))
    raise GenesysError(f"unknown PDK '{name}'; known: {names}; or give a Liberty file with --liberty PATH")


def shared_pdk_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("GENESYS_PDK_DIR"):
        dirs.append(Path(os.environ["GENESYS_PDK_DIR"]))
    for parent in (REPO.parent, *REPO.parents):  # ../shared/pdk next to the checkout (or a clone of it)
        dirs.append(parent / "shared" / "pdk")
    return dirs


class LibertyNotInstalled(GenesysError):
    """The PDK is known but its Liberty file is not on this machine: the flow is skipped, not failed."""


def find_liberty(pdk: str | None = None, liberty: str | Path | None = None) -> tuple[Path, Technology]:
    """The Liberty file and technology for ``--pdk`` / ``--liberty``; GenesysError saying where it looked."""
    if liberty:
        path = Path(liberty).expanduser()
        if not path.is_file():
            raise GenesysError(f"Liberty file {path} not found (--liberty)")
        return path.resolve(), guess_technology(path) if not pdk else technology(pdk)
    tech = technology(pdk or DEFAULT_PDK)
    looked = []
    if os.environ.get("PDK_ROOT"):
        for rel in tech.pdk_root_paths:
            for cand in (Path(os.environ["PDK_ROOT"]) / rel, Path(os.environ["PDK_ROOT"]) / (rel + ".gz")):
                looked.append(str(cand))
                if cand.is_file():
                    return cand, tech
    else:
        looked.append("$PDK_ROOT (not set)")
    for d in shared_pdk_dirs():
        cand = d / tech.shared_file
        looked.append(str(cand))
        if cand.is_file():
            return cand.resolve(), tech
    raise LibertyNotInstalled(f"no Liberty file for PDK {tech.name}; looked in: {', '.join(dict.fromkeys(looked))}. "
                       "Set PDK_ROOT (OpenLane layout), GENESYS_PDK_DIR, or pass --liberty PATH")


def guess_technology(path: Path) -> Technology:
    text = _read_text(path)[:200_000]
    for t in TECHNOLOGIES.values():
        if t.cell_prefix and f"cell ({t.cell_prefix}" in text.replace('cell ("', "cell ("):
            return t
    if re.search(r"cell\s*\(\s*\"?(AND2_X1|INV_X1|NAND2_X1)", text):
        return TECHNOLOGIES["nangate45"]
    raise GenesysError(f"{path}: cannot tell the technology of this Liberty file (not sky130 HD or NanGate45); "
                       f"name it with --pdk ({', '.join(TECHNOLOGIES)}) so tie/buffer cells and the SRAM model are known")


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class PreparedLiberty:
    path: Path                      # decompressed, dont_use cells removed
    source: Path
    library: str                    # the library's name
    areas: dict[str, float]         # cell -> area (um^2)
    removed: tuple[str, ...]        # cells taken out (dont_use)
    time_unit_ns: float
    cap_unit_pf: float


def prepare_liberty(source: Path, tech: Technology, cache_dir: Path) -> PreparedLiberty:
    """Decompress and filter ``source`` into ``cache_dir`` (once per content) and read its cell areas."""
    return _prepare(source.resolve(), tech.name, cache_dir.resolve(), source.stat().st_mtime_ns)


@cache
def _prepare(source: Path, tech_name: str, cache_dir: Path, _mtime: int) -> PreparedLiberty:
    tech = TECHNOLOGIES[tech_name]
    text = _read_text(source)
    digest = hashlib.sha256(text.encode() + repr(tech.dont_use).encode()).hexdigest()[:16]
    out = cache_dir / f"{source.name.split('.')[0]}-{digest}.lib"
    lib_name = re.search(r"library\s*\(\s*\"?([^\")\s]+)", text)
    if not lib_name:
        raise GenesysError(f"{source}: not a Liberty file (no library group)")
    kept, removed, areas = [], [], {}
    pos = 0
    for m in _CELL.finditer(text):
        if m.start() < pos:
            continue
        end = _group_end(text, m.end() - 1)
        name = m.group(1)
        body = text[m.start():end]
        if any(fnmatch.fnmatchcase(name, p) for p in tech.dont_use):
            removed.append(name)
            kept.append(text[pos:m.start()])
        else:
            kept.append(text[pos:end])
            a = re.search(r"\barea\s*:\s*([0-9.eE+-]+)", body)
            if a:
                areas[name] = float(a.group(1))
        pos = end
    kept.append(text[pos:])
    if not areas:
        raise GenesysError(f"{source}: no cells with an area in this Liberty file")
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not out.is_file():
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("".join(kept))
        os.replace(tmp, out)
    return PreparedLiberty(path=out, source=source, library=lib_name.group(1), areas=areas, removed=tuple(removed),
                           time_unit_ns=_unit(text, "time_unit", {"ps": 1e-3, "ns": 1.0}, 1.0),
                           cap_unit_pf=_cap_unit(text))


_CELL = re.compile(r"^\s*cell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{", re.M)


def _group_end(text: str, open_brace: int) -> int:
    """Index just past the brace matching the one at ``open_brace`` (Liberty strings hold no braces)."""
    depth = 0
    for i in range(open_brace, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise GenesysError("unbalanced braces in the Liberty file")


def _unit(text: str, key: str, scale: dict[str, float], default: float) -> float:
    m = re.search(rf"{key}\s*:\s*\"?\s*(\d*\.?\d*)\s*(ps|ns)", text)
    if not m:
        return default
    return float(m.group(1) or 1) * scale[m.group(2)]


def _cap_unit(text: str) -> float:
    m = re.search(r"capacitive_load_unit\s*\(\s*([0-9.]+)\s*,\s*\"?(pf|ff)\"?", text, re.I)
    if not m:
        return 1.0
    return float(m.group(1)) * (1.0 if m.group(2).lower() == "pf" else 1e-3)
