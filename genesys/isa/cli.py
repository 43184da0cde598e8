"""`genesys asm` and `genesys disasm`. Errors become a message on stderr and exit code 1, never a traceback.

Also runnable alone: `python -m genesys.isa.cli asm prog.s`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genesys.isa.assembler import assemble_text
from genesys.isa.disassembler import disassemble
from genesys.isa.errors import IsaError
from genesys.isa.formats import FORMATS, format_words, read_words


def _fail(cmd: str, msg: str) -> int:
    print(f"genesys {cmd}: error: {msg}", file=sys.stderr)
    return 1


def _read_failure(cmd: str, path: str, e: OSError) -> int:
    return _fail(cmd, f"cannot read '{path}': {e.strerror or e}")


def _write(cmd: str, out: str | None, data: str | bytes) -> int:
    if out is None:
        text = data if isinstance(data, str) else data.decode()
        sys.stdout.write(text + ("\n" if text else ""))
        return 0
    try:
        if isinstance(data, bytes):
            Path(out).write_bytes(data)
        else:
            Path(out).write_text(data)
    except OSError as e:
        return _fail(cmd, f"cannot write '{out}': {e.strerror or e}")
    return 0


def cmd_asm(args: argparse.Namespace) -> int:
    if args.format == "raw" and args.output is None:
        return _fail("asm", "--format raw writes binary data: give an output file with -o")
    try:
        text = Path(args.file).read_text()
    except (OSError, UnicodeDecodeError) as e:
        if isinstance(e, UnicodeDecodeError):
            return _fail("asm", f"cannot read '{args.file}': not a text file")
        return _read_failure("asm", args.file, e)
    try:
        words = assemble_text(text, args.file)
    except IsaError as e:
        print(str(e), file=sys.stderr)
        return 1
    return _write("asm", args.output, format_words(words, args.format))


def cmd_disasm(args: argparse.Namespace) -> int:
    try:
        words = read_words(args.file, args.input_format)
        lines = disassemble(words)
    except OSError as e:
        return _read_failure("disasm", args.file, e)
    except IsaError as e:
        return _fail("disasm", str(e))
    return _write("disasm", args.output, "\n".join(lines))


def register(subparsers) -> None:
    """Add the `asm` and `disasm` subcommands to an argparse subparsers object."""
    p = subparsers.add_parser("asm", help="assemble GeneSys assembly into machine code",
                              description="Assemble GeneSys assembly (the compiler's text syntax) into 32-bit words.")
    p.add_argument("file", metavar="FILE", help="assembly source")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout; required for raw)")
    p.add_argument("--format", choices=FORMATS, default="binary",
                   help="binary: 32 0/1 characters a line (default); decimal; hex: 8 digits a line; "
                        "raw: little-endian 32-bit words")
    p.set_defaults(func=cmd_asm)

    p = subparsers.add_parser("disasm", help="disassemble GeneSys machine code",
                              description="Disassemble machine code (binary, decimal, hex text or raw words; "
                                          "detected automatically) into GeneSys assembly.")
    p.add_argument("file", metavar="FILE", help="machine-code file")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    p.add_argument("--input-format", choices=("auto", *FORMATS), default="auto",
                   help="format of FILE (default: detect)")
    p.set_defaults(func=cmd_disasm)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genesys")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
