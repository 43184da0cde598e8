"""Shared helpers of the RTL tests: rendered RTL per preset, and skipping when a tool is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genesys.render import render
from genesys.tools import find_tool, missing_reason

LINT_PRESETS = ("4x4", "16x16", "8x4")


def require_tool(name: str) -> str:
    """Path of the tool, or skip the test saying why (only when the tool is really missing)."""
    info = find_tool(name)
    if not info.found:
        pytest.skip(missing_reason(name))
    return info.path


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """rendered(preset, **overrides) -> (rtl folder, manifest); each combination rendered once."""
    cache: dict[tuple, tuple[Path, dict]] = {}

    def get(preset: str, **overrides) -> tuple[Path, dict]:
        key = (preset, tuple(sorted(overrides.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"rtl_{preset}")
            render(preset, out, overrides={"systolic_array": overrides} if overrides else None)
            cache[key] = (out, json.loads((out / "manifest.json").read_text()))
        return cache[key]

    return get
