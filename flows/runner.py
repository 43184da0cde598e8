"""Run one implementation flow on one preset and record a typed result.

    run_flow("lint", "4x4")              # FuseSoC target `lint`:  Verilator -Wall via Edalize
    run_flow("synth", "4x4")             # FuseSoC target `synth`: Yosys generic synthesis via Edalize
    run_flow("sim", "4x4", simulator="icarus")   # pyuvm verification (genesys.verif)

Each run works in ``<build>/<preset>/<flow>/``: the tool's full output goes to ``<flow>.log`` there,
the tool's work files to ``work/``, and the :class:`~genesys.flows.result.FlowResult` to
``result.json`` (written even when the flow fails or is interrupted). Other flows' directories are
never touched. Metrics are parsed from the tools' own output (:mod:`genesys.flows.parsers`).

FuseSoC runs with ``--cores-root cores`` and a per-run config file in the work directory, so no
``fusesoc.conf`` or library registration is needed and nothing under the user's home is written;
``--no-export`` makes the tools read the sources in place (the smoke testbench lives in verif/smoke/,
outside the core's folder, which FuseSoC would otherwise warn about when copying). The preset reaches
the core's generator through the ``GENESYS_PRESET`` environment variable.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from genesys.arch import Arch, list_presets, load_arch
from genesys.errors import GenesysError
from genesys.flows import parsers
from genesys.flows.fusesoc_generator import DEFAULT_BLOCK, PRESET_ENV
from genesys.flows.impl import IMPL_FLOWS
from genesys.flows.result import FlowResult, now_iso
from genesys.tools import find_tool, missing_reason, tool_env

IMPL_FLOW_NAMES = tuple(IMPL_FLOWS)  # the implementation flows (genesys.flows.impl): cached by input hash
FLOWS = ("lint", "sim", "rtl", "synth", *IMPL_FLOW_NAMES)  # in regression order
IMPL_DEFAULT_BLOCK = "npu"  # implementation flows run on genesys_top unless --block names another block
SIMULATORS = ("verilator", "icarus")
REPO = Path(__file__).resolve().parents[1]
CORES_DIR = REPO / "cores"
MAX_DIAGNOSTICS = 200  # lint diagnostics kept in result.json (the log has all of them)


# The blocks with a pyuvm verification environment: block -> module with run_verification (the sim flow).
SIM_BLOCKS = {"systolic_array": "genesys.verif.systolic_array.runner", "dma": "genesys.verif.dma.runner",
              "npu": "genesys.verif.npu.runner"}
DEFAULT_SIM_BLOCK = "systolic_array"


def flow_id(flow: str, simulator: str = "verilator", block: str | None = None, seed: int | None = None) -> str:
    """Result name of a flow: ``sim`` on Verilator, ``sim_icarus`` for the Icarus cross-check (as the
    FuseSoC targets), so the two simulators' results sit side by side; the sim flow of another block than
    the systolic array is ``sim_<block>`` (``sim_npu``, ``sim_npu_icarus``)."""
    if flow == "rtl":  # one result per seed
        return "rtl" if seed in (None, 1) else f"rtl_s{seed}"
    if flow != "sim":
        return flow
    name = "sim" if block in (None, DEFAULT_SIM_BLOCK) else f"sim_{block}"
    return name if simulator == "verilator" else f"{name}_{simulator}"


def core_file(block: str = DEFAULT_BLOCK) -> Path:
    return CORES_DIR / f"genesys_{block}.core"


def core_vlnv(block: str = DEFAULT_BLOCK) -> str:
    """The VLNV of a block's core, read from its core file (name without version)."""
    path = core_file(block)
    if not path.is_file():
        raise GenesysError(f"FuseSoC core {path} not found; the flows need the source tree (cores/, "
                           "flows/, verif/), e.g. an editable install (pip install -e .).")
    name = yaml.safe_load(path.read_text().split("\n", 1)[1]).get("name", "")
    vendor, library, core, *_ = name.split(":") + ["", "", ""]
    return f"{vendor}:{library}:{core}"


def ensure_build_root(build_root: Path) -> None:
    """Create the build root with a FUSESOC_IGNORE, so FuseSoC never scans generated cores in it."""
    build_root.mkdir(parents=True, exist_ok=True)
    marker = build_root / "FUSESOC_IGNORE"
    if not marker.exists():
        marker.write_text("Generated files; FuseSoC must not look for cores here.\n")


