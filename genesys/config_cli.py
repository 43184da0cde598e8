"""`genesys config show|list`: what a preset holds and everything derived from it."""

from __future__ import annotations

import json

from genesys.arch import DEFAULT_PRESET, PARAMS, list_presets, load_arch


def register(sub) -> None:
    p = sub.add_parser("config", help="show or list architecture configs")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    show = csub.add_parser("show", help="print the primary and derived values of a preset or YAML file")
    show.add_argument("config", nargs="?", default=DEFAULT_PRESET, help=f"preset name or YAML path (default {DEFAULT_PRESET})")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(func=_show)
    lst = csub.add_parser("list", help="list the built-in presets")
    lst.set_defaults(func=_list)


def _show(args) -> int:
    arch = load_arch(args.config)
    if args.json:
        print(json.dumps(arch.to_dict(), indent=2))
        return 0
    print(f"{arch.name}: {arch.description}\n  source: {arch.source}\n\nprimary")
    desc = {p.name: p.description for p in PARAMS}
    for k, v in arch.primaries().items():
        print(f"  {k:<18} {v:>10}   {desc[k]}")
    print("\nderived")
    for k, v in arch.derived().items():
        print(f"  {k:<24} {v:>10}")
    return 0


def _list(args) -> int:
    for name in list_presets():
        a = load_arch(name)
        print(f"{name:<8} {a.description}")
    return 0
