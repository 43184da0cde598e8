"""`genesys asm` / `genesys disasm` as a user meets them: output files, clean errors, exit codes."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genesys.isa import cli as isa_cli
from genesys.isa.formats import read_words

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The subcommands in a fresh interpreter (genesys.isa.cli's own entry point)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "genesys.isa.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def no_traceback(r: subprocess.CompletedProcess) -> bool:
    return "Traceback" not in r.stderr and "Traceback" not in r.stdout


def test_asm_prints_binary_to_stdout(ref_program):
    r = run("asm", str(ref_program.text))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ref_program.binary.read_text() + "\n"


def test_asm_writes_each_format(ref_program, tmp_path):
    want = read_words(ref_program.binary)
    for fmt in ("binary", "decimal", "hex", "raw"):
        out = tmp_path / f"prog.{fmt}"
        r = run("asm", str(ref_program.text), "-o", str(out), "--format", fmt)
        assert r.returncode == 0 and r.stdout == "", r.stderr
        assert read_words(out) == want, fmt
        assert read_words(out, fmt) == want, fmt
    assert (tmp_path / "prog.decimal").read_text() == ref_program.decimal.read_text()
    assert (tmp_path / "prog.raw").stat().st_size == 4 * ref_program.n_words


def test_disasm_reads_any_format(ref_program, tmp_path):
    for src in (ref_program.binary, ref_program.decimal):
        r = run("disasm", str(src))
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ref_program.lines()
    raw = tmp_path / "prog.raw"
    assert run("asm", str(ref_program.text), "--format", "raw", "-o", str(raw)).returncode == 0
    out = tmp_path / "prog.s"
    r = run("disasm", str(raw), "-o", str(out))
    assert r.returncode == 0 and r.stdout == ""
    assert out.read_text().splitlines() == ref_program.lines()


def test_asm_error_goes_to_stderr_with_exit_1(tmp_path):
    src = tmp_path / "bad.s"
    src.write_text("BLOCK_END 1\nSET_LOOP_STRIDE LOW, RD, IBUF, 13, 70000\nFOO\n")
    r = run("asm", str(src))
    assert r.returncode == 1 and r.stdout == "" and no_traceback(r)
    assert f"{src}:2:36: immediate 70000 does not fit" in r.stderr
    assert f"{src}:3:1: unknown mnemonic 'FOO'" in r.stderr
    assert "expected: SET_LOOP_STRIDE" in r.stderr


@pytest.mark.parametrize("cmd", ["asm", "disasm"])
def test_missing_file_is_one_clear_line(cmd, tmp_path):
    r = run(cmd, str(tmp_path / "nope.s"))
    assert r.returncode == 1 and no_traceback(r)
    assert r.stderr.strip().count("\n") == 0
    assert f"cannot read '{tmp_path / 'nope.s'}': No such file or directory" in r.stderr


def test_raw_needs_an_output_file(tmp_path):
    src = tmp_path / "p.s"
    src.write_text("BLOCK_END 1\n")
    r = run("asm", str(src), "--format", "raw")
    assert r.returncode == 1 and "give an output file with -o" in r.stderr and no_traceback(r)


def test_disasm_bad_word_names_index_and_hex(tmp_path):
    f = tmp_path / "w.hex"
    f.write_text("b0000001\nf0000000\n")
    r = run("disasm", str(f))
    assert r.returncode == 1 and no_traceback(r)
    assert "word 1 (0xf0000000): undefined opcode 1111" in r.stderr


def test_disasm_bad_line_names_file_and_line(tmp_path):
    f = tmp_path / "w.txt"
    f.write_text("0" * 32 + "\n" + "2" * 32 + "\n")
    r = run("disasm", str(f))
    assert r.returncode == 1 and no_traceback(r)
    assert f"{f}:2: bad binary word" in r.stderr


def test_register_adds_both_subcommands(tmp_path, capsys):
    """The lead's `genesys` parser calls register(subparsers); func takes the Namespace, returns the exit code."""
    parser = argparse.ArgumentParser(prog="genesys")
    isa_cli.register(parser.add_subparsers(dest="command"))
    src = tmp_path / "p.s"
    src.write_text("ADD VMEM1, 1, VMEM1, 0, VMEM2, 0\nBLOCK_END 1\n")
    args = parser.parse_args(["asm", str(src), "--format", "hex"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "00414060\nb0000001\n"
    hexfile = tmp_path / "p.hex"
    args = parser.parse_args(["asm", str(src), "--format", "hex", "-o", str(hexfile)])
    assert args.func(args) == 0
    args = parser.parse_args(["disasm", str(hexfile)])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "ADD VMEM1, 1, VMEM1, 0, VMEM2, 0\nBLOCK_END 1\n"
    src.write_text("ADD VMEM1\n")
    args = parser.parse_args(["asm", str(src)])
    assert args.func(args) == 1
    assert "ADD takes 6 operands, got 1" in capsys.readouterr().err
