"""The AXI4 DMA engine (templates/dma): static checks on every lint preset, the reference model against
the simulator's transfer semantics, pyuvm verification on Verilator, and a mutation (the 4 KiB split
removed) that the burst monitor must catch."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys.arch import load_arch
from genesys.render import render
from genesys.sim import dma as sim_dma
from genesys.tools import tool_env
from genesys.verif.dma import reference as ref
from genesys.verif.dma.components import check_burst_rules
from genesys.verif.dma.runner import TESTS, run_verification

from .conftest import LINT_PRESETS, require_tool

FILES = ["genesys_pkg.sv", "genesys_dma_fifo.sv", "genesys_dma.sv"]


@pytest.fixture(scope="module")
def dma_rtl(tmp_path_factory):
    cache: dict[str, tuple] = {}

    def get(preset: str):
        if preset not in cache:
            out = tmp_path_factory.mktemp(f"dma_{preset}")
            cache[preset] = (out, render(preset, out, top_block="dma"))
        return cache[preset]

    return get


def _run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=tool_env())


# ---- static checks --------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_rendered_from_the_arch(dma_rtl, preset):
    rtl, manifest = dma_rtl(preset)
    assert manifest["top"] == "genesys_dma" and manifest["files"] == FILES
    text = (rtl / "genesys_dma.sv").read_text()
    m = re.search(r"parameter int DATA_WIDTH\s*=\s*(\d+)", text)
    assert m and int(m.group(1)) == load_arch(preset).buffers["IBUF"].axi_width
    assert re.search(r"parameter int MAX_BURST_BEATS\s*=\s*256", text)


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_verilator_lint_wall_clean(dma_rtl, preset):
    verilator = require_tool("verilator")
    rtl, manifest = dma_rtl(preset)
    r = _run([verilator, "--lint-only", "-Wall", "--top-module", "genesys_dma", *manifest["files"]], rtl)
    diagnostics = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("%")]
    assert r.returncode == 0 and not diagnostics, "\n".join(diagnostics) or r.stderr


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_icarus_compiles(dma_rtl, preset, tmp_path):
    iverilog = require_tool("icarus")
    rtl, manifest = dma_rtl(preset)
    r = _run([iverilog, "-g2012", "-o", str(tmp_path / "a.out"), "-s", "genesys_dma", *manifest["files"]], rtl)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_yosys_reads_and_checks_hierarchy(dma_rtl, preset):
    yosys = require_tool("yosys")
    rtl, manifest = dma_rtl(preset)
    script = f"read_verilog -sv {' '.join(manifest['files'])}; hierarchy -check -top genesys_dma"
    r = _run([yosys, "-q", "-p", script], rtl)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- the reference model ----------------------------------------------------------------------------
descriptors = st.builds(
    lambda it, sd, req, addr: ref.Descriptor(False, addr, it, sd, req),
    st.lists(st.integers(1, 4), min_size=4, max_size=4),
    st.lists(st.integers(-9000, 9000), min_size=4, max_size=4),
    st.integers(1, 9000),
    st.integers(40_000, 80_000),
)


@settings(max_examples=150, deadline=None)
@given(descriptors)
def test_reference_addresses_are_the_nested_loops(d):
    """Stream order = the loop nest of docs/isa.md (lexicographic, loop 0 outermost), req bytes each."""
    want = [d.addr + a * d.strides[0] + b * d.strides[1] + c * d.strides[2] + e * d.strides[3] + k
            for a in range(d.iters[0]) for b in range(d.iters[1]) for c in range(d.iters[2])
            for e in range(d.iters[3]) for k in range(d.req)]
    assert ref.stream_addresses(d).tolist() == want
    assert [a for a, _ in ref.transfer(d)][:50] == want[:50]


@settings(max_examples=150, deadline=None)
@given(descriptors, st.sampled_from([4, 8, 16, 32, 64, 128]), st.sampled_from([1, 2, 16, 256]))
def test_reference_bursts_agree_with_the_simulator(d, bpb, max_beats):
    """The burst split covers every request exactly and keeps the AXI rules. Its beats equal what the
    simulator's timing model charges (genesys.sim.dma.beats), unaligned requests included."""
    bursts = ref.bursts(d, bpb, max_beats)
    hw, model = sum(b.beats for b in bursts), sim_dma.beats(ref.request_addresses(d), d.req, bpb)
    assert hw == model
    covered = [a for b in bursts for a in range(b.addr, b.addr + b.n_bytes)]
    assert covered == ref.stream_addresses(d).tolist()
    for b in bursts:
        assert check_burst_rules(b.addr, b.beats - 1, (bpb - 1).bit_length(), 1, bpb, max_beats) == []
        strobes = b.strobes(bpb)
        assert sum(bin(s).count("1") for s in strobes) == b.n_bytes


def test_reference_load_and_store_are_the_simulators_gather_and_scatter():
    rng = np.random.default_rng(3)
    dram = rng.integers(0, 256, 1 << 16, dtype=np.uint8)
    d = ref.Descriptor(True, 9000, [2, 1, 3, 2], [-3000, 0, 700, 50], 9)
    addrs = ref.stream_addresses(d)
    assert ref.load_stream(d, dram) == bytes(dram[addrs])
    stream = bytes(range(d.n_bytes))
    img = dram.copy()
    ref.store(d, img, stream)
    for s, a in enumerate(addrs.tolist()):
        assert img[a] == stream[s]  # no request overlaps here


def test_burst_rule_checker_flags_each_rule():
    assert check_burst_rules(0x0FF8, 1, 3, 1, 8, 256)  # two 8-byte beats from 0xFF8 cross 0x1000
    assert check_burst_rules(0x1000, 256, 3, 1, 8, 256)  # 257 beats
    assert check_burst_rules(0x1000, 0, 2, 1, 8, 256)  # narrow beat
    assert check_burst_rules(0x1000, 0, 3, 2, 8, 256)  # WRAP
    assert check_burst_rules(0x0FF8, 0, 3, 1, 8, 256) == []


# ---- pyuvm verification -----------------------------------------------------------------------------
def _assert_clean_pass(r):
    assert r.passed, r.reason
    assert r.tests == len(TESTS) and r.failures == 0
    assert r.items > 0 and r.sim_cycles > r.items
    assert r.coverage["bins_hit"] == r.coverage["bins_total"] > 0, r.coverage.get("missed")
    assert json.loads((r.results_xml.parent / "verif_result.json").read_text())["passed"] is True


@pytest.mark.simulator_required
@pytest.mark.parametrize("preset", ["4x4", "16x16"])
def test_verilator(preset, tmp_path):
    require_tool("verilator")
    _assert_clean_pass(run_verification(preset, tmp_path, items=30))


@pytest.mark.simulator_required
def test_mutation_no_4k_split_is_caught_by_the_burst_monitor(tmp_path):
    """Remove the 4 KiB limit from the burst split: the AXI monitor must stop the run with the rule."""
    require_tool("verilator")
    rtl = tmp_path / "rtl"
    render("4x4", rtl, top_block="dma")
    src = rtl / "genesys_dma.sv"
    good = "assign limit        = (to_boundary < to_max_burst) ? to_boundary : to_max_burst;"
    text = src.read_text()
    assert good in text
    src.write_text(text.replace(good, "assign limit        = to_max_burst;"))
    r = run_verification("4x4", tmp_path / "work", rtl_dir=rtl, items=20, test="DmaCornerTest")
    assert not r.passed
    assert "crosses the 4 KiB boundary" in r.reason, r.reason
