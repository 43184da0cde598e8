"""Every supported op alone, compiled and run on the simulator on 4x4, 8x4 and 16x16: equal to ONNX
Runtime and to the IR interpreter bit for bit. Convolutions and average pools use power-of-two scales
(`pow2`), for which ONNX Runtime's float path is exact (see compiler/reference.py); matrix products keep
random scales, on seeds where ORT's float accumulation has no rounding flip.
"""

from __future__ import annotations

import numpy as np
import pytest

from genesys.compiler.backend.asm import word_of
from genesys.isa import decode

from . import qdq_cases as Q
from .backend_util import CONFIGS, mismatches, run_model, tiny_cnn_model


@pytest.fixture
def tiny_cnn():
    return tiny_cnn_model()


CASES = {
    "conv3x3": lambda r: Q.conv(r, 5, 7, (9, 9), 3, 1, (1, 1, 1, 1), pow2=True),
    "conv_stride2_asym_pads_relu": lambda r: Q.conv(r, 8, 12, (10, 11), 3, 2, (1, 0, 2, 1), act="relu", pow2=True),
    "conv_dilated": lambda r: Q.conv(r, 8, 8, (9, 9), 3, 1, (2, 2, 2, 2), dil=2, pow2=True),
    "conv_depthwise_relu6": lambda r: Q.conv(r, 8, 8, (8, 8), 3, 1, (1, 1, 1, 1), group=8, act="relu6", pow2=True),
    "conv_grouped": lambda r: Q.conv(r, 8, 16, (6, 6), 3, 1, (1, 1, 1, 1), group=2, pow2=True),
    "conv_1x1_stride2": lambda r: Q.conv(r, 16, 32, (8, 8), 1, 2, pow2=True),
    "conv_7x7_stem": lambda r: Q.conv(r, 3, 16, (20, 20), 7, 2, (3, 3, 3, 3), act="relu", pow2=True),
    "conv_no_bias_per_tensor": lambda r: Q.conv(r, 6, 10, (7, 7), 3, 1, (1, 1, 1, 1), bias=False, per_channel=False,
                                                pow2=True),
    "gemm_relu": lambda r: Q.gemm(r, 40, 24, act="relu"),
    "matmul": lambda r: Q.gemm(r, 33, 17, trans_b=0, matmul=True),
    "add_relu": lambda r: Q.binary(r, "Add", (1, 6, 5, 7), act="relu"),
    "mul": lambda r: Q.binary(r, "Mul", (1, 6, 5, 7)),
    "maxpool": lambda r: Q.maxpool(r, 6, (9, 9), 3, 2, (1, 1, 1, 1)),
    "maxpool_ceil": lambda r: Q.maxpool(r, 5, (8, 8), 3, 2, (0, 0, 0, 0), ceil_mode=1),
    "maxpool_requantized": lambda r: Q.maxpool(r, 5, (8, 8), 2, 2, (0, 0, 0, 0), same_params=False),
    "averagepool": lambda r: Q.avgpool(r, 6, (9, 9), 3, 2, (1, 1, 1, 1), pow2=True),
    "averagepool_count_pad": lambda r: Q.avgpool(r, 6, (9, 9), 3, 2, (1, 1, 1, 1), count_include_pad=1, pow2=True),
    "averagepool_ceil": lambda r: Q.avgpool(r, 4, (8, 8), 3, 2, (0, 0, 0, 0), ceil_mode=1, pow2=True),
    "globalaveragepool": lambda r: Q.avgpool(r, 20, (6, 6), 0, 0, None, glob=True, pow2=True),
    "concat": lambda r: Q.concat(r, [(1, 3, 5, 5), (1, 6, 5, 5), (1, 5, 5, 5)], 1),
    "relu": lambda r: Q.activation(r, (1, 6, 5, 5), "relu"),
    "clip_same_params": lambda r: Q.activation(r, (1, 6, 5, 5), "relu6", same_params=True),
    "reshape_flat": lambda r: Q.reshape(r, (1, 6, 3, 4), (1, 72)),
    "flatten": lambda r: Q.reshape(r, (1, 6, 3, 4), None, flatten_axis=1),
    "reshape_4d": lambda r: Q.reshape(r, (1, 6, 3, 4), (1, 3, 6, 4)),
    "requantize": lambda r: Q.requantize(r, (1, 6, 5, 5)),
    "qlinearconv": lambda r: Q.qlinear_conv(r, 6, 9, (7, 7), 3, 1, (1, 1, 1, 1)),
    "qlinearmatmul": lambda r: Q.qlinear_matmul(r, 40, 20),
    "quantize_ties": lambda r: Q.quantize_ties(r, (1, 4, 5, 5)),
}


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", list(CASES))
def test_op_equals_onnx_runtime(name, config):
    case = CASES[name](np.random.default_rng(sum(map(ord, name))))
    _, result, want, ort = run_model(case.model, case.feeds, config)
    assert mismatches(result.outputs, want) == dict.fromkeys(want, 0), "differs from the IR interpreter"
    assert mismatches(result.outputs, ort) == dict.fromkeys(ort, 0), "differs from ONNX Runtime"