def run_flow(flow: str, arch: Arch | str | Path, build_root: Path | str = Path("build"), **opts: Any) -> FlowResult:
    """Run ``flow`` (lint, sim or synth) on ``arch`` and return its result (also written to result.json).

    A missing tool gives status ``skipped`` with the reason; a failing tool gives ``failed`` with the
    first error line of its log. Options: ``simulator`` (sim: verilator|icarus), ``seed``, ``items``,
    ``test`` (sim), ``block`` (lint/synth: which core; sim: which block's pyuvm environment, one of
    SIM_BLOCKS; default systolic_array).
    """
    if flow not in FLOWS:
        raise GenesysError(f"unknown flow '{flow}'; choose one of {', '.join(FLOWS)}")
    allowed = ({"lint": {"block"}, "synth": {"block"}, "sim": {"simulator", "seed", "items", "test", "block"},
                "rtl": {"programs", "seed", "latency"}}.get(flow) or _impl_module(flow).OPTIONS | {"block", "force"})
    unknown = sorted(k for k, v in opts.items() if k not in allowed and v is not None)
    if unknown:
        raise GenesysError(f"flow '{flow}' takes no option {unknown[0]!r}; its options: {', '.join(sorted(allowed))}")
    simulator = opts.get("simulator") or "verilator"
    if simulator not in SIMULATORS:
        raise GenesysError(f"unknown simulator '{simulator}'; choose one of {', '.join(SIMULATORS)}")
    if flow == "sim" and (opts.get("block") or DEFAULT_SIM_BLOCK) not in SIM_BLOCKS:
        raise GenesysError(f"no pyuvm verification for block {opts.get('block')!r}; "
                           f"the sim flow verifies {', '.join(SIM_BLOCKS)}")
    arch = load_arch(arch)
    build_root = Path(build_root).resolve()
    ensure_build_root(build_root)
    name = flow_id(flow, simulator, opts.get("block") if flow == "sim" else None,
                   opts.get("seed") if flow == "rtl" else None)
    flow_dir = build_root / arch.name / name
    flow_dir.mkdir(parents=True, exist_ok=True)

    key = ""
    if flow in IMPL_FLOW_NAMES:
        cached, key = _cached_result(flow, arch, build_root, opts)
        if cached:
            return cached
    result = FlowResult(preset=arch.name, flow=name, status="failed", reason="interrupted before completion",
                        started=now_iso(), cache_key=key)
    t0 = time.monotonic()
    try:
        if flow in IMPL_FLOW_NAMES:
            _run_impl(result, flow, arch, flow_dir, build_root, opts)
        elif flow == "sim":
            _run_sim(result, arch, flow_dir, build_root, simulator, opts)
        elif flow == "rtl":
            _run_rtl(result, arch, flow_dir, build_root, opts)
        else:
            _run_fusesoc_flow(result, flow, arch, flow_dir, build_root, opts.get("block") or DEFAULT_BLOCK)
    except GenesysError as e:
        result.status, result.reason = "failed", str(e)
    except KeyboardInterrupt:
        result.status, result.reason = "failed", "interrupted (Ctrl-C)"
        raise
    except Exception as e:  # a bug in a flow must not lose the regression: record it and go on
        log = flow_dir / f"{name}.log"
        with log.open("a") as f:
            f.write("\n" + traceback.format_exc())
        result.status, result.reason = "failed", f"internal error: {type(e).__name__}: {e}"
        result.log = result.log or _rel(log, build_root)
    finally:
        result.wall_seconds = round(time.monotonic() - t0, 3)
        result.write(build_root)
    return result


# ---- implementation flows (asic, fpga, vivado, openroad; genesys.flows.impl) -------------------------
def _impl_module(flow: str):
    return importlib.import_module(IMPL_FLOWS[flow])


def _impl_opts(opts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in opts.items() if k not in ("force", "block") and v is not None}


def _cached_result(flow: str, arch: Arch, build_root: Path, opts: dict[str, Any]) -> tuple[FlowResult | None, str]:
    """The stored result when its inputs are unchanged (same cache key) and it passed or was skipped; a failed
    or interrupted run always runs again, and so does everything with force=True."""
    from genesys.flows.impl import cache_key

    mod = _impl_module(flow)
    block = opts.get("block") or IMPL_DEFAULT_BLOCK
    fopts = _impl_opts(opts)
    key = cache_key(flow, arch, block, fopts, mod.tool_versions(fopts), mod.input_files(fopts))
    prev = None if opts.get("force") else _kept_result(FlowResult.path_for(build_root, arch.name, flow))
    if prev is not None and prev.cache_key == key:
        prev.metrics["cached"] = True  # shown by `genesys flow`; the file on disk keeps the original run
        return prev, key
    return None, key


