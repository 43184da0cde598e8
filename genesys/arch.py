"""The architecture config: one frozen object per preset, the one home of every hardware parameter.

A preset (``configs/<name>.yaml``) holds only primary values. :class:`Arch` validates them and derives
everything else (buffer geometry, address widths, bank counts, bytes per AXI beat, peak MACs). Templates,
flows, testbenches and reports read this object; none of them restate a number.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from genesys.errors import ConfigError

DEFAULT_PRESET = "4x4"
# The SIMD datapath works on 32-bit words (the ISA's 32FXP/32FP types); VMEM rows are SIMD_LANES of them.
SIMD_WORD_WIDTH = 32


@dataclass(frozen=True)
class Param:
    """One primary parameter: its rules and meaning (the docs table is generated from these)."""

    name: str
    description: str
    minimum: int = 1
    maximum: int | None = None
    power_of_two: bool = False
    size: bool = False  # accepts "32KiB"-style strings


PARAMS: tuple[Param, ...] = (
    Param("ARRAY_N", "rows of the systolic array; inputs enter at the row edge", 2, 128, True),
    Param("ARRAY_M", "columns of the systolic array; partial sums flow down the columns", 2, 128, True),
    Param("DATA_WIDTH", "bits of an input activation (signed)", 2, 32, True),
    Param("WGT_WIDTH", "bits of a weight (signed)", 2, 32, True),
    Param("BIAS_WIDTH", "bits of a bias (signed)", 8, 64, True),
    Param("ACC_WIDTH", "bits of an accumulator / partial sum (signed)", 8, 64, True),
    Param("IBUF_BYTES", "input buffer capacity (unified, feeds the array rows)", power_of_two=True, size=True),
    Param("WBUF_BYTES", "weight buffer capacity (split into one bank per PE)", power_of_two=True, size=True),
    Param("OBUF_BYTES", "output buffer capacity (partial sums, one accumulator per column)", power_of_two=True, size=True),
    Param("BBUF_BYTES", "bias buffer capacity (one bias per column)", power_of_two=True, size=True),
    Param("VMEM_BYTES", "capacity of each SIMD vector memory (VMEM1 and VMEM2)", power_of_two=True, size=True),
    Param("IMEM_BYTES", "instruction memory capacity (32-bit words)", power_of_two=True, size=True),
    Param("SIMD_LANES", "lanes of the SIMD (tandem) vector processor", 1, 256, True),
    Param("AXI_IBUF_WIDTH", "AXI4 data width of the IBUF interface (bits)", 32, 1024, True),
    Param("AXI_WBUF_WIDTH", "AXI4 data width of the parameter interface: WBUF and BBUF (bits)", 32, 1024, True),
    Param("AXI_OBUF_WIDTH", "AXI4 data width of the OBUF interface (bits)", 32, 1024, True),
    Param("AXI_SIMD_WIDTH", "AXI4 data width of the SIMD/VMEM interface (bits)", 32, 1024, True),
    Param("AXI_INSTR_WIDTH", "AXI4 data width of the instruction interface (bits)", 32, 1024, True),
    Param("AXI_ADDR_WIDTH", "AXI4 address width of every master interface (bits); DRAM byte addresses wrap modulo 2**width", 16, 64),
    Param("CLOCK_MHZ", "target clock frequency (MHz) for synthesis and timing", 1, 5000),
)
_PARAM_BY_NAME = {p.name: p for p in PARAMS}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_SIZE_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


@dataclass(frozen=True)
class BufferGeometry:
    """How one on-chip buffer is organised: ``depth`` rows of ``banks`` x ``bank_width`` bits."""

    name: str
    capacity_bytes: int
    banks: int
    bank_width: int  # bits per bank word
    depth: int  # words per bank
    axi_width: int  # bits per beat of the AXI interface that fills it

    @property
    def row_width(self) -> int:
        """Bits read or written in one cycle across all banks."""
        return self.banks * self.bank_width

    @property
    def addr_width(self) -> int:
        return max(1, math.ceil(math.log2(self.depth)))

    @property
    def bytes_per_beat(self) -> int:
        return self.axi_width // 8

    @property
    def beats_per_row(self) -> int:
        return max(1, math.ceil(self.row_width / self.axi_width))


@dataclass(frozen=True)
class Arch:
    """A validated architecture. Build it with :func:`load_arch`; never edit it (it is frozen)."""

    name: str
    source: str
    description: str
    ARRAY_N: int
    ARRAY_M: int
    DATA_WIDTH: int
    WGT_WIDTH: int
    BIAS_WIDTH: int
    ACC_WIDTH: int
    IBUF_BYTES: int
    WBUF_BYTES: int
    OBUF_BYTES: int
    BBUF_BYTES: int
    VMEM_BYTES: int
    IMEM_BYTES: int
    SIMD_LANES: int
    AXI_IBUF_WIDTH: int
    AXI_WBUF_WIDTH: int
    AXI_OBUF_WIDTH: int
    AXI_SIMD_WIDTH: int
    AXI_INSTR_WIDTH: int
    AXI_ADDR_WIDTH: int
    CLOCK_MHZ: int

    def __post_init__(self) -> None:
        _check_relations(self)

    # ---- derived values -------------------------------------------------------------------------
    @cached_property
    def buffers(self) -> dict[str, BufferGeometry]:
        """Geometry of every on-chip buffer, keyed IBUF/WBUF/BBUF/OBUF/VMEM/IMEM."""
        n, m = self.ARRAY_N, self.ARRAY_M
        spec = {
            # name: (capacity, banks, bits per bank word, AXI width)
            "IBUF": (self.IBUF_BYTES, n, self.DATA_WIDTH, self.AXI_IBUF_WIDTH),
            "WBUF": (self.WBUF_BYTES, n * m, self.WGT_WIDTH, self.AXI_WBUF_WIDTH),
            "BBUF": (self.BBUF_BYTES, m, self.BIAS_WIDTH, self.AXI_WBUF_WIDTH),
            "OBUF": (self.OBUF_BYTES, m, self.ACC_WIDTH, self.AXI_OBUF_WIDTH),
            "VMEM": (self.VMEM_BYTES, self.SIMD_LANES, SIMD_WORD_WIDTH, self.AXI_SIMD_WIDTH),
            "IMEM": (self.IMEM_BYTES, 1, 32, self.AXI_INSTR_WIDTH),
        }
        out = {}
        for name, (cap, banks, width, axi) in spec.items():
            out[name] = BufferGeometry(name, cap, banks, width, cap * 8 // (banks * width), axi)
        return out

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.ARRAY_N * self.ARRAY_M

    @property
    def peak_gops(self) -> float:
        """Peak giga-operations per second (a MAC counts as two operations) at CLOCK_MHZ."""
        return 2 * self.peak_macs_per_cycle * self.CLOCK_MHZ / 1000

    @property
    def clock_period_ns(self) -> float:
        return 1000.0 / self.CLOCK_MHZ

    @property
    def product_width(self) -> int:
        """Bits of one PE's exact product DATA x WGT."""
        return self.DATA_WIDTH + self.WGT_WIDTH

    def primaries(self) -> dict[str, int]:
        return {p.name: getattr(self, p.name) for p in PARAMS}

    def derived(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "PEAK_MACS_PER_CYCLE": self.peak_macs_per_cycle,
            "PEAK_GOPS": round(self.peak_gops, 3),
            "CLOCK_PERIOD_NS": round(self.clock_period_ns, 4),
            "PRODUCT_WIDTH": self.product_width,
            "IMEM_DEPTH": self.buffers["IMEM"].depth,
        }
        for b in self.buffers.values():
            d[f"{b.name}_BANKS"] = b.banks
            d[f"{b.name}_BANK_WIDTH"] = b.bank_width
            d[f"{b.name}_DEPTH"] = b.depth
            d[f"{b.name}_ADDR_WIDTH"] = b.addr_width
            d[f"{b.name}_BYTES_PER_BEAT"] = b.bytes_per_beat
            d[f"{b.name}_BEATS_PER_ROW"] = b.beats_per_row
        return d

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "description": self.description,
                "primary": self.primaries(), "derived": self.derived()}