SCHEDULES = {
    "default": None,
    "no_interleave": {"interleave": False},
    "no_double_buffer": {"double_buffer": False},
    "no_fuse": {"fuse": False},
    "no_packing": {"pack_input": False},
}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_schedules_change_cycles_not_results(schedule, tiny_cnn):
    model, feeds = tiny_cnn
    _, result, want, _ = run_model(model, feeds, "8x4", SCHEDULES[schedule])
    assert mismatches(result.outputs, want) == dict.fromkeys(want, 0)


def test_forced_tiles_and_loop_orders_keep_results(tiny_cnn):
    from genesys.compiler.pipeline import frontend

    model, feeds = tiny_cnn
    convs = [n.name for n in frontend(model).nodes if n.op == "QConv"]
    opts = {"tile": {convs[0]: {"oc": 4, "oh": 3, "ow": 5}, convs[1]: {"ic": 4}},
            "loop_order": {convs[0]: ["oc", "ow", "oh", "ic"], convs[1]: ["ow", "oc", "oh", "ic"]}}
    bundle, result, want, _ = run_model(model, feeds, "4x4", opts)
    assert mismatches(result.outputs, want) == dict.fromkeys(want, 0)
    first = next(m for m in bundle.layers if m["name"] == convs[0])["tiling"]
    assert (first["oc"], first["oh"], first["ow"], first["loop_order"]) == (4, 3, 5, ["oc", "ow", "oh", "ic"])


def test_double_buffering_alternates_buffer_halves(tiny_cnn):
    """Consecutive new input tiles go to the two halves of IBUF (SET_BASE_ADDR ..., IMEM, IBUF)."""
    from genesys.arch import load_arch

    model, feeds = tiny_cnn
    bundle, *_ = run_model(model, feeds, "4x4", {"interleave": False})
    half = load_arch("4x4").buffers["IBUF"].depth // 2
    bases = []  # the IBUF base row of every group that loads IBUF
    for group in "\n".join(bundle.lines).split("SYNC_INST SYSTOLIC_ARRAY, START")[1:]:
        lines = group.splitlines()
        if any(ln.startswith("LD_ST LD, BUFFER, IBUF") for ln in lines):
            base = [decode(word_of(ln)).fields["BASE_ADDR"] for ln in lines
                    if ln.startswith("SET_BASE_ADDR LOW, IMEM, IBUF")]
            bases.append(base[0] if base else 0)
    assert len(bases) > 4 and set(bases) == {0, half}
    assert all(a != b for a, b in zip(bases, bases[1:], strict=False))


def test_interleaved_layers_share_the_buffers_and_alternate_groups(tiny_cnn):
    model, feeds = tiny_cnn
    bundle, result, want, _ = run_model(model, feeds, "4x4")
    assert mismatches(result.outputs, want) == dict.fromkeys(want, 0)
    shared = [m for m in bundle.layers if m["tiling"].get("interleaved_share")]
    assert len(shared) >= 2, "the SIMD-bound residual layer runs interleaved with its neighbours"
    assert any(len(m["group_ranges"]) > 1 for m in shared)  # their groups alternate in the program
    for m in shared:  # each layer's groups, and only those, in its per-layer listing
        assert len(bundle.layer_lines(m)) == sum(b - a + 1 for a, b in m["instruction_ranges"])


def test_requantization_is_the_simd_sequence_of_the_spec(tiny_cnn):
    model, feeds = tiny_cnn
    bundle, *_ = run_model(model, feeds, "16x16")
    text = "\n".join(bundle.lines)
    seq = ["FXP32_TO_FP32 VMEM1", "MUL VMEM1", "MAX VMEM1", "MIN VMEM1", "FP32_TO_FXP32 VMEM1", "DTYPE_CFG 32FXP"]
    pos = [text.find(s) for s in seq]
    assert -1 not in pos and pos == sorted(pos)