def _run_impl(result: FlowResult, flow: str, arch: Arch, flow_dir: Path, build_root: Path,
              opts: dict[str, Any]) -> None:
    from genesys.flows.impl import FlowContext, render_rtl

    mod = _impl_module(flow)
    result.tool, result.reason = mod.TOOL, ""  # an exception or Ctrl-C sets its own reason (run_flow)
    ctx = FlowContext(arch=arch, flow=flow, flow_dir=flow_dir, build_root=build_root, opts=_impl_opts(opts),
                      result=result, block=opts.get("block") or IMPL_DEFAULT_BLOCK)
    render_rtl(ctx)
    mod.run(ctx)


# ---- FuseSoC flows (lint, synth) -----------------------------------------------------------------
_FLOW_TOOLS = {"lint": "verilator", "synth": "yosys"}


def _run_fusesoc_flow(result: FlowResult, flow: str, arch: Arch, flow_dir: Path, build_root: Path,
                      block: str) -> None:
    tool = _FLOW_TOOLS[flow]
    result.tool = tool
    for needed in ("fusesoc", tool):
        info = find_tool(needed)
        if not info.found:
            result.status, result.reason = "skipped", missing_reason(needed)
            return
    result.tool_version = find_tool(tool).version or ""
    work = flow_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "fusesoc.conf"
    # Isolates the run: FuseSoC reads this instead of ~/.config/fusesoc/fusesoc.conf and ./fusesoc.conf,
    # and keeps its cache in the build tree instead of ~/.cache/fusesoc.
    conf.write_text(f"[main]\ncache_root = {build_root / '.fusesoc_cache'}\n")
    command = [find_tool("fusesoc").path, "--config", str(conf), "--cores-root", str(CORES_DIR),
               "run", "--clean", "--no-export", "--target", flow, "--work-root", str(work / "fusesoc"), core_vlnv(block)]
    result.command = [str(c) for c in command]
    env = tool_env()
    env[PRESET_ENV] = _config_spec(arch, flow_dir)
    log = flow_dir / f"{flow}.log"
    result.log = _rel(log, build_root)
    run = run_logged(command, log, cwd=work, env=env)
    text = log.read_text(errors="replace")
    result.metrics["peak_rss_mb"] = run["peak_rss_mb"]
    manifest = _find_manifest(work / "fusesoc")
    if manifest:
        result.metrics["top"] = manifest.get("top", "")
        result.metrics["rtl_files"] = len(manifest.get("files", []))
    finish = _finish_lint if flow == "lint" else _finish_synth
    finish(result, text, run["returncode"], work / "fusesoc", build_root)


def _finish_lint(result: FlowResult, text: str, returncode: int, work: Path, build_root: Path) -> None:
    diags = parsers.parse_verilator(text)
    warnings = [d for d in diags if d["severity"] == "warning"]
    errors = [d for d in diags if d["severity"] == "error"]
    result.warnings = len(warnings)
    result.metrics.update({
        "errors": len(errors),
        "warnings_by_code": dict(Counter(d["code"] for d in warnings)),
        "diagnostics": diags[:MAX_DIAGNOSTICS],
    })
    if returncode == 0:
        result.status, result.reason = "passed", ""
    else:
        result.status = "failed"
        result.reason = parsers.first_error(text) or f"fusesoc exited with status {returncode}"


