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
