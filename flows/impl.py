"""What the implementation flows (asic, fpga, vivado, openroad) share: the run context, the rendered RTL
and its hash, tool runs with logs, and the cache key.

Each flow is a module with

    TOOL: str                      # the main tool (genesys.tools name), recorded in the result
    OPTIONS: set[str]              # the options it accepts (besides `block`)
    def tool_versions(opts) -> dict[str, str | None]   # every tool whose version changes its results
    def run(ctx: FlowContext) -> None                  # fills ctx.result (status, figures, metrics)

and the runner (:func:`genesys.flows.runner.run_flow`) does the rest: validation, the result file written even
on failure or Ctrl-C, and the cache. A flow finding a tool missing sets status ``skipped`` with the reason;
it never raises for that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesys.arch import Arch
from genesys.errors import GenesysError
from genesys.flows.result import FlowResult

# flow name -> module implementing it (imported on use: a flow's tools are only touched when it runs)
IMPL_FLOWS = {
    "asic": "genesys.flows.asic",
    "fpga": "genesys.flows.fpga",
    "vivado": "genesys.flows.vivado",
    "openroad": "genesys.flows.openroad",
}


@dataclass
class FlowContext:
    """One implementation run: the preset, its directories, the options and the result being filled."""

    arch: Arch
    flow: str
    flow_dir: Path       # <build>/<preset>/<flow>/: result.json, logs, reports
    build_root: Path
    opts: dict[str, Any]
    result: FlowResult
    block: str = "npu"
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def work(self) -> Path:
        """The tools' scratch directory (cleared by nothing: a failed run's files stay for the user)."""
        path = self.flow_dir / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def rtl_dir(self) -> Path:
        return self.flow_dir / "rtl"

    def rtl_files(self) -> list[Path]:
        """The rendered Verilog of the block in compile order (rendered by :func:`render_rtl`)."""
        return [self.rtl_dir / f for f in self.manifest["files"]]

    @property
    def top(self) -> str:
        return self.manifest["top"]

    def rel(self, path: Path | str) -> str:
        """A path relative to the build root, as results and reports keep them."""
        try:
            return str(Path(path).resolve().relative_to(self.build_root))
        except ValueError:
            return str(path)

    def run_tool(self, command: list[str], log_name: str, *, cwd: Path | None = None,
                 env: dict[str, str] | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Run one tool step with its output in ``<flow_dir>/<log_name>``; the step's log becomes the
        result's log (the last step run is the one a failure points at). Returns returncode, peak_rss_mb."""
        from genesys.flows.runner import run_logged
        from genesys.tools import tool_env

        log = self.flow_dir / log_name
        self.result.log = self.rel(log)
        self.result.command = [str(c) for c in command]
        return run_logged([str(c) for c in command], log, cwd=cwd or self.work, env=env or tool_env(),
                          timeout=timeout)

    def run_yosys(self, step: str, script: str, *, what: str, timeout: float | None,
                  script_name: str | None = None) -> str:
        """One Yosys step: ``work/<script_name or step>.ys`` run with its log in ``<step>.log`` (stdout in
        ``<step>.out``); records ``<step>_seconds`` and ``<step>_peak_rss_mb`` in the metrics and the Yosys
        warning count. Returns the log; raises GenesysError("<what> failed: <first error>") on failure."""
        import time

        from genesys.flows import parsers
        from genesys.tools import find_tool

        path = self.work / (script_name or f"{step}.ys")
        path.write_text(script)
        t0 = time.monotonic()
        run = self.run_tool([find_tool("yosys").path, "-q", "-l", str(self.flow_dir / f"{step}.log"), "-s", str(path)],
                            f"{step}.out", timeout=timeout)
        self.result.metrics[f"{step}_seconds"] = round(time.monotonic() - t0, 1)
        self.result.metrics[f"{step}_peak_rss_mb"] = run["peak_rss_mb"]
        self.result.log = self.rel(self.flow_dir / f"{step}.log")
        log = self.log_text(f"{step}.log")
        self.result.warnings = len(parsers.yosys_warnings(log))
        if run["returncode"] != 0:
            raise GenesysError(f"{what} failed: " + (parsers.first_error(log + self.log_text(f"{step}.out"))
                                                     or f"exit status {run['returncode']}"))
        return log

    def log_text(self, log_name: str) -> str:
        path = self.flow_dir / log_name
        return path.read_text(errors="replace") if path.is_file() else ""


def clock_option(value: Any, default: float, limit: float, target: str = "") -> float:
    """--clock-mhz (None: ``default``, the preset's target) checked to lie in (0, limit] MHz (``target``, e.g.
    " for an ECP5", says whose limit it is)."""
    try:
        mhz = float(default if value is None else value)
    except (TypeError, ValueError):
        raise GenesysError(f"--clock-mhz must be a number of MHz, not {value!r}") from None
    if not 0 < mhz <= limit:
        raise GenesysError(f"--clock-mhz must be in (0, {limit:g}]{target}, not {mhz:g}")
    return mhz


def render_rtl(ctx: FlowContext) -> dict[str, Any]:
    """Render the block for the preset into ``<flow_dir>/rtl`` (from configs/ and templates/, like every flow)."""
    from genesys.render import render

    ctx.manifest = render(ctx.arch, ctx.rtl_dir, ctx.block)
    return ctx.manifest


def rtl_hash(arch: Arch, block: str) -> str:
    """sha256 of the block's rendered Verilog, rendered in memory (the cache must not need the files)."""
    from genesys.render import compile_order, load_blocks, render_block

    h = hashlib.sha256()
    blocks = load_blocks()
    for b in compile_order(blocks, block):
        for name, text in sorted(render_block(arch, b).items()):
            h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()


def cache_key(flow: str, arch: Arch, block: str, opts: dict[str, Any], versions: dict[str, str | None],
              extra_files: list[Path] = ()) -> str:
    """The inputs that decide a flow's result: rendered RTL, flow, options, tool versions, and the content of
    any input file the options name (a Liberty file, say). Equal keys mean the stored result still holds."""
    h = hashlib.sha256()
    h.update(json.dumps({"flow": flow, "rtl": rtl_hash(arch, block), "block": block,
                         "opts": {k: str(v) for k, v in sorted(opts.items()) if v is not None},
                         "tools": versions, "flow_code": _flow_code_hash(flow)}, sort_keys=True).encode())
    for path in extra_files:
        p = Path(path)
        h.update(p.read_bytes() if p.is_file() else str(p).encode())
    return h.hexdigest()[:24]


def _flow_code_hash(flow: str) -> str:
    """The flow's own scripts count as input: fixing a parser or a Tcl script must invalidate old results."""
    import importlib

    here = Path(__file__).resolve().parent
    mod = importlib.import_module(IMPL_FLOWS[flow])
    h = hashlib.sha256()
    for path in sorted({Path(mod.__file__).resolve(), here / "impl.py", here / "parsers.py",
                        *[here / f for f in getattr(mod, "SUPPORT_FILES", ())]}):
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
