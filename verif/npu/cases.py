"""The system-test cases, prepared on the host before the simulator starts (compiling, quantizing and the
reference simulation stay out of the cocotb process).

A case is a DRAM image with a program in it and what genesys.sim says about it:

    cases/<name>/case.json     name, suite, ops, program address and length, DRAM size, the expected end
                               (error: cause, index, word; or none), the simulator's counters and per-layer
                               cycles, the AXI fault to inject (axi suite)
    cases/<name>/initial.bin   the DRAM image the run starts from (bundle image + inputs + program)
    cases/<name>/final.bin     the simulator's DRAM at the end (the RTL must match it bit for bit)
    cases/index.json           every case name with its suite

Suites: ``ops`` (one compiled ONNX op each), ``cnn`` (a small CNN), ``errors`` (hand-assembled programs
that stop with a program error), ``axi`` (a compiled op run with an injected SLVERR/DECERR or a stalled
channel). The expected error cause of a hand-written case is stated with the case; its ERR_PC and ERR_WORD
come from the simulator's SimulationError (index, word).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from genesys.arch import Arch, load_arch
from genesys.isa import assemble_text
from genesys.isa.status import ERROR_BY_NAME
from genesys.sim import SimulationError, Simulator
from genesys.sim.testing import SAGroup, program, simd_group

from . import models
from .common import Case, load_case, load_index  # noqa: F401 (re-exported)

SUITES = ("ops", "cnn", "errors", "axi")
ASM_PROGRAM_ADDR = 0x8000     # hand-written programs live here; their data below
ASM_DRAM = 0x10000
SIM_DMA_LATENCY = 8           # the timing model's per-transfer latency for the comparison (ideal memory)


# ---- references -----------------------------------------------------------------------------------------
def _simulate(arch: Arch, image: np.ndarray, prog_addr: int, latency: int):
    """(final DRAM, SimResult or None, SimulationError or None) of the image run at prog_addr."""
    sim = Simulator(arch, dram_bytes=image.size, dma_latency=latency)
    sim.load(0, image)
    try:
        res = sim.run(prog_addr)
        return sim.dram.copy(), res, None
    except SimulationError as e:
        return sim.dram.copy(), None, e


def _write(out: Path, case: Case, image: np.ndarray, final: np.ndarray) -> None:
    d = out / case.name
    d.mkdir(parents=True, exist_ok=True)
    (d / "case.json").write_text(json.dumps(asdict(case), indent=1) + "\n")
    (d / "initial.bin").write_bytes(image.tobytes())
    (d / "final.bin").write_bytes(final.tobytes())


# ---- compiled models ------------------------------------------------------------------------------------
def _bundle_case(arch: Arch, name: str, suite: str, model, feeds: dict, latency: int):
    from genesys.compiler.backend.layout import ActLayout, ceil_to
    from genesys.compiler.compile import compile_model
    from genesys.runtime import layer_cycles, quantize

    bundle = compile_model(model, arch)
    size = ceil_to(bundle.dram_bytes + 4096, 4096)
    image = np.zeros(size, np.uint8)
    image[:len(bundle.dram)] = np.frombuffer(bytes(bundle.dram), np.uint8)
    words = np.asarray(bundle.words, dtype="<u4")
    image[bundle.program_address:bundle.program_address + 4 * words.size] = words.view(np.uint8)
    for t in bundle.inputs:
        x = np.asarray(feeds[t.name])
        q = quantize(x, t.scale, t.zero_point) if t.float_io else x.astype(np.int8)
        lay = ActLayout.from_dict(t.tensor, t.layout)
        img = lay.image(q).reshape(-1).view(np.uint8)
        image[lay.addr:lay.addr + img.size] = img
    final, res, err = _simulate(arch, image, bundle.program_address, latency)
    if err is not None:
        raise RuntimeError(f"case {name}: the simulator stops with an error: {err}")
    layers = []
    for meta, lc in zip(bundle.layers, layer_cycles(bundle.layers, res.groups), strict=True):
        ranges = meta.get("instruction_ranges") or ([meta["instructions"]] if meta["instructions"][1] >= meta["instructions"][0] else [])
        layers.append({"name": meta["name"], "op": meta["op"], "ranges": ranges, "sim_cycles": lc["cycles"]})
    outs = [{"name": t.name, "addr": ActLayout.from_dict(t.tensor, t.layout).addr,
             "bytes": ActLayout.from_dict(t.tensor, t.layout).nbytes} for t in bundle.outputs]
    ins = [{"name": t.name, "addr": ActLayout.from_dict(t.tensor, t.layout).addr,
            "bytes": ActLayout.from_dict(t.tensor, t.layout).nbytes} for t in bundle.inputs]
    case = Case(name, suite, models.onnx_ops(model), bundle.program_address, int(words.size), size,
                counters=dict(res.counters), layers=layers, sim_cycles=int(res.cycles), outputs=outs)
    case.note = json.dumps({"inputs": ins})
    return case, image, final


def model_cases(arch: Arch, out: Path, ops=models.SINGLE_OPS, cnn: bool = True, latency: int = SIM_DMA_LATENCY,
                seed: int = 0) -> list[Case]:
    made = []
    for op in ops:
        model, feeds = models.single_op(op, arch, seed)
        case, image, final = _bundle_case(arch, f"op_{op}", "ops", model, feeds, latency)
        _write(out, case, image, final)
        made.append(case)
    if cnn:
        model, feeds = models.small_cnn(arch, seed)
        case, image, final = _bundle_case(arch, "cnn_small", "cnn", model, feeds, latency)
        case.ops = case.ops + ["network"]
        _write(out, case, image, final)
        made.append(case)
    return made


# ---- hand-assembled error programs -------------------------------------------------------------------
def _add_group(number: int, row: int, value: int) -> str:
    return simd_group(number, [f"IMM_SIGN_EXT IMM, 0, {value}", f"BASE_SIGN_EXT VMEM1, 0, {row}",
                               "ADD VMEM1, 0, VMEM1, 0, IMM, 0"])


def error_programs(arch: Arch) -> list[tuple[str, str, list[int]]]:
    """(case name, expected cause, program words): each stops with one program error."""
    b = arch.buffers
    ib, wb, bb, vm = b["IBUF"].depth, b["WBUF"].depth, b["BBUF"].depth, b["VMEM"].depth
    row = {k: b[k].capacity_bytes // b[k].depth for k in ("IBUF", "WBUF", "BBUF")}  # a transfer of 2 rows
    # from the last row spills past the buffer
    imem = b["IMEM"].depth
    good = [_add_group(1, 0, 5), _add_group(2, 1, 7)]
    illegal = assemble_text(program(good))
    illegal[7] = 0xF0000000            # opcode 1111 is undefined: inside the second group's body
    first_illegal = assemble_text(program(good))
    first_illegal[0] = 0xF0000000
    out = [
        ("err_illegal_word", "ILLEGAL_INSTR", illegal),
        ("err_illegal_first_word", "ILLEGAL_INSTR", first_illegal),
        ("err_ibuf_ld_range", "IBUF_RANGE",
         assemble_text(program([_add_group(1, 0, 1), SAGroup(2).base("IBUF", dram=0, chip=ib - 1)
                               .transfer("LD", "IBUF", 23, 2 * row["IBUF"]).text()]))),
        ("err_ibuf_nest_range", "IBUF_RANGE",
         assemble_text(program([SAGroup(1).loop(4, 3).stride("RD", "IBUF", 4, ib // 2).text()]))),
        ("err_obuf_nest_range", "OBUF_RANGE",
         assemble_text(program([SAGroup(1).loop(0, 2).stride("RD", "OBUF", 0, -1).stride("WR", "OBUF", 0, -1)
                               .outer().text()]))),
        ("err_wbuf_ld_range", "WBUF_RANGE",
         assemble_text(program([SAGroup(1).base("WBUF", dram=0, chip=wb - 1)
                               .transfer("LD", "WBUF", 19, 2 * row["WBUF"]).text()]))),
        ("err_bbuf_ld_range", "BBUF_RANGE",
         assemble_text(program([SAGroup(1).base("BBUF", dram=0, chip=bb - 1)
                               .transfer("LD", "BBUF", 31, 2 * row["BBUF"]).text()]))),
        ("err_vmem_range", "VMEM_RANGE", assemble_text(program([_add_group(1, 3, 1), _add_group(2, vm, 3)]))),
        ("err_bad_group", "BAD_GROUP", assemble_text("NOP 0, 0, 0, 0, 0, 0\nBLOCK_END 1")),
        ("err_bad_field", "BAD_FIELD",
         assemble_text(program([SAGroup(1).text().replace(
             "0\nSYNC_INST SYSTOLIC_ARRAY, END", "1\nSA_LOOP_CFG 0, 40, 1\nSYNC_INST SYSTOLIC_ARRAY, END")]))),
        ("err_div_by_zero", "DIV_BY_ZERO",
         assemble_text(program([simd_group(1, ["IMM_SIGN_EXT IMM, 0, 0", "BASE_SIGN_EXT VMEM1, 0, 0",
                                               "DIV VMEM1, 0, VMEM1, 0, IMM, 0"])]))),
        ("err_neg_shift", "NEG_SHIFT",
         assemble_text(program([simd_group(1, ["IMM_SIGN_EXT IMM, 0, -3", "BASE_SIGN_EXT VMEM1, 0, 0",
                                               "LSHIFT VMEM1, 0, VMEM1, 0, IMM, 0"])]))),
        ("err_block_too_long", "BLOCK_TOO_LONG",
         assemble_text(program([simd_group(1, ["NOP 0, 0, 0, 0, 0, 0"] * imem)]))),
    ]
    return out


def hardware_limit_programs(arch: Arch) -> list[tuple[str, str, list[int], int]]:
    """(case name, cause, words, failing index): programs the simulator runs but this hardware refuses by
    design (docs/npu.md): the expected ERR_PC is the refused instruction's index, stated here."""
    words = assemble_text(program([_add_group(1, 0, 2), simd_group(2, [
        "DTYPE_CFG 32FP, 0, 0, 0", "BASE_SIGN_EXT VMEM1, 0, 0", "SIGMOID VMEM1, 0, VMEM1, 0, VMEM1, 0"])]))
    # group 1: words 0-4; group 2: START 5, DTYPE_CFG 6, BASE_SIGN_EXT 7, SIGMOID 8
    return [("err_unsupported_sigmoid", "UNSUPPORTED", words, 8)]


