"""The fast harness (verif/harness/, genesys.rtl_harness) and the runtime's rtl target.

1. The AXI memory model alone, driven by the real AXI4 master genesys_dma (the `dma` harness): random loads
   and stores under random latency and backpressure equal genesys.verif.dma's reference model byte for
   byte; DECERR beyond the DRAM size, an SLVERR window, latency and seeds behave as documented; the protocol
   checker catches a DMA whose 4 KiB split is removed.
2. The harness main (AXI-Lite driver, five ports, watchdog, JSON, DRAM out) on a stand-in genesys_top (the
   `stub` harness: a DMA copy engine behind the register map), and the build cache / error messages.
3. genesys_top itself: a single-layer program through Runtime(target="rtl") equal to the simulator bit for
   bit (outputs and the whole final DRAM) on 4x4, the same under random latency and backpressure, and a
   16x16 layer (slow).
"""

from __future__ import annotations

import numpy as np
import pytest

from genesys.arch import load_arch
from genesys.errors import GenesysError
from genesys.rtl_harness import RtlHarness, build, conv_layer_graph, run_dma
from genesys.verif.dma import reference as ref

from .conftest import require_tool

DRAM = 1 << 20


@pytest.fixture(scope="module")
def dma_exe():
    require_tool("verilator")
    cache = {}

    def get(preset):
        if preset not in cache:
            cache[preset] = build(preset, "dma", progress=False)
        return cache[preset]

    return get


def random_transfers(rng, n: int, size: int = DRAM) -> list[ref.Descriptor]:
    out = []
    while len(out) < n:
        levels = int(rng.integers(0, 5))
        iters = [1] * (4 - levels) + [int(rng.integers(1, 5)) for _ in range(levels)]
        strides = [0] * (4 - levels) + [int(rng.choice([-1, 1]) * rng.choice([0, 3, 64, 1000, 4096, 5000]))
                                        for _ in range(levels)]
        req = int(rng.choice([1, 2, 7, 8, 33, 255, 1000, 2048, 3001]))
        addr = int(rng.integers(0, size)) if rng.random() < 0.5 else int(rng.integers(1, 64) * 4096 - rng.integers(0, 40))
        d = ref.Descriptor(bool(rng.random() < 0.5), addr, iters, strides, req)
        lo, hi = ref.footprint(d)
        if 0 <= lo and hi <= size:
            out.append(d)
    return out


def expected(image: np.ndarray, transfers, store_data: bytes) -> tuple[np.ndarray, bytes]:
    dram, stream, off = image.copy(), b"", 0
    for t in transfers:
        if t.store:
            ref.store(t, dram, store_data[off:off + t.n_bytes])
            off += t.n_bytes
        else:
            stream += ref.load_stream(t, dram)
    return dram, stream


