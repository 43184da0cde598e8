"""Functional coverage of the DMA: directions, burst lengths, 4 KiB crossings, alignment, strides, errors,
backpressure and outstanding reads. Every bin is reached by the tests together (runner merges them)."""

from __future__ import annotations

from typing import Any

BINS = (
    "dir:load", "dir:store",
    "beats:1", "beats:2-15", "beats:16-255", "beats:max",
    "request:single_byte", "request:in_one_beat", "request:multi_beat", "request:multi_burst",
    "cross4k:no", "cross4k:yes",
    "start:aligned", "start:unaligned", "end:aligned", "end:partial",
    "stride:negative", "stride:zero", "stride:positive", "nest:4_levels",
    "error:load", "error:store", "empty:req0",
    "stall:load_stream", "stall:store_stream", "outstanding:multi",
)


def bin_names() -> tuple[str, ...]:
    return BINS


def sample(hits: dict[str, int], obs, bursts, bytes_per_beat: int, max_beats: int) -> None:
    """Count the bins one observed transfer (and its reference bursts) hits."""
    d = obs.desc

    def add(name: str) -> None:
        hits[name] = hits.get(name, 0) + 1

    add("dir:store" if d.store else "dir:load")
    if d.req == 0:
        add("empty:req0")
        return
    for b in bursts:
        if b.beats == max_beats:
            add("beats:max")
        elif b.beats == 1:
            add("beats:1")
        elif b.beats < 16:
            add("beats:2-15")
        else:
            add("beats:16-255")
        add("start:aligned" if b.addr % bytes_per_beat == 0 else "start:unaligned")
        add("end:aligned" if (b.addr + b.n_bytes) % bytes_per_beat == 0 else "end:partial")
    if d.req == 1:
        add("request:single_byte")
    elif d.req <= bytes_per_beat:
        add("request:in_one_beat")
    else:
        add("request:multi_beat")
    if len(bursts) > d.n_requests:
        add("request:multi_burst")
    add("cross4k:yes" if obs.crossings else "cross4k:no")
    for it, st in zip(d.iters, d.strides, strict=True):
        if it > 1:
            add("stride:negative" if st < 0 else "stride:zero" if st == 0 else "stride:positive")
    if all(it > 1 for it in d.iters):
        add("nest:4_levels")
    if obs.sts_error:
        add("error:store" if d.store else "error:load")
    if obs.stream_stalls:
        add("stall:store_stream" if d.store else "stall:load_stream")
    if obs.max_outstanding >= 2:
        add("outstanding:multi")


def summarize(hits: dict[str, int]) -> dict[str, Any]:
    names = bin_names()
    hit = [b for b in names if hits.get(b, 0) > 0]
    groups: dict[str, dict[str, int]] = {}
    for b in names:
        g = groups.setdefault(b.split(":", 1)[0], {"hit": 0, "total": 0})
        g["total"] += 1
        g["hit"] += hits.get(b, 0) > 0
    return {"bins_hit": len(hit), "bins_total": len(names), "percent": round(100.0 * len(hit) / len(names), 1),
            "groups": groups, "missed": [b for b in names if b not in hit],
            "bins": {b: int(hits.get(b, 0)) for b in names}}


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, int] = dict.fromkeys(bin_names(), 0)
    for r in reports:
        for b, c in r.get("bins", {}).items():
            total[b] = total.get(b, 0) + int(c)
    return summarize(total)
