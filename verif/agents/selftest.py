"""Self-test of the AXI4 memory agent against a block that exists: genesys_dma (the cocotb test module).

The DMA's command and stream ports are driven directly; the agent serves its AXI4 port from a SharedDram.
Checked: load streams and stored DRAM bytes against the DMA reference model, the monitor's burst count and
bytes against the reference burst split, no AXI rule violation, every timing mode, SLVERR and DECERR ranges
(the DMA's status names the response and a burst the responder answered with an error), a stalled channel
released later, and a reset in the middle of a transfer followed by a clean transfer.
"""

from __future__ import annotations

import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from genesys.verif.bench_env import DEFAULT_CLOCK_PS, ENV_CLOCK_PS
from genesys.verif.dma.reference import Descriptor, bursts, load_stream, store

from .axi_mem import DECERR, MODES, SLVERR, AxiMemAgent, ErrorRange, SharedDram, stats_delta

RAM = 1 << 18


def _period() -> int:
    import os
    p = int(os.environ.get(ENV_CLOCK_PS, DEFAULT_CLOCK_PS))
    return p + (p & 1)


async def _transfer(dut, d: Descriptor, data: bytes = b"", limit: int = 100_000):
    """Run one descriptor through the DMA; returns (stream bytes, status (error, resp, addr))."""
    p_iter, p_stride = 16, 32
    bpb = len(dut.ld_data) // 8
    await FallingEdge(dut.clk)
    dut.cmd_store.value = int(d.store)
    dut.cmd_addr.value = d.addr
    dut.cmd_iters_m1.value = sum((i - 1) << (k * p_iter) for k, i in enumerate(d.iters))
    dut.cmd_strides.value = sum((s & ((1 << p_stride) - 1)) << (k * p_stride) for k, s in enumerate(d.strides))
    dut.cmd_req_bytes.value = d.req
    dut.cmd_valid.value = 1
    while not int(dut.cmd_ready.value):
        await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.cmd_valid.value = 0
    got, pos = bytearray(), 0
    for _ in range(limit):
        if int(dut.sts_valid.value):
            dut.ld_ready.value = 0
            dut.st_valid.value = 0
            return bytes(got), (int(dut.sts_error.value), int(dut.sts_err_resp.value), int(dut.sts_err_addr.value))
        if d.store:
            n = bin(int(dut.st_keep.value)).count("1")
            chunk = data[pos:pos + n]
            dut.st_data.value = int.from_bytes(chunk, "little") if chunk else 0
            dut.st_valid.value = int(n > 0 and len(chunk) == n)
            if n and len(chunk) == n and int(dut.st_ready.value):
                pos += n
        else:
            dut.ld_ready.value = 1
            if int(dut.ld_valid.value):
                k = bin(int(dut.ld_keep.value)).count("1")
                got += int(dut.ld_data.value).to_bytes(bpb, "little")[:k]
        await FallingEdge(dut.clk)
    raise AssertionError(f"DMA hang on {d}")


