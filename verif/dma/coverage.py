"""Functional coverage of the DMA: directions, burst lengths, 4 KiB crossings, alignment, strides, errors,
backpressure and outstanding reads. Every bin is reached by the tests together (runner merges them)."""

from __future__ import annotations

from typing import Any

from genesys.verif.bench_common import coverage_summary, merge_coverage

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
    return coverage_summary(hits, bin_names())


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Union of per-test coverage reports: hit counts add up."""
    return merge_coverage(reports, bin_names())
