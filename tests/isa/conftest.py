"""Reference programs of the GeneSys compiler, paired line by line with their words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class RefProgram:
    name: str
    text: Path
    binary: Path
    decimal: Path
    n_words: int

    def lines(self) -> list[str]:
        """The non-empty assembly lines, without the compiler's indentation."""
        return [ln.strip() for ln in self.text.read_text().split("\n") if ln.strip()]


PROGRAMS = {
    "add_test": ("add_test/add_string_final.txt", "add_test/elem_add2d2d5_binary.txt",
                 "add_test/add_decimal.txt", 67),
    "resnet50_conv_0": ("resnet50_conv_0/resnet50_custom_conv_string_final.txt",
                        "resnet50_conv_0/resnet50_custom_conv_binary.txt",
                        "resnet50_conv_0/resnet50_custom_conv_decimal.txt", 404),
}


@pytest.fixture(params=sorted(PROGRAMS))
def ref_program(request, shared_dir) -> RefProgram:
    text, binary, decimal, n = PROGRAMS[request.param]
    base = shared_dir / "reference" / "genesys" / "testcases"
    return RefProgram(request.param, base / text, base / binary, base / decimal, n)


@pytest.fixture
def isa_sheet(shared_dir) -> str:
    return (shared_dir / "reference" / "genesys" / "isa" / "GeneSys_ISA.txt").read_text()
