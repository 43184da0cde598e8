"""The `genesys` command. Each area registers its own subcommands; errors become one clean message."""

from __future__ import annotations

import argparse
import importlib
import sys

from genesys.errors import GenesysError

# Modules exposing register(subparsers); each adds its subcommands with set_defaults(func=...).
_COMMAND_MODULES = (
    "genesys.config_cli",
    "genesys.tools",
    "genesys.isa.cli",
    "genesys.render",
    "genesys.flows.cli",
    "genesys.report",
    "genesys.compiler.quantize",
    "genesys.compiler.cli",
    "genesys.sim.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genesys", description="GeneSys DNN accelerator: configs, ISA tools, RTL generation, flows, reports.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GenesysError as e:
        if args.debug:
            raise
        print(f"genesys {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"genesys {args.command}: interrupted; finished results are kept under build/.", file=sys.stderr)
        return 130
    except OSError as e:  # missing or unreadable files given by the user
        if args.debug:
            raise
        print(f"genesys {args.command}: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
