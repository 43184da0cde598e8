"""The built-in model zoo: valid float ONNX, seeded, sized as documented, with realistic BN statistics."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from genesys.compiler import models as M
from genesys.compiler.reference import ort_reference
from genesys.errors import GenesysError

SMALL = {"resnet18": 32, "mobilenetv2": 32, "mlp": 12}


def test_list_models():
    assert M.list_models() == ["resnet50", "resnet18", "mobilenetv2", "mlp"]


@pytest.mark.parametrize("name", list(SMALL))
def test_small_variant_is_valid_and_runs(name):
    m = M.get_model(name, SMALL[name])
    onnx.checker.check_model(m, full_check=True)
    assert m.ir_version == 10 and m.opset_import[0].version == 13
    (inp,) = m.graph.input
    shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    (y,) = ort_reference(m, {inp.name: x}).values()
    assert y.shape == ((1, 10) if name == "mlp" else (1, 1000))
    assert np.all(np.isfinite(y)) and 0.05 < y.std() < 50


def test_seeds_and_resolutions():
    a, b, c = M.get_model("mlp", seed=0), M.get_model("mlp", seed=0), M.get_model("mlp", seed=1)
    assert a.SerializeToString() == b.SerializeToString() != c.SerializeToString()
    # the weights of a CNN do not depend on the resolution: a reduced variant is the same network
    w32 = {i.name: numpy_helper.to_array(i) for i in M.get_model("mobilenetv2", 32).graph.initializer}
    w64 = {i.name: numpy_helper.to_array(i) for i in M.get_model("mobilenetv2", 64).graph.initializer}
    assert w32.keys() == w64.keys() and all(np.array_equal(w32[k], w64[k]) for k in w32)


def test_macs_at_full_size():
    """Multiply-accumulates per inference at the default resolution (the figures of the report)."""
    assert M.macs(M.get_model("resnet18")) == 1_814_073_344
    assert M.macs(M.get_model("mobilenetv2")) == 300_774_272
    assert M.macs(M.get_model("mlp")) == 28 * 28 * 512 + 512 * 256 + 256 * 10


def test_retargeted_model_equals_a_direct_build():
    """get_model builds a CNN once (at the calibration size) and retargets it: same as building directly."""
    direct = M.MODELS["mobilenetv2"].build(96, 0)
    assert M.get_model("mobilenetv2", 96).SerializeToString() == direct.SerializeToString()


@pytest.mark.slow
def test_resnet50_full_size():
    m = M.get_model("resnet50")
    assert M.macs(m) == 4_089_184_256
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("Conv") == 53 and ops.count("BatchNormalization") == 53 and ops.count("Add") == 16
    assert ops.count("Relu") == 49 and "Softmax" not in ops and "Sum" not in ops


@pytest.mark.slow
def test_resnet50_reduced_follows_the_light_topology():
    src = onnx.load(M._LIGHT_RESNET50)
    m = M.get_model("resnet50", 32)
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    src_convs = [n for n in src.graph.node if n.op_type == "Conv"]
    assert len(convs) == len(src_convs) == 53
    shape = {i.name: tuple(numpy_helper.to_array(i)) for i in src.graph.initializer if i.name.endswith("__SHAPE")}
    weights = {i.name: i.dims for i in m.graph.initializer}
    for ours, theirs in zip(convs, src_convs, strict=True):
        assert tuple(weights[ours.input[1]]) == shape[theirs.input[1] + "__SHAPE"]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in theirs.attribute}
        mine = {a.name: onnx.helper.get_attribute_value(a) for a in ours.attribute}
        assert mine["strides"] == attrs["strides"] and mine["pads"] == attrs.get("pads", [0, 0, 0, 0])
    pool = next(n for n in m.graph.node if n.op_type == "AveragePool")
    assert onnx.helper.get_attribute_value(pool.attribute[0]) == [1, 1]  # 32 / 32: the whole final map


def test_bn_statistics_match_the_activations():
    """Running mean/variance are what the BN's input really has on fresh N(0, 1) images."""
    m = M.get_model("resnet18", 64)
    bns = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    probe = onnx.ModelProto()
    probe.CopyFrom(m)
    del probe.graph.output[:]
    for n in bns:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(n.input[0], onnx.TensorProto.FLOAT, None))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    rng = np.random.default_rng(123)
    runs = [ort_reference(probe, {"input": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}) for _ in range(4)]
    for n in bns:
        v = np.concatenate([r[n.input[0]] for r in runs])
        ratio = v.var(axis=(0, 2, 3)) / inits[n.input[4]]
        assert 0.5 < np.median(ratio) < 2.5, (n.name, np.median(ratio))
        err = np.abs(v.mean(axis=(0, 2, 3)) - inits[n.input[3]]) / np.sqrt(inits[n.input[4]])
        assert np.median(err) < 0.5, (n.name, np.median(err))


def test_bad_requests():
    with pytest.raises(GenesysError, match="unknown model 'vgg'; built-in models: resnet50, resnet18"):
        M.get_model("vgg")
    with pytest.raises(GenesysError, match="resolution 40 must be a multiple of 32"):
        M.get_model("resnet18", 40)