def _finish_synth(result: FlowResult, text: str, returncode: int, work: Path, build_root: Path) -> None:
    stat_file = work / "stat.txt"
    stat = parsers.parse_yosys_stat(stat_file.read_text() if stat_file.is_file() else text)
    warnings = parsers.yosys_warnings(text)
    result.warnings = len(warnings)
    result.metrics.update({k: v for k, v in stat.items() if k != "module"})
    mem_file = work / "memories.txt"
    if mem_file.is_file():  # memories are kept as $mem_v2 cells, not flip-flops (cores/genesys_synth_generic.tcl)
        result.metrics.update(parsers.parse_yosys_memories(mem_file.read_text()))
    result.metrics["yosys_warnings"] = warnings[:MAX_DIAGNOSTICS]
    netlists = sorted(work.glob("*.v"))
    if netlists:
        result.metrics["netlist"] = _rel(netlists[0], build_root)
    if returncode != 0:
        result.status = "failed"
        result.reason = parsers.first_error(text) or f"fusesoc exited with status {returncode}"
    elif not stat.get("cells"):
        result.status = "failed"
        result.reason = "Yosys finished but printed no cell statistics (no `stat` report with cells in the log)"
    else:
        result.status, result.reason = "passed", ""


def _config_spec(arch: Arch, flow_dir: Path) -> str:
    """What GENESYS_PRESET names for this arch: the preset's name when it is an unmodified built-in
    preset, else a YAML snapshot of its primary values written next to the result."""
    if arch.name in list_presets() and load_arch(arch.name) == arch:
        return arch.name
    snapshot = flow_dir / f"{arch.name}.yaml"
    snapshot.write_text(yaml.safe_dump({"description": arch.description, **arch.primaries()}, sort_keys=False))
    return str(snapshot)


def _find_manifest(work: Path) -> dict[str, Any] | None:
    import json
    for path in sorted(work.glob("generator_cache/*/manifest.json")):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None
    return None


# ---- sim (pyuvm verification) ------------------------------------------------------------------------
def _run_sim(result: FlowResult, arch: Arch, flow_dir: Path, build_root: Path, simulator: str,
             opts: dict[str, Any]) -> None:
    result.tool = simulator
    info = find_tool(simulator)
    if not info.found:
        result.status, result.reason = "skipped", missing_reason(simulator)
        return
    result.tool_version = info.version or ""
    module = SIM_BLOCKS[opts.get("block") or DEFAULT_SIM_BLOCK]
    try:
        run_verification = importlib.import_module(module).run_verification
    except ImportError as e:
        raise GenesysError(f"the pyuvm verification environment could not be imported: {e}") from None
    seed = opts.get("seed")
    vr = run_verification(arch, flow_dir / "work", simulator=simulator, seed=1 if seed is None else seed,
                          items=opts.get("items"), test=opts.get("test"))
    result.command = [f"{module}.run_verification", f"preset={arch.name}",
                      f"simulator={simulator}", f"seed={1 if seed is None else seed}"]
    result.status = "passed" if vr.passed else "failed"
    result.reason = "" if vr.passed else (vr.reason or f"{vr.failures} of {vr.tests} test(s) failed")
    result.metrics.update({
        "tests": vr.tests, "failures": vr.failures, "items": vr.items,
        # the coverage summary; the per-bin hit counts stay in the env's coverage.json
        "coverage": {k: v for k, v in (vr.coverage or {}).items() if k != "bins"},
        "sim_cycles": vr.sim_cycles, "sim_wall_seconds": vr.wall_seconds,
        "seed": 1 if seed is None else seed,
    })
    if vr.results_xml:
        result.metrics["results_xml"] = _rel(Path(vr.results_xml), build_root)
    if vr.log:
        log_path = Path(str(vr.log))
        if "\n" not in str(vr.log) and log_path.is_file():
            result.log = _rel(log_path, build_root)
        else:  # the runner handed back the text itself
            log = flow_dir / f"{result.flow}.log"
            log.write_text(str(vr.log))
            result.log = _rel(log, build_root)


def _run_rtl(result: FlowResult, arch: Arch, flow_dir: Path, build_root: Path, opts: dict[str, Any]) -> None:
    """Compiled programs on genesys_top in the fast harness against the simulator (flows/programs.py)."""
    from genesys.flows import programs as P

    result.tool = "verilator"
    info = find_tool("verilator")
    if not info.found:
        result.status, result.reason = "skipped", missing_reason("verilator")
        return
    result.tool_version = info.version or ""
    names = P.expand(opts.get("programs") or "ci")
    seed = 1 if opts.get("seed") is None else int(opts["seed"])
    latency = P.DEFAULT_LATENCY if opts.get("latency") is None else int(opts["latency"])
    result.command = ["genesys.flows.programs.run_programs", f"preset={arch.name}", f"programs={','.join(names)}",
                      f"seed={seed}", f"latency={latency}"]
    log = flow_dir / "rtl.log"
    result.log = _rel(log, build_root)
    with log.open("w") as f:
        def note(r):
            f.write(f"{r.name}: {'PASSED' if r.passed else 'FAILED'} sim {r.sim_cycles} rtl {r.rtl_cycles} "
                    f"({r.diff:+.1%}) {r.cycles_per_second:.0f} cycles/s {r.reason}\n")
            for L in r.layers:
                f.write(f"    {L['name']:32s} sim {L['sim_cycles']:>10} rtl {L['rtl_cycles']:>10}\n")
            f.flush()
        results = P.run_programs(arch, names, seed, latency, progress=False, on_result=note)
    result.metrics.update(P.summarize(results))
    failed = [r for r in results if not r.passed]
    result.status = "failed" if failed else "passed"
    result.reason = "; ".join(f"{r.name}: {r.reason}" for r in failed[:3])


