"""The systolic-array engine (templates/sa_engine) and the stream gearboxes (templates/stream): static checks
on every lint preset, the loop-id constants against the simulator, the stimulus against the reference, the
pyuvm verification on Verilator (4x4 in the CI tier, 16x16 slow) and a mutation (the first-iteration rule
broken) that the scoreboard must catch."""

from __future__ import annotations

import json
import random
import re
import subprocess

import pytest

from genesys.arch import load_arch
from genesys.render import render
from genesys.sim import sa
from genesys.tools import tool_env
from genesys.verif.sa_engine.reference import RefMachine, group_words
from genesys.verif.sa_engine.runner import TESTS, run_verification
from genesys.verif.sa_engine.stimulus import FIRST, Geometry, RandomGroups, compiled_program, dump_group, fill_group

from .conftest import LINT_PRESETS, require_tool

TOPS = {"sa_engine": "genesys_sa_engine", "stream": None}


@pytest.fixture(scope="module")
def rtl(tmp_path_factory):
    cache: dict[tuple[str, str], tuple] = {}

    def get(preset: str, block: str):
        if (preset, block) not in cache:
            out = tmp_path_factory.mktemp(f"{block}_{preset}")
            cache[(preset, block)] = (out, render(preset, out, top_block=block))
        return cache[(preset, block)]

    return get


def _run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=tool_env())


def _tops(block: str) -> list[str]:
    return ["genesys_stream_pack", "genesys_stream_unpack"] if block == "stream" else ["genesys_sa_engine"]


# ---- static checks --------------------------------------------------------------------------------
@pytest.mark.parametrize("block", ["stream", "sa_engine"])
@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_verilator_lint_wall_clean(rtl, preset, block):
    verilator = require_tool("verilator")
    d, manifest = rtl(preset, block)
    for top in _tops(block):
        r = _run([verilator, "--lint-only", "-Wall", "--top-module", top, *manifest["files"]], d)
        diagnostics = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("%")]
        assert r.returncode == 0 and not diagnostics, "\n".join(diagnostics) or r.stderr


@pytest.mark.parametrize("block", ["stream", "sa_engine"])
@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_icarus_compiles(rtl, preset, block, tmp_path):
    iverilog = require_tool("icarus")
    d, manifest = rtl(preset, block)
    for top in _tops(block):
        r = _run([iverilog, "-g2012", "-o", str(tmp_path / "a.out"), "-s", top, *manifest["files"]], d)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("block", ["stream", "sa_engine"])
@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_yosys_reads_and_checks_hierarchy(rtl, preset, block):
    yosys = require_tool("yosys")
    d, manifest = rtl(preset, block)
    for top in _tops(block):
        r = _run([yosys, "-q", "-p", f"read_verilog -sv {' '.join(manifest['files'])}; hierarchy -check -top {top}"], d)
        assert r.returncode == 0, r.stdout + r.stderr


def test_loop_ids_and_limits_agree_with_the_simulator(rtl):
    """The engine's loop-id map and nest limit are the simulator's (genesys.sim.sa), not a second copy."""
    d, _ = rtl("4x4", "sa_engine")
    text = (d / "genesys_sa_engine.sv").read_text()

    def lp(name):
        m = re.search(rf"localparam (?:int|longint) {name}\s*=\s*(\d+);", text)
        assert m, name
        return int(m.group(1))

    assert lp("N_COMPUTE_LOOPS") == sa.N_COMPUTE_LOOPS and lp("N_LOOPS") == sa.N_LOOPS
    assert {b: lp(f"TL_{b}") for b in sa.TRANSFER_LOOPS} == sa.TRANSFER_LOOPS == FIRST
    assert lp("MAX_ITERATIONS") == sa.MAX_ITERATIONS
    # decoding reads genesys_pkg only
    for name in ("OP_SA_LOOP", "OP_SET_LOOP_STRIDE", "OP_SET_BASE_ADDR", "OP_LD_ST", "F_OPCODE_LSB", "F_LOOP_ID_LSB"):
        assert f"genesys_pkg::{name}" in text


# ---- stimulus against the reference -------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["4x4", "16x16"])
def test_stimulus_is_mostly_legal_and_hits_every_error(preset):
    """Random groups run to their end on the reference; error groups stop with the intended cause."""
    arch = load_arch(preset)
    gen, ref = RandomGroups(arch, random.Random(5)), RefMachine(arch, 1 << 20)
    geo = Geometry.of(arch)
    for g in (fill_group(geo), dump_group(geo)):
        assert ref.run_group(*group_words(g.body)[:2], group_words(g.body)[2], 0).cause is None
    ok = sum(ref.run_group(*group_words(gen.group().body), 10).cause is None for _ in range(100))
    assert ok >= 95
    causes = {ref.run_group(*group_words(gen.error_group().body), 10).cause for _ in range(150)}
    assert {"BAD_FIELD", "IBUF_RANGE", "WBUF_RANGE", "BBUF_RANGE", "OBUF_RANGE"} <= causes


def test_compiled_programs_have_array_groups():
    arch = load_arch("4x4")
    for kind in ("conv", "gemm"):
        image, groups = compiled_program(arch, kind, 3)
        assert groups and image
        assert all(any(line.startswith("LD_ST LD") for line in g.body) for g in groups)


# ---- pyuvm verification -----------------------------------------------------------------------------
def _assert_clean_pass(r):
    assert r.passed, r.reason
    assert r.tests == len(TESTS) and r.failures == 0
    assert r.items > 0 and r.sim_cycles > r.items
    assert r.coverage["bins_hit"] == r.coverage["bins_total"] > 0, r.coverage.get("missed")
    assert json.loads((r.results_xml.parent / "verif_result.json").read_text())["passed"] is True


@pytest.mark.simulator_required
def test_verilator_4x4(tmp_path):
    require_tool("verilator")
    _assert_clean_pass(run_verification("4x4", tmp_path, items=10))


@pytest.mark.slow
@pytest.mark.simulator_required
def test_verilator_16x16(tmp_path):
    require_tool("verilator")
    _assert_clean_pass(run_verification("16x16", tmp_path, items=12))


@pytest.mark.slow
@pytest.mark.simulator_required
def test_mutation_first_iteration_rule_is_caught(tmp_path):
    """Ignore the INNER reduction marks (every iteration 'first': bias instead of the partial sum): the
    scoreboard must see the compiled convolutions' outputs differ from the simulator's."""
    require_tool("verilator")
    d = tmp_path / "rtl"
    render("4x4", d, top_block="sa_engine")
    src = d / "genesys_sa_engine.sv"
    good = "if (inner_q[k] && idx_q[k] != 16'd0) n_first = 1'b0;"
    text = src.read_text()
    assert good in text
    src.write_text(text.replace(good, "if (1'b0) n_first = 1'b0;"))
    r = run_verification("4x4", tmp_path / "work", rtl_dir=d, test="SaCompiledTest")
    assert not r.passed
    assert "DRAM differs" in r.reason, r.reason
