"""Every supported op alone: interpret(frontend(qdq_model)) against ONNX Runtime running the model as written.

Ops ORT evaluates exactly in the integer pipeline's terms (Add, Mul, pools by max, Concat, Relu/Clip, reshapes,
requantization, QLinearConv/QLinearMatMul, host-side Quantize/Dequantize) must match bit for bit. Ops ORT runs
in float (QDQ Conv, Gemm/MatMul, average pools) must match bit for bit except ±1 flips that `ort_compare`
proves are ORT's float rounding at a k + ½ tie; none occur with these seeds, and any that did would be
counted and named in the failure message of the exact-match assertion below.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import numpy_helper

from genesys.compiler.pipeline import frontend

from . import qdq_cases as Q
from .ort_compare import compare


def _cases():
    r = lambda seed: np.random.default_rng(seed)  # noqa: E731
    yield "conv_3x3_pad1", lambda: Q.conv(r(1), 3, 8, (9, 9), 3, 1, (1, 1, 1, 1))
    yield "conv_odd_channels_stride2_asym_pads", lambda: Q.conv(r(2), 5, 7, (11, 10), 3, 2, (0, 1, 1, 0))
    yield "conv_dilation2", lambda: Q.conv(r(3), 6, 9, (12, 12), 3, 1, (2, 2, 2, 2), dil=2)
    yield "conv_groups3", lambda: Q.conv(r(4), 6, 9, (8, 8), 3, 1, (1, 1, 1, 1), group=3)
    yield "conv_depthwise_stride2", lambda: Q.conv(r(5), 13, 13, (15, 15), 3, 2, (1, 1, 1, 1), group=13)
    yield "conv_depthwise_multiplier2", lambda: Q.conv(r(6), 4, 8, (7, 7), 3, 1, (1, 1, 1, 1), group=4)
    yield "conv_5x5_stride2", lambda: Q.conv(r(7), 3, 16, (17, 17), 5, 2, (2, 2, 2, 2))
    yield "conv_1x1_no_bias_per_tensor", lambda: Q.conv(r(8), 17, 3, (5, 5), 1, bias=False, per_channel=False)
    yield "conv_relu", lambda: Q.conv(r(9), 4, 5, (7, 7), 3, 1, (1, 1, 1, 1), act="relu")
    yield "conv_relu6", lambda: Q.conv(r(10), 4, 5, (7, 7), 3, 1, (1, 1, 1, 1), act=(0.0, 6.0))
    yield "conv_clip_narrow", lambda: Q.conv(r(11), 4, 5, (7, 7), 3, 1, (1, 1, 1, 1), act=(-1.0, 0.5))
    yield "conv_clip_negative", lambda: Q.conv(r(12), 4, 5, (7, 7), 3, 1, (1, 1, 1, 1), act=(-3.0, -0.25))
    yield "gemm_transB", lambda: Q.gemm(r(13), 33, 10)
    yield "gemm_relu", lambda: Q.gemm(r(14), 33, 10, trans_b=0, act="relu")
    yield "gemm_no_bias", lambda: Q.gemm(r(15), 20, 7, bias=False)
    yield "matmul", lambda: Q.gemm(r(16), 20, 7, trans_b=0, matmul=True)
    yield "add_different_scales", lambda: Q.binary(r(17), "Add", (1, 5, 6, 7))
    yield "add_relu", lambda: Q.binary(r(18), "Add", (1, 5, 6, 7), act="relu")
    yield "add_clip", lambda: Q.binary(r(19), "Add", (1, 3, 4, 4), act=(-0.5, 2.0))
    yield "mul", lambda: Q.binary(r(20), "Mul", (1, 5, 6, 7))
    yield "maxpool_3x3_s2_p1", lambda: Q.maxpool(r(21), 5, (9, 9), 3, 2, (1, 1, 1, 1))
    yield "maxpool_ceil_mode", lambda: Q.maxpool(r(22), 5, (9, 9), 2, 2, (0, 0, 0, 0), ceil_mode=1)
    yield "maxpool_dilated_asym_ceil", lambda: Q.maxpool(r(23), 5, (10, 11), 3, 2, (1, 0, 0, 1), dil=2, ceil_mode=1)
    yield "maxpool_requantized", lambda: Q.maxpool(r(24), 5, (9, 9), 3, 2, (1, 1, 1, 1), same_params=False)
    yield "avgpool_2x2_s2", lambda: Q.avgpool(r(25), 5, (8, 8), 2, 2, (0, 0, 0, 0))
    yield "avgpool_pad_exclude", lambda: Q.avgpool(r(26), 5, (8, 8), 3, 1, (1, 1, 1, 1))
    yield "avgpool_pad_include", lambda: Q.avgpool(r(27), 5, (8, 8), 3, 1, (1, 1, 1, 1), count_include_pad=1)
    yield "avgpool_ceil_exclude", lambda: Q.avgpool(r(28), 5, (8, 8), 3, 2, (1, 1, 1, 1), ceil_mode=1)
    yield "avgpool_ceil_include", lambda: Q.avgpool(r(29), 5, (8, 8), 3, 2, (1, 1, 1, 1), count_include_pad=1, ceil_mode=1)
    yield "avgpool_ceil_include_nopad", lambda: Q.avgpool(r(30), 5, (7, 7), 2, 2, (0, 0, 0, 0), 1, 1)
    yield "global_average_pool", lambda: Q.avgpool(r(31), 7, (5, 6), 0, 0, None, glob=True)
    yield "concat_channels_requantized", lambda: Q.concat(r(32), [(1, 3, 4, 4), (1, 5, 4, 4)], 1)
    yield "concat_three_axis2", lambda: Q.concat(r(33), [(1, 3, 4, 4), (1, 3, 2, 4), (1, 3, 1, 4)], 2)
    yield "relu_requantized", lambda: Q.activation(r(34), (1, 4, 5, 5), "relu")
    yield "relu_same_params", lambda: Q.activation(r(35), (1, 4, 5, 5), "relu", same_params=True)
    yield "clip_requantized", lambda: Q.activation(r(36), (1, 4, 5, 5), (-0.7, 1.3))
    yield "clip_same_params", lambda: Q.activation(r(37), (1, 4, 5, 5), (-0.7, 1.3), same_params=True)
    yield "flatten", lambda: Q.reshape(r(38), (1, 3, 4, 5), None, flatten_axis=1)
    yield "reshape_zero_and_minus_one", lambda: Q.reshape(r(39), (1, 3, 4, 5), [1, 0, -1, 2])
    yield "requantize", lambda: Q.requantize(r(40), (1, 3, 4, 5))
    yield "qlinearconv", lambda: Q.qlinear_conv(r(41), 5, 7, (9, 9), 3, 2, (1, 1, 1, 1))
    yield "qlinearconv_depthwise_uint8", lambda: Q.qlinear_conv(r(42), 6, 6, (9, 9), 3, 1, (1, 1, 1, 1), group=6, uint8=True)
    yield "qlinearmatmul", lambda: Q.qlinear_matmul(r(43), 40, 9)
    # power-of-two scales: ORT's float path is exact and k + ½ ties are frequent, so these pin the rounding
    # (half to even), the order of the float32 operations and the multiplier's rounding
    yield "ties_conv", lambda: Q.conv(r(44), 8, 8, (8, 8), 3, 1, (1, 1, 1, 1), pow2=True)
    yield "ties_depthwise_relu6", lambda: Q.conv(r(45), 8, 8, (8, 8), 3, 2, (1, 1, 1, 1), group=8, act=(0.0, 6.0), pow2=True)
    yield "ties_add", lambda: Q.binary(r(46), "Add", (1, 8, 8, 8), pow2=True)
    yield "ties_mul", lambda: Q.binary(r(47), "Mul", (1, 8, 8, 8), pow2=True)
    yield "ties_avgpool_2x2", lambda: Q.avgpool(r(48), 8, (8, 8), 2, 2, (0, 0, 0, 0), pow2=True)
    yield "ties_global_average_pool_4x4", lambda: Q.avgpool(r(49), 16, (4, 4), 0, 0, None, glob=True, pow2=True)
    yield "ties_quantize", lambda: Q.quantize_ties(r(50), (1, 4, 16, 16))


CASES = dict(_cases())


@pytest.mark.parametrize("name", list(CASES))
def test_op_matches_onnxruntime(name):
    case = CASES[name]()
    cmp = compare(case.model, frontend(case.model), case.feeds)
    assert cmp.elements > 0
    assert not cmp.unexplained, cmp.summary() + "\n" + "\n".join(cmp.unexplained)
    # single-op models: the output differs exactly where the one op flipped (zero with these seeds)
    (mismatch, size, _), = cmp.outputs.values()
    assert mismatch == cmp.n_flips == 0, cmp.summary()
    assert not case.float_path or cmp.tensors >= 2


def test_interpreter_rejects_wrong_inputs():
    from genesys.compiler.reference import interpret
    from genesys.errors import GenesysError

    case = CASES["conv_3x3_pad1"]()
    g = frontend(case.model)
    (name, x), = case.feeds.items()
    with pytest.raises(GenesysError, match=f"input '{name}' of graph"):
        interpret(g, {})
    with pytest.raises(GenesysError, match=r"has shape \[3, 9, 9\]"):
        interpret(g, {name: x[0]})


# uint8 activations with int8 weights: ONNX Runtime's U8S8 kernel on x86 without VNNI saturates pairs of
# products to int16 (VPMADDUBSW), so `ort_reference` hands it the same weights as uint8 (see
# `reference._exact_u8s8`); dense layers with full-range weights saturate often, depthwise ones never do.
def _uint8_cases():
    r = np.random.default_rng
    for seed in range(4):
        for w_uint8 in (False, True):
            for per_channel in (True, False):
                name = f"qlinearconv_u8x{'u8' if w_uint8 else 's8'}_{'per_channel' if per_channel else 'per_tensor'}_{seed}"
                yield name, lambda s=seed, wu=w_uint8, pc=per_channel: Q.qlinear_conv(
                    r(100 + s), 8 + s, 9, (7, 7), 3, 1 + s % 2, (1, 1, 1, 1), uint8=True, w_uint8=wu, per_channel=pc)
        yield f"qlinearconv_u8_1x1_{seed}", lambda s=seed: Q.qlinear_conv(r(110 + s), 32, 16, (5, 5), 1, uint8=True)
        yield f"qlinearconv_u8_groups2_{seed}", lambda s=seed: Q.qlinear_conv(r(120 + s), 8, 6, (6, 6), 3, 1, (1, 1, 1, 1),
                                                                               group=2, uint8=True)
        yield f"qlinearmatmul_u8_{seed}", lambda s=seed: Q.qlinear_matmul(r(130 + s), 64, 12, uint8=True)


UINT8_CASES = dict(_uint8_cases())


@pytest.mark.parametrize("name", list(UINT8_CASES))
def test_uint8_qlinear_matches_onnxruntime(name):
    case = UINT8_CASES[name]()
    cmp = compare(case.model, frontend(case.model), case.feeds)
    assert not cmp.unexplained, cmp.summary() + "\n" + "\n".join(cmp.unexplained)
    (mismatch, size, _), = cmp.outputs.values()
    assert size > 0 and mismatch == cmp.n_flips == 0, cmp.summary()


def test_ort_reference_gives_uint8_weights_to_u8s8_qlinear_ops():
    from genesys.compiler.reference import _exact_u8s8

    case = Q.qlinear_conv(np.random.default_rng(100), 8, 9, (7, 7), 3, 1, (1, 1, 1, 1), uint8=True)
    before = case.model.SerializeToString()
    fixed = _exact_u8s8(case.model)
    assert case.model.SerializeToString() == before  # the caller's model is untouched
    inits = {t.name: t for t in fixed.graph.initializer}
    (conv,) = [n for n in fixed.graph.node if n.op_type == "QLinearConv"]
    w, zw = (numpy_helper.to_array(inits[conv.input[i]]) for i in (3, 5))
    w0, zw0 = (numpy_helper.to_array({t.name: t for t in case.model.graph.initializer}[case.model.graph.node[1].input[i]])
               for i in (3, 5))
    assert w.dtype == zw.dtype == np.uint8
    assert np.array_equal(w.astype(np.int32) - zw.astype(np.int32).reshape(-1, 1, 1, 1),
                          w0.astype(np.int32) - zw0.astype(np.int32).reshape(-1, 1, 1, 1))
    int8 = Q.qlinear_conv(np.random.default_rng(1), 5, 7, (9, 9), 3)
    assert _exact_u8s8(int8.model) is int8.model  # int8 activations: ORT's kernel is exact, nothing to change
