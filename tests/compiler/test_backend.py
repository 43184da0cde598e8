"""Back-end units: layouts, emitters, fusion, tiling and its cost model, options, bundles, runtime errors."""

from __future__ import annotations

import numpy as np
import pytest

from genesys.arch import load_arch
from genesys.compiler.backend.asm import Program, SAGroup, SimdGroup, word_of
from genesys.compiler.backend.bundle import Bundle
from genesys.compiler.backend.codelets.base import ArrayCodelet, BackendError, Epilogue
from genesys.compiler.backend.codelets.conv import block_map, pack_geometry
from genesys.compiler.backend.fusion import plan_fusion
from genesys.compiler.backend.layout import ActLayout, DramAllocator
from genesys.compiler.backend.tiling import Caps, Geometry, Machine, choose, simd_estimator
from genesys.compiler.compile import CompileOptions, compile_model
from genesys.compiler.ir import Graph, Node, QParams, Tensor
from genesys.errors import GenesysError
from genesys.isa import decode
from genesys.runtime import Runtime


# ---- a hand-built IR graph: conv -> conv (+ residual add of the first conv's input) -------------------
def _qp(s, z):
    return QParams(np.array(s, np.float32), np.array(z, np.int32))


def conv_add_graph(fanout: bool = False) -> Graph:
    rng = np.random.default_rng(0)
    t = {"x": Tensor("x", (1, 8, 6, 6), "float32"), "xq": Tensor("xq", (1, 8, 6, 6), "int8", _qp(0.05, 3))}
    nodes = [Node("Quantize", "q", ["x"], ["xq"])]
    prev = "xq"
    for k in range(2):
        w = rng.integers(-50, 50, (8, 8, 3, 3)).astype(np.int8)
        t[f"w{k}"] = Tensor(f"w{k}", w.shape, "int8", QParams(np.full(8, 0.01, np.float32), np.zeros(8, np.int32), 0), w)
        t[f"b{k}"] = Tensor(f"b{k}", (8,), "int32", data=rng.integers(-500, 500, 8).astype(np.int32))
        t[f"y{k}"] = Tensor(f"y{k}", (1, 8, 6, 6), "int8", _qp(0.1, -4))
        nodes.append(Node("QConv", f"conv{k}", [prev, f"w{k}", f"b{k}"], [f"y{k}"],
                          dict(strides=[1, 1], pads=[1, 1, 1, 1], dilations=[1, 1], group=1, act_min=-128,
                               act_max=127, multiplier=np.full(8, 0.005, np.float32))))
        prev = f"y{k}"
    t["z"] = Tensor("z", (1, 8, 6, 6), "int8", _qp(0.12, -128))
    nodes.append(Node("QAdd", "add", ["y1", "xq"], ["z"], dict(act_min=-128, act_max=127)))
    outs = ["out"]
    t["out"] = Tensor("out", (1, 8, 6, 6), "float32")
    nodes.append(Node("Dequantize", "dq", ["z"], ["out"]))
    if fanout:  # y1 is also a graph output: the add cannot swallow the conv
        t["out1"] = Tensor("out1", (1, 8, 6, 6), "float32")
        nodes.append(Node("Dequantize", "dq1", ["y1"], ["out1"]))
        outs.append("out1")
    return Graph("g", t, nodes, ["x"], outs)


def test_activation_layout_round_trips_with_border_and_padding():
    q = np.arange(-60, 60, dtype=np.int8)[: 3 * 4 * 5].reshape(1, 3, 4, 5)
    lay = ActLayout("t", 3, 4, 5, 8, (1, 2, 3, 1), pad_value=7, addr=64, logical_shape=(1, 3, 4, 5))
    img = lay.image(q)
    assert img.shape == (4 + 4, 5 + 3, 8)
    assert np.all(img[0, :, :3] == 7) and np.all(img[:, 0, :3] == 7)  # border holds the pad value
    assert np.all(img[:, :, 3:] == 0)  # padded channels are zero
    assert np.array_equal(lay.read(img.tobytes()), q)
    assert lay.pixel(0, 0) == 64 + (1 * 8 + 2) * 8
    assert lay.pixel(-1, -2) == 64


