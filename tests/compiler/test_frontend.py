"""The front end: pipeline structure, what each pass produces, and the errors bad models get."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from genesys.compiler import ir, pipeline
from genesys.compiler.frontend import passes as P
from genesys.compiler.pipeline import clean_float, frontend
from genesys.compiler.reference import interpret, ort_reference
from genesys.errors import GenesysError

from . import qdq_cases as Q
from .ort_compare import compare


def _rng(seed=0):
    return np.random.default_rng(seed)


def _conv_case(**kw) -> Q.Case:
    return Q.conv(_rng(), 4, 6, (6, 6), 3, 1, (1, 1, 1, 1), **kw)


def _node(model: onnx.ModelProto, op: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == op)


def _strip_shapes(model: onnx.ModelProto) -> None:
    """Forget inferred shapes (after an edit that changes them)."""
    del model.graph.value_info[:]
    for o in model.graph.output:
        o.type.tensor_type.ClearField("shape")


def _set_attr(node: onnx.NodeProto, name: str, value) -> None:
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(helper.make_attribute(name, value))


# ----------------------------------------------------------------------------------------------------
# Structure.


def test_passes_listing_and_order():
    names = [n for n, _ in pipeline.passes()]
    assert names == ["fold_constants", "fold_batchnorm", "remove_dead", "import_qlinear", "recognise_qdq",
                     "fuse_activations", "normalise_reshape", "remove_dead"]
    assert all(desc for _, desc in pipeline.passes())


def test_every_stage_is_verified_and_dumped():
    case = _conv_case(act="relu")
    stages = []
    g = frontend(case.model, dump=lambda stage, graph: stages.append((stage, len(graph.nodes))))
    assert [s for s, _ in stages] == ["import", *(n for n, _ in pipeline.PASSES)]
    ir.verify(g)
    assert {n.op for n in g.nodes} == {"Quantize", "QConv", "Dequantize"}


def test_a_pass_that_breaks_the_graph_is_caught(monkeypatch):
    def drop_first(g, ctx):
        g.nodes = g.nodes[1:]
        return g

    monkeypatch.setattr(pipeline, "PASSES", (*pipeline.PASSES, ("drop_first", drop_first)))
    with pytest.raises(ir.IRError, match=r"after drop_first"):
        frontend(_conv_case().model)


def test_resnet18_lowers_to_the_expected_ops():
    from .zoo import quantized

    g = frontend(quantized("resnet18", 32))
    ops = [n.op for n in g.nodes]
    assert ops.count("QConv") == 20 and ops.count("QAdd") == 8 and ops.count("QGemm") == 1
    assert ops[0] == "Quantize" and ops[-1] == "Dequantize"
    assert {"MaxPool", "QGlobalAveragePool", "Reshape"} <= set(ops)
    assert all(t.dtype in ("int8", "int32", "float32") for t in g.tensors.values())
    conv = next(n for n in g.nodes if n.op == "QConv")
    w = g.tensors[conv.inputs[1]]
    assert w.quant.per_channel and w.quant.axis == 0 and not w.quant.zero_point.any()
    assert conv.attrs["multiplier"].dtype == np.float32 and conv.attrs["multiplier"].shape == (w.shape[0],)
    assert conv.attrs["pads"] == [3, 3, 3, 3] and conv.attrs["strides"] == [2, 2]


def test_fused_clip_bounds_are_the_quantized_images_of_its_limits():
    case = _conv_case(act=(-1.0, 0.5))
    g = frontend(case.model)
    conv = next(n for n in g.nodes if n.op == "QConv")
    q = g.tensors[conv.outputs[0]].quant
    s, zp = np.float32(q.scale), int(q.zero_point)
    assert conv.attrs["act_min"] == int(np.clip(np.rint(np.float32(-1.0) / s) + zp, -128, 127))
    assert conv.attrs["act_max"] == int(np.clip(np.rint(np.float32(0.5) / s) + zp, -128, 127))
    assert not any(n.op == "QClamp" for n in g.nodes)


def test_multiplier_is_float32_of_float32_product_over_output_scale():
    case = _conv_case()
    g = frontend(case.model)
    conv = next(n for n in g.nodes if n.op == "QConv")
    sx = np.float32(g.tensors[conv.inputs[0]].quant.scale)
    sw = g.tensors[conv.inputs[1]].quant.scale.astype(np.float32)
    sy = np.float32(g.tensors[conv.outputs[0]].quant.scale)
    assert np.array_equal(conv.attrs["multiplier"], (sx * sw).astype(np.float32) / sy)
    bias = g.tensors[conv.inputs[2]]
    assert bias.dtype == "int32" and np.array_equal(bias.quant.scale, (sx * sw).astype(np.float32))


def _standalone_relu_after_conv(same: bool) -> onnx.ModelProto:
    """DQ → Conv → Q → DQ → Relu → Q: the QDQ form of a Relu the quantizer did not fuse."""
    b = Q._B(_rng(3))
    x, xr, sx, _ = b.act_input((1, 4, 6, 6))
    w, wr, sw = b.weight((5, 4, 3, 3), 0)
    from genesys.compiler.reference import conv2d

    real = conv2d(xr.astype(np.float64), wr, [1, 1], [1] * 4, [1, 1], 1)
    y = b.output(b.node("Conv", [x, w], pads=[1] * 4), real)
    s, z = b.last_q
    if not same:  # other parameters, fitted to the whole range: the Relu's 0 is not the saturation point
        b.output(b.node("Relu", [y]), real * 1.3)
    else:
        out = b.node("DequantizeLinear", [b.node("QuantizeLinear", [b.node("Relu", [y]), s, z]), s, z])
        b.outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]
    return b.case(True)


def test_fuse_activations_folds_a_same_parameter_relu_into_the_conv():
    case = _standalone_relu_after_conv(same=True)
    g = frontend(case.model)
    assert [n.op for n in g.nodes] == ["Quantize", "QConv", "Dequantize"]
    conv = g.nodes[1]
    assert conv.attrs["act_min"] == int(g.tensors[conv.outputs[0]].quant.zero_point)
    cmp = compare(case.model, g, case.feeds)
    assert not cmp.unexplained and cmp.n_flips == 0 and cmp.outputs[g.outputs[0]][0] == 0


def test_standalone_relu_with_new_parameters_requantizes_then_clamps():
    case = _standalone_relu_after_conv(same=False)
    g = frontend(case.model)
    assert [n.op for n in g.nodes] == ["Quantize", "QConv", "QConcat", "QClamp", "Dequantize"]
    cmp = compare(case.model, g, case.feeds)
    assert not cmp.unexplained and cmp.outputs[g.outputs[0]][0] == 0


def test_fold_constants_resolves_computed_shapes_and_normalise_reshape_merges_chains():
    b = Q._B(_rng(4))
    x, _, _, _ = b.act_input((1, 3, 4, 4))
    c1 = b.node("Constant", [], value=numpy_helper.from_array(np.array([1], np.int64)))
    c2 = b.node("Constant", [], value=numpy_helper.from_array(np.array([-1], np.int64)))
    flat = b.node("Reshape", [b.node("Flatten", [x], axis=1), b.node("Concat", [c1, c2], axis=0)])
    y = b.node("Reshape", [flat, b.const(np.array([1, 3, 16], np.int64))])
    b.same_params_output(y)
    case = b.case(False)
    g = frontend(case.model)
    assert [n.op for n in g.nodes] == ["Quantize", "Reshape", "Dequantize"]
    assert tuple(g.nodes[1].attrs["shape"]) == (1, 3, 16)
    out = g.outputs[0]
    assert np.array_equal(interpret(g, case.feeds)[out], ort_reference(case.model, case.feeds)[out])


def test_flatten_of_the_float_input_moves_after_the_quantize():
    from .zoo import quantized

    g = frontend(quantized("mlp"))
    assert [n.op for n in g.nodes[:2]] == ["Quantize", "Reshape"]
    assert g.tensors[g.nodes[0].outputs[0]].shape == (1, 1, 28, 28)


def test_uint8_activations_are_shifted_to_int8():
    b = Q._B(_rng(5))
    x, v = b.float_input((1, 3, 5, 5))
    a = b.qdq(x, 0.02, 128, dtype=np.uint8)
    w, _, _ = b.weight((4, 3, 3, 3), 0)
    y = b.node("Conv", [a, w], pads=[1] * 4)
    yq = b.qdq(y, 0.05, 100, dtype=np.uint8)
    b.outputs = [helper.make_tensor_value_info(yq, TensorProto.FLOAT, None)]
    case = b.case(True)
    g = frontend(case.model)
    q = g.tensors[g.nodes[0].outputs[0]].quant
    assert q.dtype == "int8" and int(q.zero_point) == 0
    cmp = compare(case.model, g, case.feeds)
    assert not cmp.unexplained and cmp.outputs[g.outputs[0]][0] == cmp.n_flips


def test_fold_batchnorm_keeps_the_float_function():
    from genesys.compiler.models import get_model

    model = get_model("resnet18", 32)
    cleaned = clean_float(model)
    assert not any(n.op_type == "BatchNormalization" for n in cleaned.graph.node)
    assert sum(n.op_type == "Conv" for n in cleaned.graph.node) == 20
    x = {"input": _rng(6).standard_normal((1, 3, 32, 32)).astype(np.float32)}
    a, b = ort_reference(model, x), ort_reference(cleaned, x)
    (name,) = a
    np.testing.assert_allclose(b[name], a[name], rtol=1e-4, atol=1e-4)


def test_remove_dead_drops_unused_branches():
    case = _conv_case()
    m = case.model
    dq = next(n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0].startswith("quantize"))
    m.graph.node.append(helper.make_node("Softmax", [dq.output[0]], ["unused"], name="dead_softmax"))
    g = frontend(m)  # the unsupported Softmax reaches no output, so it never matters
    assert "unused" not in g.tensors


# ----------------------------------------------------------------------------------------------------
# Errors: GenesysError naming the file, node, op, attribute.


def test_missing_file(tmp_path):
    with pytest.raises(GenesysError, match="model file .*nope.onnx' not found"):
        frontend(tmp_path / "nope.onnx")


def test_not_an_onnx_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_text("this is not a protobuf\n" * 3)
    with pytest.raises(GenesysError, match="bad.onnx' is not an ONNX model"):
        frontend(bad)


def test_float_model_asks_for_quantization():
    from genesys.compiler.models import get_model

    with pytest.raises(GenesysError, match="float model .*genesys quantize"):
        frontend(get_model("mlp"))


def test_unsupported_op_names_node_op_and_supported_list():
    b = Q._B(_rng())
    x, xr, _, _ = b.act_input((1, 3, 4, 4))
    b.nodes.append(helper.make_node("Sigmoid", [x], ["sig"], name="my_sigmoid"))
    b.output("sig", xr)
    with pytest.raises(GenesysError, match=r"node 'my_sigmoid': unsupported op type 'Sigmoid'; supported ONNX ops: "
                                           r"Add, AveragePool, .*Conv.*QLinearConv"):
        frontend(b.case(False).model)


@pytest.mark.parametrize("attr,value,match", [
    ("auto_pad", "SAME_UPPER", r"'Conv_\d+' \(Conv\): attribute auto_pad='SAME_UPPER'"),
    ("strides", [0, 1], r"Conv_\d+.*strides must only contain positive"),
    ("dilations", [1, 0], r"Conv_\d+.*dilations must only contain positive"),
    ("group", 3, r"'Conv_\d+' \(Conv\): attribute group=3"),
])
def test_bad_conv_attributes(attr, value, match):
    case = _conv_case()
    conv = _node(case.model, "Conv")
    if attr == "auto_pad":
        conv.attribute.remove(next(a for a in conv.attribute if a.name == "pads"))
    _set_attr(conv, attr, value)
    _strip_shapes(case.model)
    with pytest.raises(GenesysError, match=match):
        frontend(case.model)


@pytest.mark.parametrize("attr,value", [("alpha", 2.0), ("beta", 0.5)])
def test_bad_gemm_attributes(attr, value):
    case = Q.gemm(_rng(), 8, 4)
    gemm = _node(case.model, "Gemm")
    _set_attr(gemm, attr, value)
    with pytest.raises(GenesysError, match=rf"'{gemm.name}' \(Gemm\): attribute {attr}={value} is not supported"):
        frontend(case.model)


def test_maxpool_storage_order_is_rejected():
    case = Q.maxpool(_rng(), 3, (6, 6), 2, 2, (0, 0, 0, 0))
    mp = _node(case.model, "MaxPool")
    _set_attr(mp, "storage_order", 1)
    with pytest.raises(GenesysError, match=rf"'{mp.name}' \(MaxPool\): attribute storage_order=1"):
        frontend(case.model)


def test_unfoldable_weight_zero_point_is_rejected():
    case = _conv_case()
    m = case.model
    wdq = next(n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0].startswith("w"))
    zp = next(i for i in m.graph.initializer if i.name == wdq.input[2])
    zp.CopyFrom(numpy_helper.from_array(np.full(numpy_helper.to_array(zp).shape, 100, np.int8), zp.name))
    with pytest.raises(GenesysError, match=rf"constant '{wdq.input[0]}' minus its zero point does not fit int8"):
        frontend(m)


def test_per_channel_activation_is_rejected():
    b = Q._B(_rng())
    x, _ = b.float_input((1, 3, 4, 4))
    s = b.const(np.array([0.1, 0.2, 0.3], np.float32))
    z = b.const(np.zeros(3, np.int8))
    q = b.node("QuantizeLinear", [x, s, z], axis=1)
    b.outputs = [helper.make_tensor_value_info(b.node("DequantizeLinear", [q, s, z], axis=1), TensorProto.FLOAT, None)]
    with pytest.raises(GenesysError, match="per-axis quantization of an activation"):
        frontend(b.case(False).model)


def test_batchnorm_in_a_quantized_graph_is_rejected():
    b = Q._B(_rng())
    x, xr, _, _ = b.act_input((1, 3, 4, 4))
    ones, zeros = b.const(np.ones(3, np.float32)), b.const(np.zeros(3, np.float32))
    y = b.node("BatchNormalization", [x, ones, zeros, zeros, ones])
    b.output(y, xr)
    with pytest.raises(GenesysError, match="BatchNormalization is only supported folded"):
        frontend(b.case(False).model)


def test_unquantized_float_output_is_rejected():
    b = Q._B(_rng())
    x, _, _, _ = b.act_input((1, 3, 4, 4))
    w, _, _ = b.weight((2, 3, 1, 1), 0)
    y = b.node("Conv", [x, w])
    b.outputs = [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 2, 4, 4])]
    with pytest.raises(GenesysError, match=r"graph output 'conv\d+' is the float output of node 'Conv_\d+' \(Conv\)"):
        frontend(b.case(True).model)


def test_old_opset_is_rejected():
    case = _conv_case()
    case.model.opset_import[0].version = 9
    with pytest.raises(GenesysError, match="opset 9; the compiler needs opset 10"):
        frontend(case.model)


def test_dynamic_and_batched_inputs():
    case = _conv_case()
    dims = case.model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param = "N"  # a symbolic batch is taken as 1
    frontend(case.model)
    dims[2].dim_param = "H"
    with pytest.raises(GenesysError, match="dynamic dimension 2 .'H'."):
        frontend(case.model)
    dims[2].dim_value = 6
    dims[0].dim_value = 2
    _strip_shapes(case.model)
    with pytest.raises(GenesysError, match="batch 2; the accelerator runs batch 1"):
        frontend(case.model)


def test_foreign_domain_is_rejected():
    case = _conv_case()
    case.model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(GenesysError, match="operator domain 'com.microsoft'"):
        frontend(case.model)


def test_verify_names_the_stage_on_mixed_graphs():
    case = _conv_case()
    from genesys.compiler.frontend.onnx_loader import import_model, load

    g = import_model(load(case.model))
    g.nodes = g.nodes[::-1]
    with pytest.raises(ir.IRError, match=r"is not produced before it \(after here\)"):
        P.verify(g, "here")


def test_float_output_after_an_int8_domain_move():
    b = Q._B(_rng(7))
    x, _, _, _ = b.act_input((1, 3, 4, 4))
    y = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    b.outputs = [helper.make_tensor_value_info(y, TensorProto.FLOAT, None)]
    case = b.case(False)
    g = frontend(case.model)
    assert [n.op for n in g.nodes] == ["Quantize", "MaxPool", "Dequantize"] and g.outputs == [y]
    assert np.array_equal(interpret(g, case.feeds)[y], ort_reference(case.model, case.feeds)[y])


def test_format_graph_lists_every_node():
    case = _conv_case(act="relu")
    g = frontend(case.model)
    text = pipeline.format_graph(g, "remove_dead")
    assert text.splitlines()[0] == "graph case (after remove_dead)"
    assert sum(line.startswith("  Q") or line.startswith("  D") for line in text.splitlines()) == len(g.nodes)
    assert "QConv" in text and "multiplier=" in text and "s[6] axis=0 const" in text
