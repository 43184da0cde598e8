"""The CLI as a user meets it: clean errors (one message, no traceback, non-zero exit) and working output."""

from __future__ import annotations

import json

import pytest


def test_config_show_prints_primaries_and_derived(cli):
    r = cli("config", "show", "16x16")
    assert r.returncode == 0, r.stderr
    assert "ARRAY_N" in r.stdout and "WBUF_DEPTH" in r.stdout and "PEAK_MACS_PER_CYCLE" in r.stdout


def test_config_show_json(cli):
    r = cli("config", "show", "8x4", "--json")
    data = json.loads(r.stdout)
    assert data["primary"]["ARRAY_M"] == 4 and data["derived"]["WBUF_BANKS"] == 32


def test_config_list(cli):
    r = cli("config", "list")
    assert r.returncode == 0 and "16x16" in r.stdout and "8x4" in r.stdout


@pytest.mark.parametrize("args, text", [
    (("config", "show", "16x61"), "unknown preset '16x61'"),
    (("config", "show", "missing/dir/x.yaml"), "config file not found"),
    (("render", "--config", "nope"), "unknown preset 'nope'"),
    (("render", "--config", "4x4", "--set", "garbage"), "BLOCK.KNOB=VALUE"),
])
def test_bad_input_one_clear_line(cli, args, text):
    r = cli(*args)
    assert r.returncode == 1
    assert text in r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout


def test_malformed_yaml(cli, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("ARRAY_N: [\n")
    r = cli("config", "show", str(p))
    assert r.returncode == 1 and "malformed YAML" in r.stderr and "Traceback" not in r.stderr


def test_debug_shows_traceback(cli):
    r = cli("--debug", "config", "show", "16x61")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_tools_lists_each_tool(cli):
    r = cli("tools")
    assert r.returncode == 0
    for name in ("verilator", "icarus", "yosys", "opensta", "fusesoc"):
        assert name in r.stdout


@pytest.mark.parametrize("args, text", [
    (("flow", "lint", "--config", "nope"), "unknown preset 'nope'"),
    (("regress", "--config", "4x4", "--config", "nope"), "unknown preset 'nope'"),
    (("asm", "missing.s"), "missing.s"),
    (("compile", "missing.onnx"), "neither an .onnx file nor a built-in model"),
    (("compile", "BAD_ONNX"), "is not an ONNX model"),
    (("run", "BAD_ONNX", "--config", "4x4"), "is not an ONNX model"),
    (("compile", "mlp", "--config", "BAD_YAML"), "malformed YAML"),
    (("bench", "nope"), "neither an .onnx file nor a built-in model"),
    (("sim", "missing.bin", "--config", "4x4", "--dram", "missing.bin"), "missing.bin"),
    (("quantize", "missing.onnx"), "not found"),
    (("report", "--build-dir", "EMPTY_DIR"), "run `genesys regress`"),
])
def test_every_command_rejects_bad_input_cleanly(cli, tmp_path, args, text):
    """What was wrong and where, in one line on stderr; exit 1; no traceback; nothing written."""
    (tmp_path / "bad.onnx").write_text("not an onnx model")
    (tmp_path / "bad.yaml").write_text("ARRAY_N: [\n")
    (tmp_path / "empty").mkdir()
    subst = {"BAD_ONNX": str(tmp_path / "bad.onnx"), "BAD_YAML": str(tmp_path / "bad.yaml"),
             "EMPTY_DIR": str(tmp_path / "empty")}
    r = cli(*[subst.get(a, a) for a in args], cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert text in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "build").exists()
