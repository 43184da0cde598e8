"""The `rtl` flow: compiled programs on genesys_top in the fast Verilator harness, against the simulator.

    results = run_programs("4x4", ["op:conv", "op:add", "cnn"])            # list of ProgramResult
    run_flow("rtl", "16x16", programs="full", seed=3)                      # through the flow runner

Each program is compiled for the preset and run three times: on the simulator (genesys.sim, DMA latency
`latency`), on the RTL with the same fixed memory latency (the cycle comparison), and on the RTL under random
latency 0..2*latency with 25 % backpressure (seeded). Both RTL runs must leave the simulator's DRAM bit for
bit (the whole image, outputs included); the cycle difference against the timing model and the harness's
speed are reported, never failed. Program names:

    op:<name>          a single ONNX operation (genesys.verif.npu.models.SINGLE_OPS), quantized
    cnn                the small CNN of the system tests (every layer kind)
    <model>@<res>      a built-in network at a resolution (genesys.compiler.models), e.g. resnet18@32
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from genesys.arch import Arch, load_arch
from genesys.errors import GenesysError

OPS = ("conv", "conv_clip", "gemm", "relu", "clip", "add", "maxpool", "avgpool", "gap")
PROGRAM_SETS = {
    "ci": ["op:conv", "op:gemm", "op:add", "op:maxpool", "cnn"],
    "ops": [f"op:{o}" for o in OPS] + ["cnn"],
    "full": [f"op:{o}" for o in OPS] + ["cnn", "resnet18@32"],
}
DEFAULT_LATENCY = 20


@dataclass
class ProgramResult:
    name: str
    passed: bool
    reason: str = ""
    sim_cycles: int = 0
    rtl_cycles: int = 0
    diff: float = 0.0  # (rtl - sim) / sim
    cycles_per_second: float = 0.0
    rtl_seconds: float = 0.0
    random_timing_exact: bool = False
    instructions: int = 0
    layers: list[dict] = field(default_factory=list)  # per layer: name, sim_cycles, rtl_cycles

    def to_dict(self) -> dict:
        return asdict(self)


def expand(programs: str | list[str]) -> list[str]:
    """A set name (ci, ops, full), a comma-separated list, or a list, into program names."""
    if isinstance(programs, str):
        if programs in PROGRAM_SETS:
            return list(PROGRAM_SETS[programs])
        programs = [p.strip() for p in programs.split(",") if p.strip()]
    out = []
    for p in programs:
        out += PROGRAM_SETS.get(p, [p])
    return out


def _model(name: str, arch: Arch, seed: int):
    """(QDQ model, float inputs) of a program name."""
    from genesys.verif.npu import models

    if name.startswith("op:"):
        op = name[3:]
        if op not in models.SINGLE_OPS:
            raise GenesysError(f"unknown single op '{op}' in program '{name}'; ops: {', '.join(models.SINGLE_OPS)}")
        return models.single_op(op, arch, seed)
    if name == "cnn":
        return models.small_cnn(arch, seed)
    if "@" in name:
        from genesys.compiler.cli import load_inputs, prepare

        model, _, res = name.partition("@")
        try:
            resolution = int(res)
        except ValueError:
            raise GenesysError(f"program '{name}': the resolution after @ must be an integer") from None
        _, qdq, _ = prepare(model, resolution, seed, quiet=True)
        return qdq, load_inputs(None, qdq, seed)
    raise GenesysError(f"unknown program '{name}': use op:<name>, cnn or <model>@<resolution> "
                       f"(sets: {', '.join(PROGRAM_SETS)})")


def run_program(name: str, arch: Arch, seed: int = 1, latency: int = DEFAULT_LATENCY) -> ProgramResult:
    from genesys.compiler.compile import compile_model
    from genesys.compiler.pipeline import frontend
    from genesys.runtime import Runtime

    model, feeds = _model(name, arch, seed)
    bundle = compile_model(frontend(model), arch)
    res = ProgramResult(name, False, instructions=len(bundle.words))
    sim = Runtime(arch, dma_latency=latency).run(bundle, feeds)
    rtl = Runtime(arch, target="rtl", dma_latency=latency, progress=False, seed=seed).run(bundle, feeds)
    rnd = Runtime(arch, target="rtl", latency=(0, 2 * latency), stall_prob=0.25, progress=False,
                  seed=seed).run(bundle, feeds)
    res.sim_cycles, res.rtl_cycles = int(sim.cycles), int(rtl.cycles)
    res.diff = (rtl.cycles - sim.cycles) / sim.cycles if sim.cycles else 0.0
    res.cycles_per_second = float(rtl.extra.get("cycles_per_second", 0.0))
    res.rtl_seconds = float(rtl.simulate_seconds)
    rtl_layers = {L["name"]: L["cycles"] for L in rtl.layers}
    res.layers = [{"name": L["name"], "op": L["op"], "sim_cycles": L["cycles"],
                   "rtl_cycles": rtl_layers.get(L["name"], 0)} for L in sim.layers]
    want = sim.extra["dram"]
    exact = np.array_equal(rtl.extra["dram"], want)
    res.random_timing_exact = bool(np.array_equal(rnd.extra["dram"], want))
    if not exact or not res.random_timing_exact:
        bad = rtl.extra["dram"] if not exact else rnd.extra["dram"]
        diff = np.flatnonzero(bad != want)
        res.reason = (f"DRAM differs from the simulator in {diff.size} bytes (first at 0x{diff[0]:x}) "
                      f"{'at fixed latency' if not exact else 'under random AXI timing'}")
        return res
    res.passed = True
    return res


def run_programs(arch: Arch | str, programs: str | list[str] = "ci", seed: int = 1, latency: int = DEFAULT_LATENCY,
                 progress: bool = True, on_result=None) -> list[ProgramResult]:
    """Every program in order; a program that fails to build or run is a failed result, not an exception."""
    from tqdm import tqdm

    arch = load_arch(arch)
    names = expand(programs)
    out = []
    with tqdm(total=len(names), unit="program", disable=not progress, leave=False) as bar:
        for name in names:
            bar.set_description(f"{arch.name} {name}")
            t0 = time.monotonic()
            try:
                r = run_program(name, arch, seed, latency)
            except GenesysError as e:
                r = ProgramResult(name, False, reason=str(e))
            r.rtl_seconds = r.rtl_seconds or time.monotonic() - t0
            out.append(r)
            if on_result:
                on_result(r)
            bar.update(1)
    return out


def summarize(results: list[ProgramResult]) -> dict:
    """The flow's metrics: per program and totals (cycle difference over every program, mean speed)."""
    sim = sum(r.sim_cycles for r in results)
    rtl = sum(r.rtl_cycles for r in results)
    speeds = [r.cycles_per_second for r in results if r.cycles_per_second > 0]
    return {"programs": [r.to_dict() for r in results], "programs_passed": sum(r.passed for r in results),
            "programs_total": len(results), "sim_cycles": sim, "rtl_cycles": rtl,
            "rtl_vs_sim": (rtl - sim) / sim if sim else 0.0,
            "cycles_per_second": float(np.mean(speeds)) if speeds else 0.0}