def test_allocator_aligns_regions_and_builds_the_image():
    d = DramAllocator()
    a = d.alloc(10, "a", np.arange(10, dtype=np.uint8))
    b = d.alloc(3, "b", bytes([9, 9, 9]))
    assert a == 0 and b == 64
    img = d.image()
    assert bytes(img[:10]) == bytes(range(10)) and bytes(img[64:67]) == b"\t\t\t"


def test_transfers_use_the_last_loops_of_their_buffer_and_strides_split_in_halves():
    g = SAGroup("L")
    g.transfer("LD", "IBUF", [(3, 100), (5, -70000)], 16)
    g.stride("RD", "IBUF", 0, 70000)
    ops = [decode(word_of(line)) for line in g.lines]
    ld = [o for o in ops if o.mnemonic == "LD_ST"][0]
    assert ld.fields["LOOP_ID"] == 22  # loops 22, 23 of IBUF's 20-23
    highs = [o.fields for o in ops if o.mnemonic == "SET_LOOP_STRIDE" and o.fields["LOW_HIGH"] == 1]
    assert {(f["LOOP_ID"], f["STRIDE"]) for f in highs} == {(23, 0xFFFE), (0, 1)}
    with pytest.raises(GenesysError, match="two IBUF transfers"):
        g.transfer("LD", "IBUF", [], 16)


def test_program_splits_blocks_at_the_instruction_memory_size():
    p = Program(imem_words=20)
    for _ in range(5):
        g = SimdGroup("L")
        for _ in range(6):
            g.emit("NOP 0, 0, 0, 0, 0, 0")
        p.add(g)
    lines, words, spans = p.assemble()
    assert lines.count("BLOCK_END 0") == 2 and lines[-1] == "BLOCK_END 1"  # 2 groups of 8 words a block
    assert len(spans) == 5 and len(words) == len(lines)
    big = Program(imem_words=8)
    g = SimdGroup("huge")
    for _ in range(10):
        g.emit("NOP 0, 0, 0, 0, 0, 0")
    big.add(g)
    with pytest.raises(GenesysError, match="layer huge: one SIMD group has 12 instructions"):
        big.assemble()


def test_fusion_takes_the_add_into_the_conv_unless_its_output_is_read_elsewhere():
    plan = plan_fusion(conv_add_graph())
    assert [layer.name for layer in plan.layers] == ["conv0", "conv1"]
    assert plan.fused_add["conv1"].name == "add" and plan.layers[1].output == "z"
    assert "conv1" not in plan_fusion(conv_add_graph(fanout=True)).fused_add
    assert not plan_fusion(conv_add_graph(), enabled=False).fused_add


def test_block_map_and_packing_geometry():
    dense = np.ones((4, 4), bool)
    assert block_map(dense, 4, 4) == (4, 0, 4)
    assert block_map(np.eye(4, dtype=bool), 4, 4) == (1, 1, 1)  # depthwise, N = M
    two = np.repeat(np.eye(4, dtype=bool), 2, axis=0)  # 8 output blocks over 4 input blocks (M = N / 2)
    assert block_map(two, 8, 4) == (2, 1, 1)
    assert pack_geometry(7, 7, 3, 16) == (8, 22)  # 8 rows of 22 bytes: 11 blocks instead of 49
    khp, x = pack_geometry(3, 3, 3, 4)
    assert (khp * x) % 4 == 0 and x >= 9


