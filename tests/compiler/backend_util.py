"""Helpers of the back-end tests: compile a QDQ case or model, run it on the simulator, compare."""

from __future__ import annotations

import functools

import numpy as np
import onnx

from genesys.compiler.compile import compile_model
from genesys.compiler.pipeline import frontend
from genesys.compiler.reference import interpret, ort_reference
from genesys.runtime import Runtime

CONFIGS = ("4x4", "8x4", "16x16")


def run_model(model, feeds: dict, config: str, options=None):
    """(bundle, RunResult, interpret outputs, ONNX Runtime outputs) of a quantized ONNX model."""
    graph = frontend(model)
    bundle = compile_model(graph, config, options)
    result = Runtime(config).run(bundle, feeds)
    return bundle, result, interpret(graph, feeds), ort_reference(model, feeds)


def mismatches(got: dict, want: dict) -> dict[str, int]:
    return {k: int(np.count_nonzero(np.asarray(got[k]) != np.asarray(w))) for k, w in want.items()}


@functools.cache
def _tiny_cnn() -> tuple[bytes, dict]:
    """A small float CNN with every kind of layer, quantized by ONNX Runtime: the RGB stem (packed input),
    3x3 and 1x1 convolutions, a residual add (fused), a depthwise convolution with ReLU6, max pool, concat,
    a standalone add, global average pool, flatten and two Gemms."""
    from onnx import TensorProto, helper, numpy_helper

    from genesys.compiler.quantize import quantize_model

    rng = np.random.default_rng(7)
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def conv(x, name, cin, cout, k, stride=1, group=1, act="Relu"):
        w = rng.normal(0, (2.0 / (cin // group * k * k)) ** 0.5, (cout, cin // group, k, k))
        nodes.append(helper.make_node("Conv", [x, const(f"{name}.w", w), const(f"{name}.b", rng.normal(0, 0.1, cout))],
                                      [f"{name}.y"], name=name, kernel_shape=[k, k], strides=[stride] * 2,
                                      pads=[k // 2] * 4, group=group))
        y = f"{name}.y"
        if act == "Relu":
            nodes.append(helper.make_node("Relu", [y], [f"{name}.r"], name=f"{name}_relu"))
            return f"{name}.r"
        if act == "Clip":
            nodes.append(helper.make_node("Clip", [y, const(f"{name}.lo", 0.0), const(f"{name}.hi", 6.0)],
                                          [f"{name}.r"], name=f"{name}_clip"))
            return f"{name}.r"
        return y

    x = conv("input", "stem", 3, 8, 3, 2)                       # 16x16 -> 8x8, packed RGB input
    y = conv(conv(x, "c1", 8, 8, 3), "c2", 8, 8, 1, act=None)
    nodes.append(helper.make_node("Add", [y, x], ["res"], name="res_add"))
    nodes.append(helper.make_node("Relu", ["res"], ["res.r"], name="res_relu"))
    d = conv("res.r", "dw", 8, 8, 3, group=8, act="Clip")
    nodes.append(helper.make_node("MaxPool", [d], ["mp"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
    e = conv("mp", "c3", 8, 12, 1)
    nodes.append(helper.make_node("Concat", ["mp", e], ["cat"], name="cat", axis=1))
    f = conv("cat", "c4", 20, 20, 3, act=None)
    nodes.append(helper.make_node("Add", ["cat", f], ["sum"], name="add2"))
    nodes.append(helper.make_node("GlobalAveragePool", ["sum"], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", const("fc1.w", rng.normal(0, 0.3, (16, 20))),
                                           const("fc1.b", rng.normal(0, 0.1, 16))], ["fc1"], name="fc1", transB=1))
    nodes.append(helper.make_node("Relu", ["fc1"], ["fc1.r"], name="fc1_relu"))
    nodes.append(helper.make_node("Gemm", ["fc1.r", const("fc2.w", rng.normal(0, 0.3, (16, 10))),
                                           const("fc2.b", rng.normal(0, 0.1, 10))], ["logits"], name="fc2"))
    graph = helper.make_graph(nodes, "tiny_cnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    qdq = quantize_model(model, samples=4, seed=0)
    feeds = {"input": np.random.default_rng(11).normal(0, 1, (1, 3, 16, 16)).astype(np.float32)}
    return qdq.SerializeToString(), feeds


def tiny_cnn_model() -> tuple[onnx.ModelProto, dict]:
    """A fresh copy of the tiny CNN (QDQ ModelProto) and its input."""
    data, feeds = _tiny_cnn()
    model = onnx.ModelProto()
    model.ParseFromString(data)
    return model, dict(feeds)