# ---- running a tool ----------------------------------------------------------------------------------
def run_logged(command: list[str], log: Path, cwd: Path, env: dict[str, str],
               timeout: float | None = None) -> dict[str, Any]:
    """Run ``command`` with stdout and stderr going to ``log`` (streamed, so an interrupted run keeps
    its log). Returns the exit status and the peak resident memory of the command and everything it
    waited for (Linux ``wait4`` rusage), in MB. Ctrl-C stops the whole process group it started; so does
    ``timeout`` (seconds), which then raises GenesysError naming the log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {' '.join(command)}\n# cwd {cwd}; {PRESET_ENV}={env.get(PRESET_ENV, '')}\n")
        out.flush()
        try:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                    start_new_session=True)
        except OSError as e:
            raise GenesysError(f"could not start {command[0]}: {e.strerror or e}") from None
        timer, fired = None, []
        if timeout:
            import threading

            def expire() -> None:  # signals only: the main thread is the one waiting for the process
                fired.append(True)
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(proc.pid, sig)
                    except ProcessLookupError:
                        return
                    time.sleep(5)
            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            _stop_group(proc)
            raise
        finally:
            if timer:
                timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if fired:
            out.write(f"\n# stopped after the {timeout:.0f} s time limit\n")
            raise GenesysError(f"{Path(command[0]).name} exceeded its {timeout:.0f} s time limit; see {log}")
    return {"returncode": proc.returncode, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _stop_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


# ---- regression --------------------------------------------------------------------------------------
REGRESS_STATE = "regress_state.json"
# Flows that share per-preset build products (the cocotb and harness builds under build/<preset>/) run one
# after another; every other job may run beside anything.
SERIAL_FLOWS = ("sim", "rtl")


def regress_jobs(archs: list[Arch], flows: Iterable[str], simulator: str = "verilator", programs: str = "ci",
                 seeds: Iterable[int] = (1,), block: str = "npu",
                 impl_opts: dict[str, dict[str, Any]] | None = None) -> list[tuple[Arch, str, dict]]:
    """The (arch, flow, options) jobs of a regression, in regression order. lint/synth and the implementation
    flows run on `block`; sim runs the systolic array's and the whole NPU's pyuvm environments; rtl runs
    `programs` once per seed. ``impl_opts`` = {flow: {option: value}} for the implementation flows."""
    flows = [f for f in FLOWS if f in set(flows)]
    seeds = list(seeds) or [1]
    jobs: list[tuple[Arch, str, dict]] = []
    for a in archs:
        for f in flows:
            if f in ("lint", "synth"):
                jobs.append((a, f, {"block": block}))
            elif f in IMPL_FLOW_NAMES:
                jobs.append((a, f, {"block": block, **(impl_opts or {}).get(f, {})}))
            elif f == "sim":
                jobs.append((a, f, {"simulator": simulator}))
                jobs.append((a, f, {"simulator": simulator, "block": "npu"}))
            else:
                jobs += [(a, f, {"programs": programs, "seed": s}) for s in seeds]
    return jobs


def _job_name(arch: Arch, flow: str, opts: dict) -> str:
    return f"{arch.name} {flow_id(flow, opts.get('simulator') or 'verilator', opts.get('block') if flow == 'sim' else None, opts.get('seed') if flow == 'rtl' else None)}"


def _run_chain(chain: list[tuple[Arch, str, dict]], build_root: Path) -> list[FlowResult]:
    """A worker's share: jobs that must run in order, one after another."""
    return [run_flow(flow, arch, build_root, **opts) for arch, flow, opts in chain]