def _codelet(oc=64, ic=64, hw=28, k=3, residual=False) -> ArrayCodelet:
    ocb, icb = oc // 16, ic // 16
    steps = [] if not residual else []
    return ArrayCodelet(layer="L", op="conv", nodes=["L"], x="x", y="y", IH=hw, IW=hw, OH=hw, OW=hw, KH=k, KW=k,
                        SH=1, SW=1, DH=1, DW=1, pads=(k // 2,) * 4, ICB=icb, OCB=ocb, P=ocb, S=0, R=icb,
                        wblocks=np.zeros((ocb, icb, k, k, 16, 16), np.int8), bias=np.zeros(oc, np.int32),
                        epilogue=Epilogue(steps, residual="r" if residual else None), macs=oc * ic * k * k * hw * hw)


def test_tiling_fits_the_buffers_and_honours_forced_values():
    arch = load_arch("16x16")
    mach = Machine.of(arch, 100)
    c = _codelet()
    for double in (True, False):
        t = choose(c, arch, mach, simd_estimator(c, mach, 2), double)
        caps = Caps.of(arch, double)
        g = Geometry(c, t.oc_t, t.ic_t, t.oh_t, t.ow_t)
        assert g.ibuf_rows() <= caps.ibuf and g.wbuf_rows() <= caps.wbuf and g.obuf_rows() <= caps.obuf
        assert t.oc_t <= caps.bbuf
    t = choose(c, arch, mach, simd_estimator(c, mach, 2), True, {"oc_t": 1, "oh_t": 4, "order": ("oc", "oh", "ow")})
    assert (t.oc_t, t.oh_t, t.order) == (1, 4, ("oc", "oh", "ow"))


def test_a_layer_that_cannot_be_tiled_names_itself_its_footprint_and_the_capacities():
    arch = load_arch("4x4")
    mach = Machine.of(arch, 100)
    c = ArrayCodelet(layer="giant", op="conv", nodes=["giant"], x="x", y="y", IH=40, IW=40, OH=1, OW=1, KH=40, KW=40,
                     SH=1, SW=1, DH=1, DW=1, pads=(0, 0, 0, 0), ICB=1, OCB=1, P=1, S=0, R=1,
                     wblocks=np.zeros((1, 1, 40, 40, 4, 4), np.int8), bias=np.zeros(4, np.int32),
                     epilogue=Epilogue([]), macs=0)
    with pytest.raises(BackendError) as e:
        choose(c, arch, mach, simd_estimator(c, mach, 1), True)
    msg = str(e.value)
    assert "layer 'giant'" in msg and "IBUF 1600 rows, WBUF 1600" in msg and "IBUF 1024, WBUF 64" in msg


def single_conv_graph(c: int, m: int, hw: int, k: int, stride: int = 1) -> Graph:
    rng = np.random.default_rng(0)
    oh = (hw + 2 * (k // 2) - k) // stride + 1
    w = rng.integers(-50, 50, (m, c, k, k)).astype(np.int8)
    t = {"x": Tensor("x", (1, c, hw, hw), "float32"), "xq": Tensor("xq", (1, c, hw, hw), "int8", _qp(0.05, 3)),
         "w": Tensor("w", w.shape, "int8", QParams(np.full(m, 0.01, np.float32), np.zeros(m, np.int32), 0), w),
         "b": Tensor("b", (m,), "int32", data=rng.integers(-500, 500, m).astype(np.int32)),
         "y": Tensor("y", (1, m, oh, oh), "int8", _qp(0.1, -4)), "out": Tensor("out", (1, m, oh, oh), "float32")}
    nodes = [Node("Quantize", "q", ["x"], ["xq"]),
             Node("QConv", "conv", ["xq", "w", "b"], ["y"], dict(strides=[stride] * 2, pads=[k // 2] * 4,
                                                                dilations=[1, 1], group=1, act_min=-4, act_max=127)),
             Node("Dequantize", "dq", ["y"], ["out"])]
    return Graph("one", t, nodes, ["x"], ["out"])


@pytest.mark.parametrize("shape", [(64, 64, 28, 3, 1), (256, 64, 14, 1, 1), (32, 128, 28, 3, 2)])
def test_cost_model_tracks_the_simulator(shape):
    """The estimate follows the timing rules of docs/isa.md, Semantics §5: within 10% of the simulator."""
    c, m, hw, k, s = shape
    b = compile_model(single_conv_graph(c, m, hw, k, s), "16x16")
    r = Runtime("16x16").run(b, {"x": np.random.default_rng(1).normal(0, 1, (1, c, hw, hw)).astype(np.float32)})
    est = b.layers[0]["tiling"]["estimated_cycles"]
    assert abs(est - r.cycles) <= 0.10 * r.cycles, (est, r.cycles)


def test_unlowerable_node_names_node_op_and_reason():
    g = conv_add_graph()
    t = g.tensors
    t["cat"] = Tensor("cat", (1, 8, 12, 6), "int8", _qp(0.1, -4))
    g.nodes.insert(-1, Node("QConcat", "cat_h", ["y0", "y1"], ["cat"], {"axis": 2}))
    with pytest.raises(GenesysError, match=r"node 'cat_h' \(QConcat\): concatenation along axis 2"):
        compile_model(g, "4x4")


def test_schedule_options_parse_and_reject_bad_values(tmp_path):
    assert CompileOptions.parse_tile("conv1:oc=32,oh=14") == ("conv1", {"oc": 32, "oh": 14})
    assert CompileOptions.parse_loop_order("a:b:oc,oh,ow,ic") == ("a:b", ["oc", "oh", "ow", "ic"])
    for bad in ("conv1", "conv1:oc=x", "conv1:kk=3"):
        with pytest.raises(GenesysError, match="--tile"):
            CompileOptions.parse_tile(bad)
    with pytest.raises(GenesysError, match="--loop-order"):
        CompileOptions.parse_loop_order("conv1:oc,oh,ic")
    y = tmp_path / "s.yaml"
    y.write_text("fuse: false\nlayers:\n  conv1: {tile: {oc: 16}, loop_order: [oc, oh, ow, ic], double_buffer: false}\n")
    o = CompileOptions.from_yaml(y)
    assert not o.fuse and o.tile == {"conv1": {"oc": 16}} and o.layer_double_buffer == {"conv1": False}
    y.write_text("layers:\n  conv1: {tilee: 3}\n")
    with pytest.raises(GenesysError, match="unknown key"):
        CompileOptions.from_yaml(y)
    g = conv_add_graph()
    with pytest.raises(GenesysError, match="no layer named 'conv2'; did you mean conv1, conv0"):
        compile_model(g, "4x4", {"tile": {"conv2": {"oc": 4}}})
    with pytest.raises(GenesysError, match="multiple of 4"):
        compile_model(g, "4x4", {"tile": {"conv0": {"oc": 6}}})
    with pytest.raises(GenesysError, match="ic must be the innermost"):
        compile_model(g, "4x4", {"loop_order": {"conv0": ["ic", "oc", "oh", "ow"]}})


def test_bundle_round_trips_through_its_files(tmp_path):
    g = conv_add_graph()
    b = compile_model(g, "8x4")
    out = b.write(tmp_path / "bundle")
    for name in ("program.bin", "dram.bin", "bundle.json", "program.s"):
        assert (out / name).is_file()
    for layer in b.layers:
        for suffix in ("_string_final.txt", "_binary.txt", "_decimal.txt", "_json.json"):
            assert (out / "layers" / f"{layer['name']}{suffix}").is_file()
    a, z = b.layers[1]["instructions"]
    assert (out / "layers" / "conv1_binary.txt").read_text().splitlines() == [f"{w:032b}" for w in b.words[a:z + 1]]
    back = Bundle.read(out)
    x = {"x": np.random.default_rng(3).normal(0, 1, (1, 8, 6, 6)).astype(np.float32)}
    r1, r2 = Runtime("8x4").run(b, x), Runtime("8x4").run(back, x)
    assert np.array_equal(r1.outputs["out"], r2.outputs["out"]) and r1.cycles == r2.cycles
    with pytest.raises(GenesysError, match="not a bundle directory"):
        Bundle.read(tmp_path)


def test_runtime_targets_and_input_errors():
    with pytest.raises(GenesysError, match="target fpga is not available yet"):
        Runtime("4x4", target="fpga")
    with pytest.raises(GenesysError, match="unknown target"):
        Runtime("4x4", target="asic")
    b = compile_model(conv_add_graph(), "4x4")
    with pytest.raises(GenesysError, match="compiled for '4x4'"):
        Runtime("8x4").run(b, {})
    with pytest.raises(GenesysError, match="missing input"):
        Runtime("4x4").run(b, {})
    with pytest.raises(GenesysError, match="has shape"):
        Runtime("4x4").run(b, {"x": np.zeros((1, 8, 5, 5), np.float32)})
