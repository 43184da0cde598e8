"""Every Python package in the tree is part of the distribution (the package-dir mapping is explicit)."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _declared() -> tuple[dict[str, str], set[str]]:
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return cfg["package-dir"], set(cfg["packages"])


def test_every_package_folder_is_declared():
    mapping, declared = _declared()
    found = set()
    for pkg, folder in mapping.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            if any(part.startswith((".", "__")) for part in rel.parts):
                continue
            found.add(".".join([pkg, *rel.parts]) if rel.parts else pkg)
    # a folder mapped on its own (e.g. genesys.flows -> flows/) is also found under genesys/ only if nested
    missing = sorted(found - declared)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_declared_packages_exist():
    mapping, declared = _declared()
    for pkg in declared:
        parts = pkg.split(".")
        for i in range(len(parts), 0, -1):
            head = ".".join(parts[:i])
            if head in mapping:
                folder = REPO / mapping[head] / Path(*parts[i:])
                break
        assert (folder / "__init__.py").is_file(), f"{pkg} -> {folder} has no __init__.py"
