"""Program structure: block fetch, group rules, errors that name the instruction, and the `genesys sim` CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesys.isa import assemble_text, write_words
from genesys.isa.table import INSTRUCTIONS
from genesys.isa.testing import valid_words
from genesys.sim import SimulationError
from genesys.sim.testing import SAGroup, program, simd_group

from .helpers import make_sim, run


def add_group(number: int, row: int, value: int) -> str:
    return simd_group(number, [f"IMM_SIGN_EXT IMM, 0, {value}", f"BASE_SIGN_EXT VMEM1, 0, {row}",
                               "ADD VMEM1, 0, VMEM1, 0, IMM, 0"])


def test_two_blocks_are_fetched_and_run_in_order():
    sim = make_sim("4x4")
    res = run(sim, [add_group(1, 0, 5), add_group(2, 0, 7), add_group(3, 1, 1)], blocks=[2, 1])
    assert sim.vmem1[0].tolist() == [12] * 4 and sim.vmem1[1].tolist() == [1] * 4
    n_words = 3 * 5 + 2
    assert res.instructions == res.counters["instructions"] == n_words
    assert res.counters["imem_load_bytes"] == 4 * n_words
    assert [g.first for g in res.groups] == [0, 5, 11] and [g.last for g in res.groups] == [4, 9, 15]
    assert res.counters["groups"] == 3


def test_program_runs_from_any_word_aligned_address():
    sim = make_sim("4x4")
    words = assemble_text(program([add_group(1, 3, 9)]))
    sim.load(0x1234, np.array(words, "<u4"))
    sim.run(0x1234)
    assert sim.vmem1[3].tolist() == [9] * 4
    with pytest.raises(SimulationError, match="not word-aligned"):
        sim.run(0x1235)


def test_a_block_must_fit_imem():
    sim = make_sim("4x4")
    depth = sim.arch.buffers["IMEM"].depth
    body = ["NOP 0, 0, 0, 0, 0, 0"] * depth
    with pytest.raises(SimulationError, match=f"no BLOCK_END within IMEM_DEPTH = {depth} words"):
        run(sim, [simd_group(1, body)])


def test_missing_last_block_end_runs_into_an_error():
    sim = make_sim("4x4", dram_bytes=1 << 16)
    words = assemble_text(program([add_group(1, 0, 1)]).replace("BLOCK_END 1", "BLOCK_END 0"))
    sim.load(0, np.array(words, "<u4"))
    sim.dram[4 * len(words):] = 0xFF  # garbage after the program: no BLOCK_END in it
    with pytest.raises(SimulationError, match=f"block starting at instruction {len(words)} .* no BLOCK_END"):
        sim.run(0)
    sim.dram[4 * len(words) + 40:4 * len(words) + 44] = [1, 0, 0, 0xB0]  # BLOCK_END 1 after 10 garbage words
    with pytest.raises(SimulationError, match=f"instruction {len(words)} \\(0xffffffff `<does not"):
        sim.run(0)


def error_of(groups_text: str, preset="4x4") -> SimulationError:
    sim = make_sim(preset)
    with pytest.raises(SimulationError) as e:
        sim.run_words(assemble_text(groups_text), program_addr=0)
    return e.value


@pytest.mark.parametrize("text, index, match", [
    ("NOP 0, 0, 0, 0, 0, 0\nBLOCK_END 1", 0, "outside a group"),
    ("SYNC_INST SIMD, START, EXEC, 0, 1, 2\nNOP 0, 0, 0, 0, 0, 0\nSYNC_INST SIMD, END, EXEC, 0, 1, 0\nBLOCK_END 1",
     2, "NUM_INSTR must equal"),
    ("SYNC_INST SIMD, START, EXEC, 0, 1, 1\nNOP 0, 0, 0, 0, 0, 0\nSYNC_INST SIMD, END, EXEC, 0, 2, 0\nBLOCK_END 1",
     2, "same engine and group number"),
    ("SYNC_INST SIMD, START, EXEC, 0, 1, 1\nNOP 0, 0, 0, 0, 0, 0\nSYNC_INST SYSTOLIC_ARRAY, END, EXEC, 0, 1, 0\n"
     "BLOCK_END 1", 2, "same engine"),
    ("SYNC_INST SIMD, START, EXEC, 0, 1, 1\nSA_LOOP_CFG 0, 0, 3\nSYNC_INST SIMD, END, EXEC, 0, 1, 0\nBLOCK_END 1",
     1, "systolic-array instruction inside SIMD group"),
    ("SYNC_INST SIMD, START, EXEC, 0, 1, 2\nNOP 0, 0, 0, 0, 0, 0\nBLOCK_END 0\nSYNC_INST SIMD, END, EXEC, 0, 1, 0\n"
     "BLOCK_END 1", 0, "close within its block"),
    ("SYNC_INST SIMD, START, EXEC, 0, 1, 2\nSYNC_INST SIMD, START, EXEC, 0, 2, 0\nNOP 0, 0, 0, 0, 0, 0\n"
     "SYNC_INST SIMD, END, EXEC, 0, 1, 0\nBLOCK_END 1", 1, "groups do not nest"),
    ("SYNC_INST SIMD, END, EXEC, 0, 1, 0\nBLOCK_END 1", 0, "END without a matching START"),
    ("SYNC_INST SIMD, START, BUF, 0, 1, 0\nSYNC_INST SIMD, END, BUF, 0, 1, 0\nBLOCK_END 1", 0, "BUF groups"),
])
def test_malformed_groups(text, index, match):
    e = error_of(text)
    assert e.index == index
    assert match in str(e)


@pytest.mark.parametrize("line, match", [
    ("SET_LOOP_STRIDE LOW, LD, IBUF, 3, 16", "not of a compute loop"),
    ("SET_LOOP_STRIDE LOW, LD, IBUF, 16, 16", "IBUF's transfer loops 20-23"),
    ("SET_LOOP_STRIDE LOW, RD, IBUF, 20, 1", "compute loops 0-15"),
    ("SET_LOOP_STRIDE LOW, WR, IBUF, 2, 1", "WR strides are for OBUF"),
    ("SET_LOOP_STRIDE LOW, ST, WBUF, 16, 1", "only OBUF is stored"),
    ("SA_LOOP_CFG 0, 40, 1", "loop 40 does not exist"),
    ("SA_REDUCTION_LOOP 32, 20, INNER, IC", "compute loops 0-15"),
    ("LD_ST ST, BUFFER, IBUF, 20, 16", "ST is only legal for OBUF"),
    ("LD_ST LD, BUFFER, IBUF, 24, 16", "IBUF's transfer loops 20-23"),
    ("LD_ST LD, BUFFER, IBUF, 20, 0", "not 0"),
    ("LD_ST LD, IMEM, IBUF, 20, 16", "LD_ST on IMEM"),
])
def test_systolic_array_configuration_errors(line, match):
    e = error_of(program([SAGroup(1).text().replace("0\nSYNC_INST SYSTOLIC_ARRAY, END", "1\n" + line +
                                                    "\nSYNC_INST SYSTOLIC_ARRAY, END")]))
    assert e.index == 1 and match in str(e)
    assert str(e).startswith(f"instruction 1 (0x{e.word:08x} `{line.split(',')[0]}")


def test_undecodable_word_names_index_and_hex():
    words = assemble_text(program([add_group(1, 0, 1)]))
    sim = make_sim("4x4")
    bad = 0xF0000000  # opcode 1111 is undefined
    words[2] = bad
    with pytest.raises(SimulationError, match=r"instruction 2 \(0xf0000000 `<does not disassemble>`\): .*undefined opcode"):
        sim.run_words(words, program_addr=0)


def test_out_of_range_addresses():
    sim = make_sim("4x4")
    depth = sim.ibuf.shape[0]
    g = SAGroup(1).base("IBUF", dram=0, chip=depth - 1).transfer("LD", "IBUF", 23, 8)
    with pytest.raises(SimulationError, match=f"up to row {depth}, outside IBUF"):
        run(sim, [g.text()])
    g = SAGroup(1).base("IBUF", dram=sim.dram.size - 4).transfer("LD", "IBUF", 23, 8)
    with pytest.raises(SimulationError, match="outside DRAM"):
        run(sim, [g.text()])
    g = SAGroup(1).loop(4, 3).stride("RD", "IBUF", 4, depth // 2)
    with pytest.raises(SimulationError, match=rf"reads IBUF row {depth} at iteration \(loop 4 = 2\)") as e:
        run(sim, [g.text()], program_addr=0)
    assert e.value.index == 0 and "SYNC_INST SYSTOLIC_ARRAY, START" in str(e.value)
    g = SAGroup(1).loop(0, 2).stride("RD", "OBUF", 0, -1).stride("WR", "OBUF", 0, -1).outer()
    with pytest.raises(SimulationError, match=r"writes OBUF row -1 at iteration \(loop 0 = 1\)"):
        run(sim, [g.text()])


def test_max_instructions_stops_the_run():
    sim = make_sim("4x4")
    words = assemble_text(program([add_group(1, 0, 1), add_group(2, 0, 1)], [1, 1]))
    with pytest.raises(SimulationError, match="instruction 6 .*max_instructions = 6"):
        sim.run_words(words, 0, max_instructions=6)
    assert sim.vmem1[0].tolist() == [1] * 4  # the first block ran


def test_cli_runs_a_program_and_dumps_dram(tmp_path):
    g = SAGroup(1).load_rows("IBUF", 0x100, 0, 16).base("OBUF", chip=0)
    g.base("WBUF", chip=0).loop(0, 4).stride("RD", "IBUF", 0, 1).stride("RD", "OBUF", 0, 1).stride("WR", "OBUF", 0, 1)
    g.store_rows(0x200, 0, 64)
    prog = tmp_path / "prog.hex"
    write_words(prog, assemble_text(program([g.text()])), "hex")
    image = np.zeros(0x200, np.uint8)
    image[0x100:0x110] = np.arange(16)
    (tmp_path / "img.bin").write_bytes(image.tobytes())
    w = np.eye(4, dtype=np.int8)  # WBUF row 0 = identity: OBUF row = IBUF row
    image[0:16] = w.reshape(-1).view(np.uint8)
    (tmp_path / "img.bin").write_bytes(image.tobytes())
    g2 = SAGroup(2).load_rows("WBUF", 0, 0, 16)
    write_words(prog, assemble_text(program([g2.text(), g.text()])), "hex")
    out = tmp_path / "out.bin"
    cp = subprocess.run([sys.executable, "-m", "genesys.sim.cli", "sim", str(prog), "--config", "4x4", "--dram",
                         str(tmp_path / "img.bin"), "--dram-size", "65536", "--dump-dram", str(out), "--json",
                         str(tmp_path / "c.json")], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    assert "macs" in cp.stdout and "cycles" in cp.stdout
    dumped = np.frombuffer(out.read_bytes(), np.uint8)
    assert dumped.size == 0x240
    np.testing.assert_array_equal(dumped[0x200:0x240].view("<i4"), np.arange(16))
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["counters"]["macs"] == 4 * 16 and len(data["groups"]) == 2


def test_cli_errors_are_one_line(tmp_path):
    prog = tmp_path / "prog.hex"
    write_words(prog, [0xF0000000, 0xB0000001], "hex")  # a bad word, then BLOCK_END 1
    (tmp_path / "img.bin").write_bytes(b"\0" * 16)
    cp = subprocess.run([sys.executable, "-m", "genesys.sim.cli", "sim", str(prog), "--config", "4x4", "--dram",
                         str(tmp_path / "img.bin"), "--dram-size", "65536"], capture_output=True, text=True)
    assert cp.returncode == 1
    assert cp.stderr.count("\n") == 1 and "instruction 0 (0xf0000000" in cp.stderr
    cp = subprocess.run([sys.executable, "-m", "genesys.sim.cli", "sim", str(prog), "--config", "4x4", "--dram",
                         str(tmp_path / "missing.bin")], capture_output=True, text=True)
    assert cp.returncode == 1 and "missing.bin" in cp.stderr and "Traceback" not in cp.stderr


# ---- robustness: any valid words inside a group stop cleanly or run --------------------------------
_SA_BODY = [i for i in INSTRUCTIONS if i.group == "SA" and i.opcode not in ("INST_GROUP", "BLOCK_END")]
_SIMD_BODY = [i for i in INSTRUCTIONS if i.group == "SIMD"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engine=st.sampled_from(["SA", "SIMD"]), data=st.data())
def test_random_groups_run_or_stop_with_a_simulation_error(engine, data):
    body = data.draw(st.lists(valid_words(_SA_BODY if engine == "SA" else _SIMD_BODY), min_size=1, max_size=12))
    target = "SYSTOLIC_ARRAY" if engine == "SA" else "SIMD"
    head = assemble_text(f"SYNC_INST {target}, START, EXEC, 0, 1, {len(body)}")
    tail = assemble_text(f"SYNC_INST {target}, END, EXEC, 0, 1, 0\nBLOCK_END 1")
    sim = make_sim("4x4", dram_bytes=1 << 20)
    try:
        sim.run_words(head + body + tail, program_addr=0xF0000)
    except SimulationError as e:
        assert "internal simulator error" not in str(e)
        assert e.index is not None
