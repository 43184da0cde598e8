"""FuseSoC generator: render a GeneSys block for one preset and emit a core with its files.

Registered in ``cores/genesys_<block>.core`` (``generators:``) through the launcher
``cores/genesys_generator.py`` and run by FuseSoC with the ``python3`` found on PATH, which must be the
project venv's (``genesys flow`` puts it first; by hand, activate the venv). FuseSoC calls it as
``python3 genesys_generator.py <input.yml>`` in a fresh directory; it renders
there with :func:`genesys.render.render` and writes a core whose fileset lists the rendered files in
the manifest's compile order, so no file name or order is typed in a core file.

Parameters (the ``generate:`` instance, or a target's ``generate:`` entry):

``preset``
    Preset name or YAML path. Environment variables are expanded, so a core can say
    ``preset: $GENESYS_PRESET``; when the variable is unset, ``genesys.arch.DEFAULT_PRESET`` is used.
    A relative path is taken from the directory FuseSoC was started in (``$PWD``).
``config``
    A YAML path; wins over ``preset`` when given.
``block``
    The top block to render (``templates/<block>/``); default ``systolic_array``.
``testbench_parameters``
    When true, the generated core also declares the block's template knobs (``templates/<block>/block.yaml``:
    ARRAY_N, ARRAY_M, widths, ...) as ``vlogparam`` with the values the RTL was rendered with, so a
    testbench toplevel receives them from the core (and Verilator stops on a knob it does not declare).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from fusesoc.capi2.generator import Generator

DEFAULT_BLOCK = "systolic_array"
PRESET_ENV = "GENESYS_PRESET"
_UNEXPANDED = re.compile(r"\$(\w+|\{\w+\})")
_FILE_TYPES = {".sv": "systemVerilogSource", ".svh": "systemVerilogSource", ".v": "verilogSource",
               ".vh": "verilogSource", ".vlt": "vlt"}
_PARAM_TYPES = {"int": "int", "bool": "int", "str": "str"}  # knob type -> FuseSoC datatype (bools as 0/1)


class GenesysRenderGenerator(Generator):
    """Render ``block`` for the requested preset into the working directory and describe it as a core."""

    def __init__(self, data: dict[str, Any] | None = None):
        # Environment variables in the parameters are expanded here (FuseSoC only does it with
        # --resolve-env-vars-early), so `preset: $GENESYS_PRESET` works with a plain `fusesoc run`.
        super().__init__(data, resolve_env_vars=True)
        # The base class keeps these as class attributes; give each instance its own.
        self.filesets, self.parameters, self.targets = {}, {}, {}
        self.config = dict(self.config or {})

    def config_spec(self) -> str:
        """The preset name or YAML path to render, after environment expansion and defaults."""
        from genesys.arch import DEFAULT_PRESET

        for key in ("config", "preset"):
            value = self.config.get(key)
            if value is None:
                continue
            value = os.path.expandvars(str(value)).strip()
            if not value or _UNEXPANDED.search(value):  # empty, or names a variable that is not set
                continue
            if value.endswith((".yaml", ".yml")) or "/" in value:
                path = Path(value).expanduser()
                if not path.is_absolute():
                    path = Path(os.environ.get("PWD") or self.files_root or ".") / path
                return str(path)
            return value
        return DEFAULT_PRESET

    def run(self, out_dir: Path | str = ".") -> dict[str, Any]:
        from genesys.arch import load_arch
        from genesys.render import load_blocks, render

        block = str(self.config.get("block") or DEFAULT_BLOCK)
        arch = load_arch(self.config_spec())
        manifest = render(arch, out_dir, top_block=block)
        files = [{name: {"file_type": _file_type(name)}} for name in manifest["files"]]
        self.add_files(files, fileset="rtl")
        if _truthy(self.config.get("testbench_parameters")):
            spec = load_blocks()[block]
            for knob in spec.knobs:
                value = spec.knob_values(arch)[knob.name]
                self.add_parameter(knob.name, {"datatype": _PARAM_TYPES[knob.type], "paramtype": "vlogparam",
                                               "default": int(value) if knob.type == "bool" else value,
                                               "description": knob.description})
        print(f"genesys generator: rendered block '{block}' (top {manifest['top']}) for preset '{arch.name}' "
              f"({arch.source}): {len(files)} file(s) in {Path(out_dir).resolve()}", flush=True)
        return manifest


def _file_type(name: str) -> str:
    suffix = Path(name).suffix
    if suffix not in _FILE_TYPES:
        from genesys.errors import GenesysError
        raise GenesysError(f"rendered file {name}: no FuseSoC file type for '{suffix}' files; "
                           f"known: {', '.join(_FILE_TYPES)}")
    return _FILE_TYPES[suffix]


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: fusesoc_generator.py <generator input .yml> (FuseSoC runs this)", file=sys.stderr)
        return 2
    from fusesoc import utils

    from genesys.errors import GenesysError

    try:
        gen = GenesysRenderGenerator(utils.yaml_fread(argv[0], True))
        gen.run(".")
        gen.write()
    except GenesysError as e:
        # FuseSoC then reports "Failed to run generator"; this line says why.
        print(f"ERROR: genesys generator: {e}", file=sys.stderr, flush=True)
        return 1
    return 0