def _check_relations(a: Arch) -> None:
    """Rules that involve more than one parameter."""
    where = a.source
    for b in a.buffers.values():
        row_bytes = b.row_width // 8
        # Each buffer is double-buffered, so it must hold at least two rows (one per half).
        if b.capacity_bytes < 2 * row_bytes:
            raise ConfigError(
                f"{where}: {b.name}_BYTES = {b.capacity_bytes} is too small: one {b.name} row is "
                f"{b.banks} banks x {b.bank_width} bits = {row_bytes} bytes, and the buffer must hold at least "
                f"two rows (double buffering), i.e. >= {2 * row_bytes} bytes. Raise {b.name}_BYTES.")
    if a.SIMD_LANES != a.ARRAY_M:
        raise ConfigError(
            f"{where}: SIMD_LANES = {a.SIMD_LANES} must equal ARRAY_M = {a.ARRAY_M}: the SIMD unit post-processes "
            f"one OBUF row (one accumulator per array column) per cycle. Set SIMD_LANES: {a.ARRAY_M}.")
    if a.ACC_WIDTH < a.product_width:
        raise ConfigError(
            f"{where}: ACC_WIDTH = {a.ACC_WIDTH} cannot hold one product of DATA_WIDTH + WGT_WIDTH = "
            f"{a.product_width} bits; set ACC_WIDTH >= {a.product_width}.")
    if a.BIAS_WIDTH > a.ACC_WIDTH:
        raise ConfigError(f"{where}: BIAS_WIDTH = {a.BIAS_WIDTH} exceeds ACC_WIDTH = {a.ACC_WIDTH}; "
                          "a bias is added into the accumulator.")


