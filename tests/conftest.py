"""Shared fixtures: the repo root, the read-only reference material, and a CLI runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings as _hypothesis_settings

# Property tests judge results, not speed: no per-example deadline (a loaded 2-core CI machine makes
# single examples take over hypothesis's default 200 ms, which would fail correct code).
_hypothesis_settings.register_profile("genesys", deadline=None)
_hypothesis_settings.load_profile("genesys")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"reference material not found at {SHARED} (it sits beside the repo in CI)")
    return SHARED


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the `genesys` command as a user would (a fresh interpreter, captured output)."""
    return subprocess.run([sys.executable, "-m", "genesys.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
