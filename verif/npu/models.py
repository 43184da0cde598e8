"""Small float ONNX models for the system tests, built with onnx.helper and quantized to int8 QDQ by
genesys.compiler.quantize (ONNX Runtime's static quantizer), so they go through the same front end as user
models. Shapes follow the array (ARRAY_N rows, ARRAY_M columns): channel counts are chosen to give full and
partial tiles.

    model, feeds = single_op("conv", arch)      # one op: conv, conv_clip, gemm, relu, clip, add, maxpool, avgpool, gap
    model, feeds = small_cnn(arch)              # stem conv, 3x3/1x1 convs, residual add, max pool, GAP, Gemm
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from genesys.arch import Arch

OPSET, IR_VERSION = 13, 10
SINGLE_OPS = ("conv", "conv_clip", "gemm", "relu", "clip", "add", "maxpool", "avgpool", "gap")


class _G:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.feeds: dict[str, np.ndarray] = {}
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}{self.n}"

    def input(self, shape) -> str:
        name = f"x{len(self.inputs)}"
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        self.feeds[name] = self.rng.normal(0, 1, size=shape).astype(np.float32)
        return name

    def const(self, value, base: str = "c") -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, ins: list[str], **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], name=out + "_n", **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1, act: str | None = "relu") -> str:
        w = self.rng.normal(0, (2.0 / (cin // group * k * k)) ** 0.5, (cout, cin // group, k, k))
        b = self.rng.normal(0, 0.1, cout)
        y = self.node("Conv", [x, self.const(w, "w"), self.const(b, "b")], kernel_shape=[k, k], strides=[stride] * 2,
                      pads=[k // 2] * 4, group=group)
        return self.act(y, act)

    def act(self, y: str, act: str | None) -> str:
        if act == "relu":
            return self.node("Relu", [y])
        if act == "clip":
            return self.node("Clip", [y, self.const(np.float32(0), "lo"), self.const(np.float32(6), "hi")])
        return y

    def gemm(self, x: str, k: int, n: int) -> str:
        w = self.rng.normal(0, (1.0 / k) ** 0.5, (n, k))
        return self.node("Gemm", [x, self.const(w, "w"), self.const(self.rng.normal(0, 0.1, n), "b")], transB=1)

    def model(self, y: str, name: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, self.inputs, [helper.make_tensor_value_info(y, TensorProto.FLOAT, None)],
                                  self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
        return onnx.shape_inference.infer_shapes(m, strict_mode=True)


def _float_single_op(op: str, arch: Arch, seed: int) -> tuple[onnx.ModelProto, dict]:
    n, m = arch.ARRAY_N, arch.ARRAY_M
    g = _G(seed)
    c = max(3, n)
    if op == "conv":      # a full row tile of input channels, a partial column tile of output channels
        y = g.conv(g.input((1, c, 6, 6)), c, m + max(1, m // 2), 3, act="relu")
    elif op == "conv_clip":  # depthwise 3x3 stride 2 with ReLU6 (Clip)
        y = g.conv(g.input((1, c, 7, 7)), c, c, 3, stride=2, group=c, act="clip")
    elif op == "gemm":
        y = g.gemm(g.input((1, 2 * n + 3)), 2 * n + 3, m + 1)
    elif op == "relu":
        y = g.act(g.input((1, c, 4, 4)), "relu")
    elif op == "clip":
        y = g.act(g.input((1, c, 4, 4)), "clip")
    elif op == "add":
        y = g.node("Add", [g.input((1, c, 4, 4)), g.input((1, c, 4, 4))])
    elif op == "maxpool":
        y = g.node("MaxPool", [g.input((1, c, 7, 7))], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    elif op == "avgpool":
        y = g.node("AveragePool", [g.input((1, c, 6, 6))], kernel_shape=[2, 2], strides=[2, 2])
    elif op == "gap":
        y = g.node("GlobalAveragePool", [g.input((1, c, 4, 4))])
    else:
        raise ValueError(f"unknown single op {op!r}; choose one of {', '.join(SINGLE_OPS)}")
    return g.model(y, op), g.feeds


def _float_small_cnn(arch: Arch, seed: int) -> tuple[onnx.ModelProto, dict]:
    g = _G(seed)
    x = g.conv(g.input((1, 3, 16, 16)), 3, 8, 3, stride=2)           # packed RGB stem, 16x16 -> 8x8
    y = g.conv(g.conv(x, 8, 8, 3), 8, 8, 1, act=None)
    r = g.act(g.node("Add", [y, x]), "relu")                          # residual (fused into the conv)
    p = g.node("MaxPool", [r], kernel_shape=[2, 2], strides=[2, 2])   # 8x8 -> 4x4
    z = g.conv(p, 8, 12, 3, act="clip")
    a = g.node("GlobalAveragePool", [z])
    f = g.node("Flatten", [a], axis=1)
    return g.model(g.gemm(f, 12, 10), "small_cnn"), g.feeds


def _quantized(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    from genesys.compiler.quantize import quantize_model
    return quantize_model(model, samples=4, seed=seed)


def _qparams(lo: float, hi: float) -> tuple[float, int]:
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-3) / 255
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def _qdq_simd_op(op: str, arch: Arch, seed: int) -> tuple[onnx.ModelProto, dict]:
    """x -> Q -> DQ -> op -> Q -> DQ written by hand, as ONNX Runtime's quantizer writes it for the ops it
    quantizes (it leaves a lone Relu, Clip or pool in float): quantization parameters from the value ranges."""
    g = _G(seed)
    c = max(3, arch.ARRAY_N)
    shape = {"maxpool": (1, c, 7, 7), "avgpool": (1, c, 6, 6)}.get(op, (1, c, 4, 4))

    def qdq(t: str, scale: float, zp: int) -> str:
        s = g.const(np.float32(scale), "s")
        z = g.name("zp")
        g.inits.append(numpy_helper.from_array(np.array(zp, np.int8), z))
        return g.node("DequantizeLinear", [g.node("QuantizeLinear", [t, s, z]), s, z])

    ranges, ins = [], []
    for _ in range(2 if op == "add" else 1):
        x = g.input(shape)
        g.feeds[x] = g.feeds[x] * 2.0
        lo, hi = float(g.feeds[x].min()), float(g.feeds[x].max())
        ranges.append((lo, hi))
        ins.append(qdq(x, *_qparams(lo, hi)))
    lo, hi = ranges[0]
    if op in ("relu", "clip"):
        y = g.act(ins[0], op)
        out = _qparams(0.0, min(hi, 6.0) if op == "clip" else hi)
    elif op == "add":
        y = g.node("Add", ins)
        out = _qparams(lo + ranges[1][0], hi + ranges[1][1])
    elif op == "maxpool":  # the output shares the input's parameters (what ORT's quantizer writes)
        y = g.node("MaxPool", ins, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        out = _qparams(lo, hi)
    elif op == "avgpool":
        y = g.node("AveragePool", ins, kernel_shape=[2, 2], strides=[2, 2])
        out = _qparams(0.8 * lo, 0.8 * hi)
    elif op == "gap":
        y = g.node("GlobalAveragePool", ins)
        out = _qparams(0.5 * lo, 0.5 * hi)
    else:
        raise ValueError(op)
    return g.model(qdq(y, *out), op), g.feeds


HAND_QDQ = ("relu", "clip", "add", "maxpool", "avgpool", "gap")


def single_op(op: str, arch: Arch, seed: int = 0) -> tuple[onnx.ModelProto, dict]:
    if op in HAND_QDQ:
        return _qdq_simd_op(op, arch, seed)
    model, feeds = _float_single_op(op, arch, seed)
    return _quantized(model, seed), feeds


def small_cnn(arch: Arch, seed: int = 0) -> tuple[onnx.ModelProto, dict]:
    model, feeds = _float_small_cnn(arch, seed)
    return _quantized(model, seed), feeds


def onnx_ops(model: onnx.ModelProto) -> list[str]:
    """The model's compute ops (Q/DQ and shape ops left out), sorted, once each."""
    skip = {"QuantizeLinear", "DequantizeLinear", "Flatten", "Reshape"}
    return sorted({n.op_type for n in model.graph.node if n.op_type not in skip})