# ---- loading ------------------------------------------------------------------------------------
def list_presets() -> list[str]:
    """Names of the built-in presets (``configs/*.yaml``)."""
    names = [p.name[:-5] for p in resources.files("genesys.configs").iterdir() if p.name.endswith(".yaml")]
    return sorted(names, key=_preset_sort_key)


def _preset_sort_key(name: str) -> tuple:
    m = re.fullmatch(r"(\d+)x(\d+)", name)
    return (0, int(m[1]) * int(m[2]), int(m[1])) if m else (1, 0, name)


def preset_path(name: str) -> Path:
    return Path(str(resources.files("genesys.configs") / f"{name}.yaml"))


def load_arch(spec: str | Path | Arch) -> Arch:
    """Load a preset by name (``"16x16"``) or a user's YAML file by path; validate; return the frozen Arch."""
    if isinstance(spec, Arch):
        return spec
    text_spec = str(spec)
    looks_like_path = isinstance(spec, Path) or text_spec.endswith((".yaml", ".yml")) or "/" in text_spec
    if looks_like_path:
        path = Path(text_spec)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}. Pass a preset name ({', '.join(list_presets())}) "
                              "or the path of an existing YAML file.")
        name = path.stem
    else:
        if text_spec not in list_presets():
            close = difflib.get_close_matches(text_spec, list_presets(), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown preset '{text_spec}'.{hint} Known presets: {', '.join(list_presets())}; "
                              "or pass the path of a YAML file.")
        path = preset_path(text_spec)
        name = text_spec
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{path}{loc}: malformed YAML: {problem}. Fix the file's syntax.") from None
    return arch_from_dict(raw, source=str(path), name=name)


def arch_from_dict(raw: Any, source: str = "<dict>", name: str = "custom") -> Arch:
    """Validate a mapping of primary values (as a preset holds them) and build the Arch."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of KEY: value pairs at the top level, "
                          f"got {type(raw).__name__}.")
    raw = dict(raw)
    description = raw.pop("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{source}: 'description' must be a string, got {description!r}.")
    unknown = sorted(set(raw) - set(_PARAM_BY_NAME))
    if unknown:
        k = unknown[0]
        close = difflib.get_close_matches(str(k), list(_PARAM_BY_NAME), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{source}: unknown key '{k}'.{hint} Allowed keys: description, "
                          f"{', '.join(_PARAM_BY_NAME)}.")
    missing = [p.name for p in PARAMS if p.name not in raw]
    if missing:
        raise ConfigError(f"{source}: missing key(s) {', '.join(missing)}. Every primary parameter must be given "
                          "(copy a preset from configs/ as a starting point).")
    values = {p.name: _check_value(p, raw[p.name], source) for p in PARAMS}
    return Arch(name=name, source=source, description=description, **values)


def _check_value(p: Param, value: Any, source: str) -> int:
    if p.size and isinstance(value, str):
        m = _SIZE_RE.match(value)
        if not m:
            raise ConfigError(f"{source}: {p.name} = {value!r} is not a size; write an integer number of bytes "
                              "or a number with a unit, e.g. 32768 or 32KiB (units B, KiB, MiB, GiB).")
        value = int(m[1]) * _SIZE_UNITS[m[2]]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{source}: {p.name} = {value!r} has type {type(value).__name__}; it must be an integer"
                          + (" or a size such as 32KiB." if p.size else "."))
    if value < p.minimum or (p.maximum is not None and value > p.maximum):
        upper = f"..{p.maximum}" if p.maximum is not None else " or more"
        rule = "positive" if p.minimum == 1 and p.maximum is None else f"in {p.minimum}{upper}"
        raise ConfigError(f"{source}: {p.name} = {value} is out of range; it must be {rule} ({p.description}).")
    if p.power_of_two and value & (value - 1):
        lo, hi = 1 << (value.bit_length() - 1), 1 << value.bit_length()
        raise ConfigError(f"{source}: {p.name} = {value} must be a power of two (banking and address decoding "
                          f"split it into bit fields); try {lo} or {hi}.")
    return value


def replace(arch: Arch, **changes: int) -> Arch:
    """A new validated Arch with some primaries changed (the original stays untouched)."""
    values = arch.primaries() | changes
    return arch_from_dict(values | {"description": arch.description}, source=f"{arch.source} (modified)",
                          name=arch.name)


__all__ = ["Arch", "BufferGeometry", "PARAMS", "DEFAULT_PRESET", "load_arch", "arch_from_dict",
           "list_presets", "preset_path", "replace"]