def _finished_earlier(arch: Arch, flow: str, opts: dict, build_root: Path, since: str) -> FlowResult | None:
    """The job's result when the interrupted regression (started at ``since``) already finished it with a
    verdict to keep (passed or skipped; a failed or interrupted job runs again)."""
    name = _job_name(arch, flow, opts).split(" ", 1)[1]
    prev = _kept_result(FlowResult.path_for(build_root, arch.name, name))
    return prev if prev is not None and prev.started >= since else None


def _kept_result(path: Path) -> FlowResult | None:
    """A stored result with a verdict worth keeping (passed or skipped); None when missing, unreadable or
    failed (a failed or interrupted run always runs again)."""
    try:
        prev = FlowResult.read(path)
    except (GenesysError, OSError):
        return None
    return prev if prev.status in ("passed", "skipped") else None


def regress(presets: Iterable[str | Path], flows: Iterable[str] = FLOWS, build_root: Path | str = Path("build"),
            simulator: str = "verilator", on_result: Callable[[FlowResult], None] | None = None,
            progress: bool = True, programs: str = "ci", seeds: Iterable[int] = (1,),
            block: str = "npu", jobs: int | None = 1, impl_opts: dict[str, dict[str, Any]] | None = None,
            resume: bool = False) -> list[FlowResult]:
    """Every flow for every preset (:func:`regress_jobs`), with a progress bar; results are written as they
    finish, so an interrupted regression keeps what it did.

    ``jobs`` > 1 runs independent jobs in parallel worker processes (None: one per core); sim and rtl of one
    preset stay in order in one worker. ``resume`` skips the jobs that the last, interrupted regression in
    ``build_root`` finished (its start time is in regress_state.json); implementation flows are also skipped
    whenever their cached result still matches their inputs (see :func:`run_flow`)."""
    import json

    from tqdm import tqdm

    archs = [load_arch(p) for p in presets]  # validate every config before spending minutes on tools
    build_root = Path(build_root).resolve()
    ensure_build_root(build_root)
    all_jobs = regress_jobs(archs, flows, simulator, programs, seeds, block, impl_opts)
    state_path = build_root / REGRESS_STATE
    started = now_iso()
    if resume and state_path.is_file():
        try:
            state = json.loads(state_path.read_text())
            if not state.get("finished"):  # after a regression that ran to its end there is nothing to resume
                started = state["started"]
        except (ValueError, KeyError, OSError):
            pass
    state = {"started": started, "finished": False, "jobs": [_job_name(*j) for j in all_jobs]}
    state_path.write_text(json.dumps(state, indent=1) + "\n")

    results: list[FlowResult] = []
    todo = []
    for job in all_jobs:
        prev = _finished_earlier(*job, build_root, started) if resume else None
        if prev is not None:
            prev.metrics["resumed"] = True
            results.append(prev)
            if on_result:
                on_result(prev)
        else:
            todo.append(job)
    chains: list[list[tuple[Arch, str, dict]]] = []
    serial: dict[str, list] = {}
    for job in todo:
        arch, flow, _ = job
        if flow in SERIAL_FLOWS:
            if arch.name not in serial:
                serial[arch.name] = []
                chains.append(serial[arch.name])
            serial[arch.name].append(job)
        else:
            chains.append([job])
    workers = max(1, min(jobs or os.cpu_count() or 1, len(chains)))
    with tqdm(total=len(todo), unit="flow", disable=not progress, leave=False) as bar:
        def done(res: FlowResult) -> None:
            results.append(res)
            if on_result:
                on_result(res)
            bar.update(1)

        if workers == 1:
            for arch, flow, opts in todo:
                bar.set_description(_job_name(arch, flow, opts))
                done(run_flow(flow, arch, build_root, **opts))
        else:
            from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

            bar.set_description(f"{workers} jobs in parallel")
            with ProcessPoolExecutor(max_workers=workers) as pool:
                pending = {pool.submit(_run_chain, chain, build_root) for chain in chains}
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        for res in fut.result():
                            done(res)
    state_path.write_text(json.dumps({**state, "finished": True}, indent=1) + "\n")  # not reached on Ctrl-C
    order = {_job_name(*j): i for i, j in enumerate(all_jobs)}
    return sorted(results, key=lambda r: order.get(f"{r.preset} {r.flow}", len(order)))
