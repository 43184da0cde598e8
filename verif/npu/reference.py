"""What a finished run is compared with: the simulator's DRAM (bit for bit), its counters (exact for the
counters that count work, within a tolerance for the timing model's), and its per-layer cycles, which the
RTL run gets by sampling the PC register (completion attribution, as genesys.runtime.layer_cycles does).
Pure functions on numpy arrays and dicts (no simulator handles)."""

from __future__ import annotations

import numpy as np

from genesys.isa import decode
from genesys.isa.counters import COUNTER_NAMES

# Counters that count work: the RTL must equal the simulator exactly.
EXACT_COUNTERS = tuple(n for n in COUNTER_NAMES if n in ("instructions", "groups", "macs") or n.endswith("_bytes"))
# Counters of the timing model: compared with a tolerance and reported, never failed.
TIMING_COUNTERS = tuple(n for n in COUNTER_NAMES if n not in EXACT_COUNTERS)
TIMING_TOLERANCE = 0.05
TRANSFER_MNEMONICS = ("LD_ST", "LD_START", "ST_START")


def dram_diff(got: np.ndarray, want: np.ndarray, base: int = 0, regions: list[dict] | None = None,
              show: int = 8) -> dict | None:
    """None when equal; else the count of differing bytes, the first few (address, expected, got) and the
    named regions (graph outputs) they fall in."""
    if got.size != want.size:
        return {"bytes": abs(int(got.size) - int(want.size)), "first": [], "regions": [],
                "why": f"sizes differ: {got.size} vs {want.size}"}
    bad = np.flatnonzero(got != want)
    if bad.size == 0:
        return None
    names = []
    for r in regions or []:
        lo, hi = r["addr"], r["addr"] + r["bytes"]
        n = int(np.count_nonzero((bad >= lo) & (bad < hi)))
        if n:
            names.append(f"{r['name']} ({n} of {r['bytes']} bytes)")
    return {"bytes": int(bad.size),
            "first": [(hex(base + int(a)), int(want[a]), int(got[a])) for a in bad[:show]],
            "regions": names}


def compare_counters(rtl: dict[str, int], sim: dict[str, int]) -> tuple[list[str], dict[str, dict]]:
    """(failures for exact counters, per-counter report {rtl, sim, diff, pct, within})."""
    fails, table = [], {}
    for name in COUNTER_NAMES:
        r, s = int(rtl.get(name, 0)), int(sim.get(name, 0))
        pct = 0.0 if r == s else (100.0 * (r - s) / s if s else float("inf"))
        exact = name in EXACT_COUNTERS
        within = r == s if exact else abs(pct) <= 100 * TIMING_TOLERANCE
        table[name] = {"rtl": r, "sim": s, "diff": r - s, "pct": round(pct, 2) if pct != float("inf") else None,
                       "exact": exact, "within": within}
        if exact and r != s:
            fails.append(f"counter {name}: RTL {r}, simulator {s}")
    return fails, table


def layer_of_index(layers: list[dict], n_words: int) -> np.ndarray:
    """Instruction index -> layer number (-1: no layer, e.g. BLOCK_END words between groups)."""
    owner = np.full(max(n_words, 1), -1, dtype=np.int64)
    for k, layer in enumerate(layers):
        for a, b in layer["ranges"]:
            owner[a:b + 1] = k
    return owner


def layer_cycles(layers: list[dict], samples: list[tuple[int, int]], total: int, n_words: int) -> list[dict]:
    """Per layer: RTL cycles attributed by completion from PC samples (a layer ends at its last sample; it
    owns the cycles from the previous layer's end to its own end, the last layer up to ``total``), next to the
    simulator's cycles (the same attribution on its group records); and ``rtl_occupancy``, the cycles the PC
    sat in the layer's instructions (interleaved layers: completion gives a layer finished under a
    neighbour 0 cycles, occupancy does not)."""
    owner = layer_of_index(layers, n_words)
    last_seen = [-1] * len(layers)
    busy = [0] * len(layers)  # occupancy: each sample interval goes to the layer owning the PC sampled
    for k, (t, pc) in enumerate(samples):
        nxt = samples[k + 1][0] if k + 1 < len(samples) else total
        if 0 <= pc < owner.size and owner[pc] >= 0:
            last_seen[owner[pc]] = t
            busy[owner[pc]] += max(0, nxt - t)
    out, done = [], 0
    active = [k for k, layer in enumerate(layers) if layer["ranges"]]
    for k, layer in enumerate(layers):
        if k == (active[-1] if active else -1):
            end = total
        else:
            end = max(last_seen[k], done) if last_seen[k] >= 0 else done
        rtl = end - done
        sim = int(layer.get("sim_cycles", 0))
        out.append({"name": layer["name"], "op": layer["op"], "rtl": int(rtl), "sim": sim,
                    "pct": round(100.0 * (rtl - sim) / sim, 1) if sim else None, "rtl_occupancy": int(busy[k])})
        done = end
    return out


def is_transfer_word(word: int) -> bool:
    """The instruction issues a DRAM transfer (the ones an AXI error may name in ERR_PC)."""
    try:
        return decode(word).instr.mnemonic in TRANSFER_MNEMONICS
    except Exception:  # noqa: BLE001 - an undecodable word is no transfer
        return False