# ---- 1. the memory model against genesys_dma ----------------------------------------------------------------
@pytest.mark.parametrize("preset", ["4x4", "16x16"])  # 64-bit (QData) and 128-bit (VlWide) buses
@pytest.mark.parametrize("latency,stall", [(0, 0.0), ((1, 60), 0.35)])
def test_memory_model_equals_the_dma_reference(dma_exe, preset, latency, stall):
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, DRAM, dtype=np.uint8)
    transfers = random_transfers(rng, 40)
    st = rng.integers(0, 256, sum(t.n_bytes for t in transfers if t.store), dtype=np.uint8).tobytes()
    res, final, stream = run_dma(dma_exe(preset), image, transfers, st, latency=latency, stall_prob=stall, seed=7,
                                 data_bits=load_arch(preset).AXI_IBUF_WIDTH)
    want_dram, want_stream = expected(image, transfers, st)
    assert all(t["error"] == 0 for t in res["transfers"]), res["transfers"]
    assert res["port"]["violations"] == 0, res["port"]["violation_text"]
    assert res["idle"] and res["store_bytes_taken"] == len(st)
    assert stream == want_stream
    diff = np.flatnonzero(final != want_dram)
    assert diff.size == 0, f"{diff.size} DRAM bytes differ, first at 0x{diff[0]:x}"
    n_bursts = sum(len(ref.bursts(t, load_arch(preset).AXI_IBUF_WIDTH // 8)) for t in transfers)
    assert res["port"]["read_bursts"] + res["port"]["write_bursts"] == n_bursts


def test_decerr_beyond_the_dram_and_slverr_window(dma_exe):
    exe = dma_exe("4x4")
    size = 64 * 1024
    image = np.arange(size, dtype=np.uint32).astype(np.uint8)
    one = [1, 1, 1, 1]
    t = [ref.Descriptor(False, size - 100, one, [0] * 4, 300),  # runs off the end: DECERR
         ref.Descriptor(True, size - 8, one, [0] * 4, 16),       # store across the end: DECERR, nothing beyond
         ref.Descriptor(False, 0x2000, one, [0] * 4, 64),        # inside the SLVERR window: data still moves
         ref.Descriptor(False, 0x100, one, [0] * 4, 64)]         # clean
    st = bytes(range(16))
    res, final, stream = run_dma(exe, image, t, st, dram_size=size, slverr=(0x2010, 0x2020))
    r = res["transfers"]
    assert (r[0]["error"], r[0]["resp"], r[0]["err_addr"]) == (1, 3, size)  # the burst after the 4 KiB split
    assert (r[1]["error"], r[1]["resp"], r[1]["err_addr"]) == (1, 3, size)
    assert (r[2]["error"], r[2]["resp"], r[2]["err_addr"]) == (1, 2, 0x2000)
    assert r[3]["error"] == 0
    assert stream[:100] == image[size - 100:size].tobytes()  # beats inside the DRAM are real data
    assert stream[300:364] == image[0x2000:0x2040].tobytes()
    # the store's first burst (up to the end of the DRAM) is written, the one beyond is dropped
    assert final[size - 8:size].tobytes() == st[:8]
    assert res["port"]["decerr"] >= 2 and res["port"]["slverr"] >= 1


def test_latency_and_seeded_backpressure(dma_exe):
    exe = dma_exe("4x4")
    image = np.zeros(DRAM, np.uint8)
    t = [ref.Descriptor(False, 0x1000, [1, 1, 1, 1], [0] * 4, 512)]
    base = run_dma(exe, image, t)[0]["transfers"][0]["cycles"]
    slow = run_dma(exe, image, t, latency=50)[0]["transfers"][0]["cycles"]
    assert slow - base == 50  # one burst: the latency adds once
    runs = [run_dma(exe, image, t * 3, latency=(0, 30), stall_prob=0.3, seed=s)[0]["cycles"] for s in (1, 1, 2)]
    assert runs[0] == runs[1] != runs[2]  # reproducible per seed, different across seeds
    assert runs[0] > 3 * base


def test_protocol_checker_catches_a_burst_across_4k():
    require_tool("verilator")
    good = "assign limit        = (to_boundary < to_max_burst) ? to_boundary : to_max_burst;"
    exe = build("4x4", "dma", progress=False,
                patches={"genesys_dma.sv": (good, "assign limit        = to_max_burst;")})
    t = [ref.Descriptor(False, 0x1ff9, [1, 1, 1, 1], [0] * 4, 64)]
    res = run_dma(exe, np.zeros(DRAM, np.uint8), t)[0]
    assert res["port"]["violations"] >= 1
    assert "crosses a 4 KiB boundary" in res["port"]["violation_text"][0]


# ---- 2. the harness main on the stand-in genesys_top -------------------------------------------------------
@pytest.fixture(scope="module")
def stub():
    require_tool("verilator")
    return RtlHarness("4x4", harness="stub", progress=False)


@pytest.mark.parametrize("latency,stall,irq", [(0, 0.0, True), ((5, 80), 0.3, True), (10, 0.1, False)])
def test_harness_runs_programs_and_writes_back_the_dram(stub, latency, stall, irq):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, 1 << 16, dtype=np.uint8)
    r = stub.run(image, prog_addr=0x1003, prog_words=700, data_base=0x9001, latency=latency, stall_prob=stall,
                 seed=4, irq=irq)
    stub.check(r)
    want = image.copy()
    want[0x9001:0x9001 + 2800] = image[0x1003:0x1003 + 2800]
    assert r.finished and not r.error and not r.timeout
    assert r.dram.size == (1 << 16) + 4096 and np.array_equal(r.dram[:image.size], want)
    assert r.counters["instructions"] == 700 and r.counters["imem_load_bytes"] == 2800
    assert r.counters["obuf_store_bytes"] == 2800 and 0 < r.counters["cycles"] <= r.run_cycles
    assert r.ports["instr"]["read_bytes"] >= 2800 and r.ports["obuf"]["write_bytes"] == 2800
    assert r.ports["ibuf"]["read_bursts"] == 0
    assert r.raw["id"] == "0x47535953"


def test_harness_reports_an_npu_error_with_cause_and_instruction(stub):
    image = np.zeros(1 << 16, np.uint8)
    r = stub.run(image, prog_addr=0x1000, prog_words=64, data_base=0x1F000)  # beyond the 68 KiB DRAM
    assert r.finished and r.error and r.cause_name == "AXI_DECERR"
    words = [0] * 64
    with pytest.raises(GenesysError, match=r"AXI_DECERR .*at instruction 0 \(0x00000000 `.*`\), AXI address 0x1f000"):
        stub.check(r, words)


def test_harness_watchdog_reports_pc_and_state(stub):
    image = np.zeros(1 << 16, np.uint8)
    r = stub.run(image, prog_addr=0x1000, prog_words=10, data_base=0x2000, axi_timeout=0xDEAD, max_cycles=3000)
    assert r.timeout and not r.finished and r.pc == 10 and r.state == 5
    with pytest.raises(GenesysError, match=r"did not finish within 3000 cycles .*PC = instruction 10 .*STATE = 5"):
        stub.check(r, [0] * 11, 3000)


def test_build_is_cached_and_a_build_error_names_the_first_error(stub):
    built = stub.exe.stat().st_mtime_ns
    assert build("4x4", "stub", progress=False) == stub.exe
    assert stub.exe.stat().st_mtime_ns == built  # served from the cache, not rebuilt
    with pytest.raises(GenesysError, match=r"(?s)building the RTL harness of genesys_top for 4x4 failed: %Error.*"
                                           r"genesys_top_stub.sv.*full log"):
        build("4x4", "stub", progress=False,
              patches={"genesys_top_stub.sv": ("logic busy;", "logic busy; this is not verilog;")})


# ---- 3. genesys_top ----------------------------------------------------------------------------------------
FUNCTIONAL_COUNTERS = ("macs", "ibuf_load_bytes", "wbuf_load_bytes", "bbuf_load_bytes", "obuf_load_bytes",
                       "vmem1_load_bytes", "vmem2_load_bytes", "obuf_store_bytes", "vmem1_store_bytes",
                       "vmem2_store_bytes")


def run_both(config: str, graph, **rtl_opts):
    from genesys.compiler.compile import compile_model
    from genesys.runtime import Runtime

    bundle = compile_model(graph, config)
    x = {"x": np.random.default_rng(1).normal(0, 1, graph.tensors["x"].shape).astype(np.float32)}
    sim = Runtime(config).run(bundle, x)
    rtl = Runtime(config, target="rtl", progress=False, **rtl_opts).run(bundle, x)
    return bundle, sim, rtl


def assert_bit_exact(sim, rtl):
    for k in sim.quantized:
        assert np.array_equal(rtl.quantized[k], sim.quantized[k]), (
            f"output {k}: {np.count_nonzero(rtl.quantized[k] != sim.quantized[k])} elements differ")
    diff = np.flatnonzero(rtl.extra["dram"] != sim.extra["dram"])
    assert diff.size == 0, f"{diff.size} DRAM bytes differ from the simulator, first at 0x{diff[0]:x}"


def test_single_layer_4x4_equals_the_simulator():
    require_tool("verilator")
    _, sim, rtl = run_both("4x4", conv_layer_graph(8, 6, 8))
    assert_bit_exact(sim, rtl)
    assert rtl.counters["groups"] == sim.counters["groups"]
    assert {k: rtl.counters[k] for k in FUNCTIONAL_COUNTERS} == {k: sim.counters[k] for k in FUNCTIONAL_COUNTERS}
    assert rtl.cycles > 0 and rtl.extra["cycles_per_second"] > 0
    # the group trace: every group of the simulator has an RTL start/end, attributed to the same layers
    assert len(rtl.extra["groups"]) == sim.counters["groups"]
    assert [L["name"] for L in rtl.layers] == [L["name"] for L in sim.layers]
    assert all(L["cycles"] > 0 for L in rtl.layers) and sum(L["cycles"] for L in rtl.layers) <= rtl.cycles


def test_single_layer_4x4_under_random_latency_and_backpressure():
    require_tool("verilator")
    _, sim, rtl = run_both("4x4", conv_layer_graph(8, 6, 8), latency=(0, 150), stall_prob=0.3, seed=9)
    assert_bit_exact(sim, rtl)


@pytest.mark.slow
def test_single_layer_16x16_equals_the_simulator():
    require_tool("verilator")
    _, sim, rtl = run_both("16x16", conv_layer_graph(32, 8, 32))
    assert_bit_exact(sim, rtl)
    assert {k: rtl.counters[k] for k in FUNCTIONAL_COUNTERS} == {k: sim.counters[k] for k in FUNCTIONAL_COUNTERS}