def obuf_copy_program(arch: Arch, src: int, dst: int, n_bytes: int) -> list[int]:
    """LD n_bytes into OBUF from src, ST them back to dst (4 KiB requests: the longest AXI bursts), then the
    first 4 KiB again to dst + n_bytes in 1000-byte requests (medium bursts, unaligned ends)."""
    g1 = SAGroup(1).load_rows("OBUF", src, 0, n_bytes, 4096).text()
    g2 = SAGroup(2).store_rows(dst, 0, n_bytes, 4096).text()
    g3 = SAGroup(3).store_rows(dst + n_bytes, 0, 4000, 1000).text()
    return assemble_text(program([g1, g2, g3]))


def error_cases(arch: Arch, out: Path, latency: int = SIM_DMA_LATENCY) -> list[Case]:
    """The error programs, and a clean compiled op (``recover_gemm``) the test runs after them: the NPU must
    run normally after a failed run."""
    model, feeds = models.single_op("gemm", arch, 0)
    clean, image, final = _bundle_case(arch, "recover_gemm", "errors", model, feeds, latency)
    _write(out, clean, image, final)
    made = [clean]
    rng = np.random.default_rng(1)
    for name, cause, words in error_programs(arch):
        w = np.asarray(words, dtype="<u4")
        size = max(ASM_DRAM, -(-(ASM_PROGRAM_ADDR + 4 * w.size + 4096) // 4096) * 4096)
        image = rng.integers(0, 256, size, dtype=np.uint8)
        image[ASM_PROGRAM_ADDR:ASM_PROGRAM_ADDR + 4 * w.size] = w.view(np.uint8)
        final, res, err = _simulate(arch, image, ASM_PROGRAM_ADDR, latency)
        if err is None:
            raise RuntimeError(f"error case {name}: the simulator runs it without an error")
        case = Case(name, "errors", [], ASM_PROGRAM_ADDR, int(w.size), size,
                    error={"cause": cause, "code": ERROR_BY_NAME[cause].code,
                           "index": int(err.index) if err.index is not None else None,
                           "word": int(err.word) if err.word is not None else None, "message": str(err)})
        _write(out, case, image, final)
        made.append(case)
    for name, cause, words, index in hardware_limit_programs(arch):
        w = np.asarray(words, dtype="<u4")
        size = max(ASM_DRAM, -(-(ASM_PROGRAM_ADDR + 4 * w.size + 4096) // 4096) * 4096)
        image = rng.integers(0, 256, size, dtype=np.uint8)
        image[ASM_PROGRAM_ADDR:ASM_PROGRAM_ADDR + 4 * w.size] = w.view(np.uint8)
        final, res, err = _simulate(arch, image, ASM_PROGRAM_ADDR, latency)
        if err is not None:
            raise RuntimeError(f"hardware-limit case {name}: the simulator stops with {err}")
        case = Case(name, "errors", [], ASM_PROGRAM_ADDR, int(w.size), size,
                    error={"cause": cause, "code": ERROR_BY_NAME[cause].code, "index": index,
                           "word": int(w[index]), "message": "refused by this hardware (docs/npu.md)"})
        _write(out, case, image, final)
        made.append(case)
    return made


def asm_clean_cases(arch: Arch, out: Path, latency: int = SIM_DMA_LATENCY) -> list[Case]:
    """Clean hand-written programs for what the compiled ops leave out: OBUF loads and stores (the OBUF AXI
    interface) in 4 KiB requests (256-beat bursts where the bus allows)."""
    rng = np.random.default_rng(2)
    n = min(8192, arch.buffers["OBUF"].capacity_bytes // 4096 * 4096)
    src, dst = 0x2000, 0x2000 + n + 4096
    w = np.asarray(obuf_copy_program(arch, src, dst, n), dtype="<u4")
    prog = -(-(dst + n + 4000) // 4096) * 4096
    size = prog + -(-(4 * w.size + 4096) // 4096) * 4096
    image = rng.integers(0, 256, size, dtype=np.uint8)
    image[prog:prog + 4 * w.size] = w.view(np.uint8)
    final, res, err = _simulate(arch, image, prog, latency)
    if err is not None:
        raise RuntimeError(f"asm_obuf_copy: the simulator stops with {err}")
    case = Case("asm_obuf_copy", "ops", [], prog, int(w.size), size, counters=dict(res.counters),
                sim_cycles=int(res.cycles), outputs=[{"name": "copy", "addr": dst, "bytes": n + 4000}])
    _write(out, case, image, final)
    return [case]


# ---- AXI faults -------------------------------------------------------------------------------------------
def axi_cases(arch: Arch, out: Path, latency: int = SIM_DMA_LATENCY, seed: int = 0) -> list[Case]:
    """One compiled op (gemm: IBUF, parameter and OBUF traffic; add: SIMD traffic) run with faults: SLVERR on
    reads of its input, DECERR on writes of its output, SLVERR on the program (instruction fetch), and a
    stalled R channel that the AXI watchdog (TIMEOUT) must catch. Each fault case is followed in the test
    by the clean run of the same program (recovery)."""
    made = []
    for op in ("gemm", "add"):
        model, feeds = models.single_op(op, arch, seed)
        base, image, final = _bundle_case(arch, f"axi_{op}_clean", "axi", model, feeds, latency)
        ins = json.loads(base.note)["inputs"]
        _write(out, base, image, final)
        made.append(base)
        o, i = base.outputs[0], ins[0]
        faults = [
            (f"axi_{op}_slverr_input", "AXI_SLVERR", {"kind": "resp", "lo": i["addr"], "hi": i["addr"] + i["bytes"],
                                                    "resp": 2, "reads": True, "writes": False}),
            (f"axi_{op}_decerr_output", "AXI_DECERR", {"kind": "resp", "lo": o["addr"], "hi": o["addr"] + o["bytes"],
                                                     "resp": 3, "reads": False, "writes": True}),
        ]
        if op == "gemm":
            p0 = base.program_address
            faults += [
                ("axi_gemm_slverr_fetch", "AXI_SLVERR", {"kind": "resp", "lo": p0, "hi": p0 + 4 * base.program_words,
                                                        "resp": 2, "reads": True, "writes": False, "fetch": True}),
                ("axi_gemm_timeout", "AXI_TIMEOUT", {"kind": "stall", "port": "ibuf", "channels": ["r"],
                                                    "timeout": 300}),
            ]
        for name, cause, fault in faults:
            case = Case(name, "axi", base.ops, base.program_address, base.program_words, base.dram_size,
                        error={"cause": cause, "code": ERROR_BY_NAME[cause].code, "index": None, "word": None},
                        axi_fault=fault, outputs=base.outputs)
            _write(out, case, image, image)  # no final DRAM check for a faulted run
            made.append(case)
    return made


# ---- all of it ---------------------------------------------------------------------------------------------
def prepare(arch, out: Path, suites=SUITES, ops=models.SINGLE_OPS, latency: int = SIM_DMA_LATENCY) -> dict:
    """Build the cases of the suites into `out` and write out/index.json; returns the index."""
    arch = load_arch(arch)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    cases: list[Case] = []
    if "ops" in suites:
        cases += model_cases(arch, out, ops, cnn=False, latency=latency) + asm_clean_cases(arch, out, latency)
    if "cnn" in suites:
        cases += model_cases(arch, out, (), cnn=True, latency=latency)
    if "errors" in suites:
        cases += error_cases(arch, out, latency)
    if "axi" in suites:
        cases += axi_cases(arch, out, latency)
    index = {"arch": arch.name, "ARRAY_N": arch.ARRAY_N, "ARRAY_M": arch.ARRAY_M,
             "AXI_ADDR_WIDTH": arch.AXI_ADDR_WIDTH, "sim_dma_latency": latency, "seconds": round(time.monotonic() - t0, 2),
             "cases": [{"name": c.name, "suite": c.suite, "dram_size": c.dram_size} for c in cases]}
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return index
