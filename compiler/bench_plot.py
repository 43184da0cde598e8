"""A picture of a benchmark: per-layer cycles against the ideal, and where the array's cycles went.

Reads the dict `genesys bench` prints and writes as JSON (`compiler.cli.bench`), so a saved JSON can be
plotted again later: `python -m genesys.compiler.bench_plot r50.json r50.png`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from genesys.errors import GenesysError

# Labels of the breakdown entries, in the order the array's cycles are accounted for.
_BREAKDOWN = (
    ("ideal", "real MACs"),
    ("padding_and_packing", "channel padding / packing"),
    ("fill_drain", "fill and drain"),
    ("array_idle_simd_bound", "idle: SIMD-bound layers"),
    ("array_idle_other_dma_and_stalls", "idle: DMA, hazards, edges"),
)


def plot_bench(r: dict, path: str | Path) -> Path:
    """Write a PNG: top, cycles and ideal cycles per layer; bottom, the breakdown of all cycles."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    layers = r["layers"]
    if not layers:
        raise GenesysError("the benchmark has no layers to plot")
    names = [L["name"] for L in layers]
    x = range(len(layers))
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(max(8.0, 0.28 * len(layers) + 3), 8),
                                 gridspec_kw={"height_ratios": [3, 1]})
    ax.bar(x, [L["cycles"] for L in layers], color="#9bb7d4", label="cycles (simulated)")
    ax.bar(x, [L["ideal_cycles"] for L in layers], color="#1f4e79", width=0.5, label="ideal: real MACs / (N x M)")
    ax.set_xticks(list(x), names, rotation=90, fontsize=7)
    ax.set_ylabel("cycles")
    ax.set_title(f"{r['model']} on {r['config']}: {r['total_cycles']:,} cycles, "
                 f"utilization {r['utilization']:.1%} of the array")
    ax.legend(loc="upper right")
    ax.margins(x=0.005)

    b = r.get("breakdown", {})
    parts = [(label, b[key]) for key, label in _BREAKDOWN if b.get(key)]
    left = 0
    for i, (label, value) in enumerate(parts):
        bx.barh([0], [value], left=left, color=plt.cm.tab10(i), label=f"{label}: {value / r['total_cycles']:.1%}")
        left += value
    bx.set_yticks([])
    bx.set_xlabel("cycles (array's view)")
    bx.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    path = Path(path)
    try:
        fig.savefig(path, dpi=110)
    except OSError as e:
        raise GenesysError(f"cannot write '{path}': {e.strerror or e}") from None
    finally:
        plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m genesys.compiler.bench_plot BENCH.json OUT.png", file=sys.stderr)
        return 2
    try:
        plot_bench(json.loads(Path(args[0]).read_text()), args[1])
    except (OSError, ValueError, KeyError, GenesysError) as e:
        print(f"bench_plot: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
