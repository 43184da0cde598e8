"""`genesys sim`: run a program on the software simulator and print its performance counters.

    genesys sim prog.hex --config 16x16 --dram image.bin [--dram-base 0] [--program-addr A]
                [--dram-size BYTES] [--dma-latency 100] [--dump-dram OUT] [--json COUNTERS.json]

Also runnable alone: `python -m genesys.sim.cli sim ...`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genesys.errors import GenesysError
from genesys.isa import read_words
from genesys.sim.simulator import DEFAULT_DMA_LATENCY, DEFAULT_DRAM_BYTES, Simulator

PROGRAM_ALIGN = 4096


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer (decimal, or hex with 0x)") from None


def register(sub) -> None:
    p = sub.add_parser("sim", help="run a program on the software simulator",
                       description="Run PROGRAM (binary/decimal/hex/raw words) on the GeneSys software simulator "
                                   "with a DRAM image, then print the performance counters.")
    p.add_argument("program", metavar="PROGRAM", help="program words (any format `genesys disasm` reads)")
    p.add_argument("--config", required=True, help="architecture preset (e.g. 16x16) or YAML file")
    p.add_argument("--dram", required=True, metavar="IMAGE", help="raw DRAM image (bytes) to load")
    p.add_argument("--dram-base", type=_int, default=0, help="DRAM address of the image's first byte (default 0)")
    p.add_argument("--program-addr", type=_int, default=None,
                   help="DRAM address to load and run the program at (default: the first 4 KiB boundary after "
                        "the image)")
    p.add_argument("--dram-size", type=_int, default=DEFAULT_DRAM_BYTES, help="DRAM bytes (default 1 GiB)")
    p.add_argument("--dma-latency", type=_int, default=DEFAULT_DMA_LATENCY, help="cycles per transfer (default 100)")
    p.add_argument("--dump-dram", metavar="OUT",
                   help="write DRAM from --dram-base up to the end of the image or the highest byte stored, "
                        "whichever is later")
    p.add_argument("--json", metavar="FILE", help="write counters and per-group records as JSON")
    p.set_defaults(func=cmd_sim)


def cmd_sim(args: argparse.Namespace) -> int:
    words = read_words(args.program)
    try:
        image = Path(args.dram).read_bytes()
    except OSError as e:
        raise GenesysError(f"cannot read DRAM image '{args.dram}': {e.strerror or e}") from None
    sim = Simulator(args.config, dram_bytes=args.dram_size, dma_latency=args.dma_latency)
    sim.load(args.dram_base, image)
    image_end = args.dram_base + len(image)
    addr = args.program_addr
    if addr is None:
        addr = -(-image_end // PROGRAM_ALIGN) * PROGRAM_ALIGN
    if addr % 4:
        raise GenesysError(f"--program-addr 0x{addr:x} is not a multiple of 4")
    result = sim.run_words(words, program_addr=addr)
    width = max(len(k) for k in result.counters)
    for name, value in result.counters.items():
        print(f"{name:<{width}}  {value}")
    print(f"{'wall_seconds':<{width}}  {result.wall_seconds:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    if args.dump_dram:
        end = max(image_end, sim.state.dram_high_water)
        Path(args.dump_dram).write_bytes(sim.read(args.dram_base, end - args.dram_base).tobytes())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genesys")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GenesysError as e:
        print(f"genesys sim: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"genesys sim: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