@cocotb.test()
async def agent_selftest(dut):
    period = _period()
    Clock(dut.clk, period, unit="ps").start(start_high=False)
    for name in ("cmd_valid", "cmd_store", "cmd_addr", "cmd_iters_m1", "cmd_strides", "cmd_req_bytes", "ld_ready",
                 "st_valid", "st_data"):
        getattr(dut, name).value = 0
    dut.rst_n.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dram = SharedDram(RAM)
    rng = np.random.default_rng(5)
    dram.load(0, rng.integers(0, 256, RAM, dtype=np.uint8).tobytes())
    agent = AxiMemAgent("mem", None)
    agent.build_phase()
    agent.attach(dut, [("dma", "m_axi")], dram, period, seed=3)
    published = []
    agent.ap.write = published.append  # no subscriber in this self-test: collect directly
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    await RisingEdge(dut.clk)
    bpb = len(dut.ld_data) // 8
    pyrng = random.Random(9)

    # Clean transfers in every timing mode: data, burst counts and bytes against the reference model.
    for mode in MODES:
        agent.set_mode(mode)
        for k in range(6):
            req = pyrng.choice([1, bpb - 1, bpb + 3, 300, 4096 + 17])
            iters = [1, 1, pyrng.randint(1, 3), pyrng.randint(1, 3)]
            strides = [0, 0, 5000, pyrng.choice([req, -req - 64, 4096])]
            addr = pyrng.randint(20_000, 100_000)
            d = Descriptor(bool(k % 2), addr, iters, strides, req)
            before = agent.stats()
            data = bytes(pyrng.getrandbits(8) for _ in range(d.n_bytes)) if d.store else b""
            expect_img = dram.data.copy()
            want = load_stream(d, expect_img) if not d.store else b""
            if d.store:
                store(d, expect_img, data)
            got, sts = await _transfer(dut, d, data)
            for _ in range(4):
                await RisingEdge(dut.clk)
            delta = stats_delta(agent.stats(), before)["dma"]
            ref = bursts(d, bpb)
            assert sts[0] == 0, f"{mode}: unexpected error status {sts} for {d}"
            if d.store:
                assert delta["write_bursts"] == len(ref), (mode, delta, len(ref))
                assert delta["write_bytes"] == d.n_bytes, (mode, delta, d.n_bytes)
                assert np.array_equal(dram.data, expect_img), f"{mode}: DRAM differs after {d}"
            else:
                assert delta["read_bursts"] == len(ref), (mode, delta, len(ref))
                assert got == want, f"{mode}: load stream differs for {d}"
    assert not agent.violations(), agent.violations()

    # Error injection: SLVERR on one range, DECERR on another and beyond the end of the memory.
    agent.set_mode("random")
    dram.errors += [ErrorRange(0x30000, 0x31000, SLVERR), ErrorRange(0x32000, 0x33000, DECERR)]
    for store_, addr, resp in ((False, 0x30000 - 40, SLVERR), (True, 0x30000 + 8, SLVERR),
                               (False, 0x32000 + 100, DECERR), (True, 0x32000 - 8, DECERR),
                               (False, RAM - 16, DECERR)):
        agent.clear_errors()
        d = Descriptor(store_, addr, [1, 1, 1, 1], [0, 0, 0, 0], 64)
        _, sts = await _transfer(dut, d, bytes(64))
        assert sts[0] == 1 and sts[1] == resp, f"error status {sts} for {d}, expected resp {resp}"
        answered = [a for _, _, a, r in agent.error_bursts() if r == resp]
        assert sts[2] in answered, f"status address 0x{sts[2]:x} not among the error bursts {answered}"
    dram.errors.clear()

    # A stalled R channel holds the transfer; released, it completes.
    agent.set_mode("ideal")
    agent.stall("dma", "r")
    d = Descriptor(False, 0x1000, [1, 1, 1, 1], [0, 0, 0, 0], 256)
    task = cocotb.start_soon(_transfer(dut, d))
    for _ in range(200):
        await RisingEdge(dut.clk)
    assert not task.done(), "the transfer ended although the R channel was stalled"
    agent.release()
    got, sts = await task
    assert got == bytes(dram.data[0x1000:0x1100]) and sts[0] == 0

    # Reset in the middle of a store, then a clean load.
    agent.set_mode("slow")
    d = Descriptor(True, 0x2000, [1, 1, 1, 4], [0, 0, 0, 4096], 2048)
    task = cocotb.start_soon(_transfer(dut, d, bytes(d.n_bytes), limit=100))
    for _ in range(60):
        await RisingEdge(dut.clk)
    task.cancel()
    await FallingEdge(dut.clk)
    dut.rst_n.value = 0
    dut.cmd_valid.value = dut.ld_ready.value = dut.st_valid.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    d = Descriptor(False, 0x5003, [1, 1, 1, 1], [0, 0, 0, 0], 77)
    got, sts = await _transfer(dut, d)
    assert got == bytes(dram.data[0x5003:0x5003 + 77]) and sts[0] == 0
    assert not agent.violations(), agent.violations()
    dut._log.info("agent self-test: %d bursts published, stats %s", len(published), agent.stats())
