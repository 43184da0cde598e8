"""Static checks of the rendered systolic array (Verilator -Wall lint, Icarus -g2012 compile, Yosys read +
hierarchy check, a 4x4 synthesis) and of the whole NPU genesys_top on every preset."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from genesys.arch import load_arch
from genesys.render import render
from genesys.tools import tool_env

from .conftest import LINT_PRESETS, require_tool


def _run(cmd: list[str], cwd, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=tool_env())


def _hdl(manifest: dict) -> list[str]:
    return [f for f in manifest["files"] if not f.endswith(".vlt")]


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_rendered_parameters_come_from_the_arch(rendered, preset):
    """The top's parameter defaults are the preset's values (the template types none of them)."""
    rtl, manifest = rendered(preset)
    text = (rtl / "genesys_systolic_array.sv").read_text()
    arch = load_arch(preset)
    for name in ("ARRAY_N", "ARRAY_M", "DATA_WIDTH", "WGT_WIDTH", "ACC_WIDTH"):
        m = re.search(rf"parameter int {name}\s*=\s*(\d+)", text)
        assert m and int(m.group(1)) == getattr(arch, name), f"{name} default in {preset}"
    assert "genesys_pkg::WBUF_DEPTH" in text
    pkg = (rtl / "genesys_pkg.sv").read_text()
    assert f"localparam int WBUF_DEPTH = {arch.buffers['WBUF'].depth};" in pkg
    assert manifest["top"] == "genesys_systolic_array"
    assert manifest["files"][0] == "genesys_pkg.sv"


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_verilator_lint_wall_clean(rendered, preset):
    verilator = require_tool("verilator")
    rtl, manifest = rendered(preset)
    r = _run([verilator, "--lint-only", "-Wall", "--top-module", manifest["top"], *manifest["files"]], rtl)
    diagnostics = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("%")]
    assert r.returncode == 0 and not diagnostics, "\n".join(diagnostics) or r.stderr


def test_verilator_lint_output_reg_variant(rendered):
    """The OUTPUT_REG knob's variant is lint-clean too."""
    verilator = require_tool("verilator")
    rtl, manifest = rendered("8x4", OUTPUT_REG=True)
    assert "parameter int OUTPUT_REG      = 1" in (rtl / "genesys_systolic_array.sv").read_text()
    r = _run([verilator, "--lint-only", "-Wall", "--top-module", manifest["top"], *manifest["files"]], rtl)
    diagnostics = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("%")]
    assert r.returncode == 0 and not diagnostics, "\n".join(diagnostics) or r.stderr


@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_icarus_compiles(rendered, preset, tmp_path):
    iverilog = require_tool("icarus")
    rtl, manifest = rendered(preset)
    r = _run([iverilog, "-g2012", "-Wall", "-o", str(tmp_path / "sa.vvp"), "-s", manifest["top"], *_hdl(manifest)], rtl)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


@pytest.mark.synth_required
@pytest.mark.parametrize("preset", LINT_PRESETS)
def test_yosys_reads_and_checks_hierarchy(rendered, preset):
    yosys = require_tool("yosys")
    rtl, manifest = rendered(preset)
    script = f"read_verilog -sv {' '.join(_hdl(manifest))}; hierarchy -check -top {manifest['top']}"
    r = _run([yosys, "-q", "-p", script], rtl)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.synth_required
def test_yosys_synthesizes_4x4(rendered):
    """Generic synthesis of the 4x4 array, then Yosys's structural checks (no multiple drivers, no
    combinational loops, no undriven wires)."""
    yosys = require_tool("yosys")
    rtl, manifest = rendered("4x4")
    arch = load_arch("4x4")
    script = (f"read_verilog -sv {' '.join(_hdl(manifest))}; synth -top {manifest['top']}; "
              "check -assert; flatten; stat")
    r = _run([yosys, "-p", script], rtl, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    # Every weight-bank bit became a flip-flop with enable (generic synthesis has no RAM cells).
    bank_bits = arch.ARRAY_N * arch.ARRAY_M * arch.buffers["WBUF"].depth * arch.WGT_WIDTH
    dffe = sum(int(n) for n in re.findall(r"\$_DFFE_P\w*\s+(\d+)", r.stdout.split("Printing statistics")[-1]))
    assert dffe >= bank_bits


# ---- the whole NPU (genesys_top): every preset, every tool -------------------------------------------------
ALL_PRESETS = ("4x4", "8x4", "8x8", "16x16", "32x32")


@pytest.fixture(scope="session")
def rendered_npu(tmp_path_factory):
    cache: dict[str, tuple[Path, dict]] = {}

    def get(preset: str) -> tuple[Path, dict]:
        if preset not in cache:
            out = tmp_path_factory.mktemp(f"npu_{preset}")
            cache[preset] = (out, render(preset, out, top_block="npu"))
        return cache[preset]

    return get


@pytest.mark.parametrize("preset", ALL_PRESETS)
def test_npu_top_is_verilator_lint_wall_clean(rendered_npu, preset):
    verilator = require_tool("verilator")
    rtl, manifest = rendered_npu(preset)
    assert manifest["top"] == "genesys_top"
    r = _run([verilator, "--lint-only", "-Wall", "--top-module", "genesys_top", *manifest["files"]], rtl, timeout=600)
    diagnostics = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("%")]
    assert r.returncode == 0 and not diagnostics, "\n".join(diagnostics[:20]) or r.stderr


@pytest.mark.parametrize("preset", ("4x4", "8x4", "16x16"))
def test_npu_top_compiles_on_icarus(rendered_npu, preset, tmp_path):
    iverilog = require_tool("icarus")
    rtl, manifest = rendered_npu(preset)
    r = _run([iverilog, "-g2012", "-o", str(tmp_path / "top.vvp"), "-s", "genesys_top", *_hdl(manifest)], rtl,
             timeout=600)
    errors = [line for line in (r.stdout + r.stderr).splitlines() if "error" in line.lower()]
    assert r.returncode == 0 and not errors, "\n".join(errors[:20])


@pytest.mark.synth_required
@pytest.mark.parametrize("preset", ("4x4", "8x4", "16x16"))
def test_npu_top_yosys_reads_and_checks_hierarchy(rendered_npu, preset):
    yosys = require_tool("yosys")
    rtl, manifest = rendered_npu(preset)
    script = f"read_verilog -sv {' '.join(_hdl(manifest))}; hierarchy -check -top genesys_top"
    r = _run([yosys, "-q", "-p", script], rtl, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
