"""Built-in networks: float ONNX models built in code with seeded random weights.

`get_model(name, resolution, seed)` returns a float `ModelProto` (opset 13, `ir_version=10`, which
ONNX Runtime 1.31 accepts). Weights are He-normal; BatchNormalization statistics are *realistic*: the
running mean/variance of every BN are the per-channel mean/variance its input really has on a seeded batch
of N(0, 1) images (the builder runs each op eagerly in numpy as it adds it), so activations stay normalised
through any depth and quantization ranges look like those of a trained net. The statistics are measured at
64×64, so the weights depend only on (name, seed), never on the resolution: a reduced CI variant is the
same network on a smaller image.

| name | topology | input |
| --- | --- | --- |
| resnet50 | the onnx wheel's `light_resnet50.onnx` graph (Conv/BN/Relu/Sum bottlenecks, MaxPool, AveragePool, Gemm) with its placeholder weights replaced; Sum becomes Add, the final Softmax is dropped (logits out) | 1×3×R×R |
| resnet18 | ResNet-18 (BasicBlocks 64-128-256-512, 1×1 stride-2 projections), GlobalAveragePool, Gemm 1000 | 1×3×R×R |
| mobilenetv2 | MobileNetV2 1.0 (inverted residuals, depthwise 3×3, ReLU6 as Clip(0, 6), linear bottlenecks), Gemm 1000 | 1×3×R×R |
| mlp | Flatten, Gemm 512, Relu, Gemm 256, Relu, Gemm 10 | 1×1×R×R (default R = 28) |
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from genesys.compiler.reference import conv2d, windows
from genesys.errors import GenesysError

OPSET = 13
IR_VERSION = 10  # ORT 1.31 refuses IR version 14 (onnx 1.23's default)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    build: Callable[[int, int], onnx.ModelProto]
    default_resolution: int
    min_resolution: int
    description: str


# ----------------------------------------------------------------------------------------------------
# A small graph builder that runs every op eagerly on a calibration batch, so each BatchNormalization
# gets the true per-channel statistics of its input.

CALIB_RESOLUTION = 64  # BN statistics are measured at this size, so weights do not depend on the resolution
CALIB_BATCH = 8


class _Net:
    def __init__(self, name: str, seed: int, channels: int, calib_resolution: int = CALIB_RESOLUTION):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0
        calib = np.random.default_rng(seed + 1).normal(size=(CALIB_BATCH, channels, calib_resolution, calib_resolution))
        self.act: dict[str, np.ndarray] = {"input": calib.astype(np.float32)}  # tensor -> calibration values

    def _name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def const(self, name: str, value) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], value: np.ndarray, name: str | None = None, **attrs) -> str:
        name = name or self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        self.act[name] = value.astype(np.float32)
        return name

    def conv(self, x: str, cout: int, k: int, stride: int = 1, group: int = 1) -> str:
        cin = self.act[x].shape[1]
        w = self.rng.normal(0.0, math.sqrt(2.0 / (cin // group * k * k)), size=(cout, cin // group, k, k)).astype(np.float32)
        name = self._name("conv")
        pads = [k // 2] * 4
        value = conv2d(self.act[x], w, [stride] * 2, pads, [1, 1], group)
        return self.node("Conv", [x, self.const(f"{name}.w", w)], value, name, kernel_shape=[k, k],
                         strides=[stride, stride], pads=pads, group=group)

    def bn(self, x: str, residual: bool = False) -> str:
        name = self._name("bn")
        v = self.act[x].astype(np.float64)
        mean, var = v.mean(axis=(0, 2, 3)), v.var(axis=(0, 2, 3)) + 1e-3
        c, rng = len(mean), self.rng
        # a residual branch's last BN is damped, as in trained ResNets
        gamma = rng.uniform(0.2, 0.5, c) if residual else rng.uniform(0.7, 1.3, c)
        beta = rng.normal(0.0 if residual else -0.1, 0.2, c)
        ins = [self.const(f"{name}.{k}", a.astype(np.float32)) for k, a in
               (("scale", gamma), ("bias", beta), ("mean", mean), ("var", var))]
        shape = (1, c, 1, 1)
        value = (v - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-5) * gamma.reshape(shape) + beta.reshape(shape)
        return self.node("BatchNormalization", [x, *ins], value, name, epsilon=1e-5)

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], np.maximum(self.act[x], 0))

    def relu6(self, x: str) -> str:
        lo, hi = self.const(self._name("clip_min"), np.float32(0)), self.const(self._name("clip_max"), np.float32(6))
        return self.node("Clip", [x, lo, hi], np.clip(self.act[x], 0, 6))

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b], self.act[a] + self.act[b])

    def maxpool(self, x: str, k: int, stride: int, pad: int) -> str:
        value = windows(self.act[x], (k, k), (stride, stride), [pad] * 4, pad_value=-np.inf).max(axis=(4, 5))
        return self.node("MaxPool", [x], value, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def avgpool(self, x: str, k: int) -> str:
        """An AveragePool whose kernel is the whole final feature map (its calibration value is the global mean)."""
        value = self.act[x].mean(axis=(2, 3), keepdims=True)
        return self.node("AveragePool", [x], value, kernel_shape=[k, k], strides=[1, 1])

    def gap(self, x: str) -> str:
        return self.node("GlobalAveragePool", [x], self.act[x].mean(axis=(2, 3), keepdims=True))

    def flatten(self, x: str) -> str:
        return self.node("Flatten", [x], self.act[x].reshape(len(self.act[x]), -1), axis=1)

    def gemm(self, x: str, n: int) -> str:
        k = self.act[x].shape[1]
        name = self._name("fc")
        w = self.rng.normal(0.0, math.sqrt(1.0 / k), size=(n, k)).astype(np.float32)
        b = self.rng.normal(0.0, 0.05, size=n).astype(np.float32)
        return self.node("Gemm", [x, self.const(f"{name}.w", w), self.const(f"{name}.b", b)], self.act[x] @ w.T + b,
                         name, transB=1)

    def model(self, shape: list[int], y: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                                  [helper.make_tensor_value_info(y, TensorProto.FLOAT, None)], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                                  producer_name="genesys.compiler.models")
        return onnx.shape_inference.infer_shapes(model, strict_mode=True)


# ----------------------------------------------------------------------------------------------------
# The networks.


def _check_resolution(name: str, resolution: int, multiple: int, minimum: int) -> None:
    if resolution < minimum or resolution % multiple:
        raise GenesysError(f"model '{name}': resolution {resolution} must be a multiple of {multiple} "
                           f"and at least {minimum}")


def resnet18(resolution: int = 224, seed: int = 0) -> onnx.ModelProto:
    _check_resolution("resnet18", resolution, 32, 32)
    net = _Net("resnet18", seed, 3)
    x = "input"
    y = net.maxpool(net.relu(net.bn(net.conv(x, 64, 7, 2))), 3, 2, 1)
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            h = net.relu(net.bn(net.conv(y, cout, 3, stride)))
            h = net.bn(net.conv(h, cout, 3), residual=True)
            short = net.bn(net.conv(y, cout, 1, stride)) if (stride != 1 or cin != cout) else y
            y = net.relu(net.add(h, short))
            cin = cout
    out = net.gemm(net.flatten(net.gap(y)), 1000)
    return net.model([1, 3, resolution, resolution], out)


_MBV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenetv2(resolution: int = 224, seed: int = 0) -> onnx.ModelProto:
    _check_resolution("mobilenetv2", resolution, 32, 32)
    net = _Net("mobilenetv2", seed, 3)
    x = "input"
    y = net.relu6(net.bn(net.conv(x, 32, 3, 2)))
    cin = 32
    for t, c, n, s in _MBV2:
        for i in range(n):
            stride = s if i == 0 else 1
            h = y
            if t != 1:
                h = net.relu6(net.bn(net.conv(h, cin * t, 1)))
            h = net.relu6(net.bn(net.conv(h, cin * t, 3, stride, group=cin * t)))
            residual = stride == 1 and cin == c
            h = net.bn(net.conv(h, c, 1), residual=residual)
            y = net.add(h, y) if residual else h
            cin = c
    y = net.relu6(net.bn(net.conv(y, 1280, 1)))
    out = net.gemm(net.flatten(net.gap(y)), 1000)
    return net.model([1, 3, resolution, resolution], out)


def mlp(resolution: int = 28, seed: int = 0) -> onnx.ModelProto:
    if resolution < 1:
        raise GenesysError(f"model 'mlp': resolution {resolution} must be at least 1")
    net = _Net("mlp", seed, 1, calib_resolution=resolution)
    x = "input"
    y = net.flatten(x)
    y = net.relu(net.gemm(y, 512))
    y = net.relu(net.gemm(y, 256))
    out = net.gemm(y, 10)
    return net.model([1, 1, resolution, resolution], out)


_LIGHT_RESNET50 = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light", "light_resnet50.onnx")


def resnet50(resolution: int = 224, seed: int = 0) -> onnx.ModelProto:
    """The light_resnet50 topology from the onnx wheel, re-weighted (its weights are ConstantOfShape fills)."""
    _check_resolution("resnet50", resolution, 32, 32)
    if not os.path.exists(_LIGHT_RESNET50):
        raise GenesysError(f"model 'resnet50': topology file {_LIGHT_RESNET50} is missing from the onnx wheel")
    src = onnx.load(_LIGHT_RESNET50)
    shapes = {i.name: numpy_helper.to_array(i) for i in src.graph.initializer}
    filled = {n.output[0]: tuple(int(d) for d in shapes[n.input[0]]) for n in src.graph.node if n.op_type == "ConstantOfShape"}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in src.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    net = _Net("resnet50", seed, 3)
    rename = {src.graph.input[0].name: "input"}
    for n in src.graph.node:
        if n.op_type == "ConstantOfShape":
            continue
        ins = [rename.get(i, i) for i in n.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Conv":
            cout, _, k, _ = filled[n.input[1]]
            out = net.conv(ins[0], cout, k, attrs["strides"][0])
            # the source's pads are explicit; ours are k // 2, which is what it uses (checked in the tests)
        elif n.op_type == "BatchNormalization":
            residual = any(c.op_type == "Sum" for c in consumers.get(n.output[0], []))
            out = net.bn(ins[0], residual=residual)
        elif n.op_type == "Relu":
            out = net.relu(ins[0])
        elif n.op_type == "Sum":
            out = net.add(ins[0], ins[1])
        elif n.op_type == "MaxPool":
            out = net.maxpool(ins[0], attrs["kernel_shape"][0], attrs["strides"][0], attrs["pads"][0])
        elif n.op_type == "AveragePool":
            size = resolution // 32  # the source's 7×7 kernel is the whole final feature map at 224
            out = net.avgpool(ins[0], size)
        elif n.op_type == "Reshape":
            out = net.flatten(ins[0])
        elif n.op_type == "Gemm":
            out = net.gemm(ins[0], filled[n.input[1]][0])
        elif n.op_type == "Softmax":
            continue  # logits are the output: Softmax is not an accelerator op
        else:
            raise GenesysError(f"model 'resnet50': unexpected op {n.op_type} in {_LIGHT_RESNET50}")
        rename[n.output[0]] = out
    return net.model([1, 3, resolution, resolution], out)


MODELS: dict[str, ModelInfo] = {
    "resnet50": ModelInfo("resnet50", resnet50, 224, 32, "ResNet-50 (onnx light_resnet50 topology), 1000 classes"),
    "resnet18": ModelInfo("resnet18", resnet18, 224, 32, "ResNet-18, 1000 classes"),
    "mobilenetv2": ModelInfo("mobilenetv2", mobilenetv2, 224, 32, "MobileNetV2 1.0 with ReLU6, 1000 classes"),
    "mlp": ModelInfo("mlp", mlp, 28, 1, "3-layer perceptron on a 1×R×R image, 10 classes"),
}


def list_models() -> list[str]:
    return list(MODELS)


@functools.lru_cache(maxsize=8)
def _build(name: str, resolution: int, seed: int) -> bytes:
    if name != "mlp" and resolution != CALIB_RESOLUTION:
        # a CNN's weights do not depend on the resolution: build (and calibrate) once, then retarget
        _check_resolution(name, resolution, 32, MODELS[name].min_resolution)
        model = onnx.ModelProto()
        model.ParseFromString(_build(name, CALIB_RESOLUTION, seed))
        return _retarget(model, resolution).SerializeToString()
    return MODELS[name].build(resolution, seed).SerializeToString()


def _retarget(model: onnx.ModelProto, resolution: int) -> onnx.ModelProto:
    """The same CNN on a resolution×resolution input (a whole-map AveragePool follows the final map)."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = resolution
    for n in model.graph.node:
        if n.op_type == "AveragePool":
            for a in n.attribute:
                if a.name == "kernel_shape":
                    a.ints[:] = [resolution // 32] * 2
    del model.graph.value_info[:]
    for o in model.graph.output:
        o.type.tensor_type.ClearField("shape")
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def get_model(name: str, resolution: int | None = None, seed: int = 0) -> onnx.ModelProto:
    """A float ModelProto of a built-in network (resolution None: the network's default, 224 or 28 for mlp)."""
    if name not in MODELS:
        raise GenesysError(f"unknown model '{name}'; built-in models: {', '.join(MODELS)}")
    info = MODELS[name]
    model = onnx.ModelProto()
    model.ParseFromString(_build(name, info.default_resolution if resolution is None else int(resolution), seed))
    return model


def macs(model: onnx.ModelProto) -> int:
    """Multiply-accumulates of one inference: Conv (per output element Cin/group·kh·kw), Gemm and MatMul."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
    shapes.update({i.name: list(i.dims) for i in model.graph.initializer})
    total = 0
    for n in model.graph.node:
        if n.op_type == "Conv":
            w = shapes[n.input[1]]
            total += int(np.prod(shapes[n.output[0]])) * int(np.prod(w[1:]))
        elif n.op_type in ("Gemm", "MatMul"):
            a, out = shapes[n.input[0]], shapes[n.output[0]]
            k = a[0] if (n.op_type == "Gemm" and any(x.name == "transA" and x.i for x in n.attribute)) else a[-1]
            total += int(np.prod(out)) * int(k)
    return total
