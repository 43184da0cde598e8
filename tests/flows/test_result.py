"""FlowResult: JSON round trip, files, and the checks on malformed input."""

from __future__ import annotations

import json

import pytest

from genesys.errors import GenesysError
from genesys.flows.result import SCHEMA, FlowResult


def _sample() -> FlowResult:
    return FlowResult(preset="4x4", flow="synth", status="passed", tool="yosys", tool_version="0.23",
                      wall_seconds=12.5, warnings=2,
                      metrics={"cells": 51423, "cells_by_type": {"$_AND_": 938, "$_DFF_P_": 1243}},
                      log="4x4/synth/synth.log", started="2026-11-21T23:59:14+00:00",
                      command=["fusesoc", "run", "--target", "synth"])


def test_json_round_trip_keeps_every_field():
    r = _sample()
    back = FlowResult.from_json(r.to_json())
    assert back == r
    assert json.loads(r.to_json())["schema"] == SCHEMA


def test_write_and_read_use_the_preset_flow_path(tmp_path):
    r = _sample()
    path = r.write(tmp_path)
    assert path == tmp_path / "4x4" / "synth" / "result.json"
    assert FlowResult.read(path) == r
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]  # no temporary file left behind


def test_rewriting_one_flow_leaves_the_others(tmp_path):
    _sample().write(tmp_path)
    lint = FlowResult(preset="4x4", flow="lint", status="failed", reason="%Warning-WIDTH: x")
    lint.write(tmp_path)
    lint.status, lint.reason = "passed", ""
    lint.write(tmp_path)
    assert FlowResult.read(tmp_path / "4x4" / "synth" / "result.json") == _sample()
    assert FlowResult.read(tmp_path / "4x4" / "lint" / "result.json").status == "passed"


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError, match="status"):
        FlowResult(preset="4x4", flow="lint", status="ok")


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"schema": "other/9", "preset": "4x4", "flow": "lint", "status": "passed"}', "schema"),
    (json.dumps({"schema": SCHEMA, "preset": "4x4", "flow": "lint"}), "missing field"),
    (json.dumps({"schema": SCHEMA, "preset": "4x4", "flow": "lint", "status": "passed", "colour": 1}), "unknown field"),
    (json.dumps({"schema": SCHEMA, "preset": "4x4", "flow": "lint", "status": "maybe"}), "status"),
])
def test_malformed_json_names_the_source_and_problem(text, message):
    with pytest.raises(GenesysError, match=message) as e:
        FlowResult.from_json(text, "build/4x4/lint/result.json")
    assert "build/4x4/lint/result.json" in str(e.value)
