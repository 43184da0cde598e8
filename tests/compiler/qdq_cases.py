"""Small QDQ (and QLinear) ONNX models of one op each, with random but realistic quantization parameters.

Every case is float in, float out: x → QuantizeLinear → DequantizeLinear → op → [Relu/Clip] →
QuantizeLinear → DequantizeLinear → y, the structure `onnxruntime.quantization` writes. Output scales are
chosen from the real output range so that values use most of int8 without saturating everything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from genesys.compiler.reference import conv2d, windows

F32 = np.float32


@dataclass
class Case:
    model: onnx.ModelProto
    feeds: dict[str, np.ndarray]
    float_path: bool  # ORT computes the op in float (conv, matmul, average pool): rare ±1 rounding flips


class _B:
    def __init__(self, rng: np.random.Generator, pow2: bool = False):
        self.rng = rng
        self.pow2 = pow2  # snap every scale to a power of two: ORT's float path is then exact and k + ½ ties frequent
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.feeds: dict[str, np.ndarray] = {}
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}{self.n}"

    def const(self, value, base: str = "c") -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs) -> str:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.name(op + "_"), **attrs))
        return outs[0]

    def snap(self, scale):
        return np.exp2(np.round(np.log2(scale))).astype(F32) if self.pow2 else scale

    def qdq(self, x: str, scale: float, zp: int, dtype=np.int8) -> str:
        s, z = self.const(F32(scale), "s"), self.const(np.array(zp, dtype), "zp")
        self.last_q = (s, z)
        return self.node("DequantizeLinear", [self.node("QuantizeLinear", [x, s, z]), s, z])

    def float_input(self, shape, spread: float = 1.0, positive: bool = False) -> tuple[str, np.ndarray]:
        name = self.name("x")
        v = self.rng.normal(0, spread, size=shape).astype(F32)
        if positive:
            v = np.abs(v)
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        self.feeds[name] = v
        return name, v

    def act_input(self, shape, spread: float = 1.0, positive: bool = False):
        """A float graph input, quantized: returns (dequantized name, its real values, scale, zp)."""
        x, v = self.float_input(shape, spread, positive)
        lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
        scale = float(self.snap((hi - lo) / 255 * self.rng.uniform(0.8, 1.1)))
        zp = int(np.clip(round(-128 - lo / scale), -128, 127))
        real = (np.clip(np.rint(v / F32(scale)) + zp, -128, 127) - zp) * scale
        return self.qdq(x, scale, zp), real, scale, zp

    def weight(self, shape, axis: int | None):
        """A per-channel (axis) or per-tensor int8 weight behind a DequantizeLinear; returns (name, real values)."""
        lim = 3 if self.pow2 else 128  # pow2 cases: small weights keep the multiplier near 2⁻³ (ties every 8 values)
        wq = self.rng.integers(1 - lim, lim, size=shape).astype(np.int8)
        if axis is None:
            scale = F32(self.snap(self.rng.uniform(0.002, 0.02)))
            s, z = self.const(scale, "ws"), self.const(np.int8(0), "wz")
            real = wq * np.float64(scale)
            return self.node("DequantizeLinear", [self.const(wq, "w"), s, z]), real, np.float64(scale)
        scale = self.snap(self.rng.uniform(0.002, 0.02, size=shape[axis]).astype(F32))
        s, z = self.const(scale, "ws"), self.const(np.zeros(shape[axis], np.int8), "wz")
        bshape = [-1 if i == axis else 1 for i in range(len(shape))]
        real = wq * scale.astype(np.float64).reshape(bshape)
        return self.node("DequantizeLinear", [self.const(wq, "w"), s, z], axis=axis), real, scale

    def bias(self, n: int, sx: float, sw) -> tuple[str, np.ndarray]:
        bscale = (F32(sx) * np.broadcast_to(np.asarray(sw, F32), (n,))).astype(F32)
        bq = self.rng.integers(-2000, 2000, size=n).astype(np.int32) // (256 if self.pow2 else 1)
        s, z = self.const(bscale, "bs"), self.const(np.zeros(n, np.int32), "bz")
        return self.node("DequantizeLinear", [self.const(bq, "b"), s, z], axis=0), bq * bscale.astype(np.float64)

    def activation(self, y: str, act) -> str:
        if act == "relu":
            return self.node("Relu", [y])
        if isinstance(act, tuple):
            return self.node("Clip", [y, self.const(F32(act[0]), "lo"), self.const(F32(act[1]), "hi")])
        return y

    def output(self, y: str, real: np.ndarray, act=None, fill: float = 1.0) -> str:
        """Quantize y with parameters fitted to its real range (after act), dequantize, make it the output."""
        if act == "relu":
            real = np.maximum(real, 0)
        elif isinstance(act, tuple):
            real = np.clip(real, *act)
        lo, hi = min(float(real.min()), 0.0), max(float(real.max()), 0.0)
        scale = float(self.snap(max(hi - lo, 1e-3) / 255 * fill * self.rng.uniform(0.7, 1.05)))
        zp = int(np.clip(round(-128 - lo / scale), -128, 127))
        out = self.qdq(y, scale, zp)
        self.outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]
        return out

    def same_params_output(self, y: str) -> None:
        """Quantize y with the parameters of the last quantized input (as ORT's quantizer does for pools/reshapes)."""
        s, z = self.last_q
        out = self.node("DequantizeLinear", [self.node("QuantizeLinear", [y, s, z]), s, z])
        self.outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]

    def case(self, float_path: bool) -> Case:
        graph = helper.make_graph(self.nodes, "case", self.inputs, self.outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        onnx.checker.check_model(model)
        return Case(model, self.feeds, float_path)


def conv(rng, c, m, hw, k, stride=1, pads=(0, 0, 0, 0), dil=1, group=1, bias=True, act=None, per_channel=True,
         pow2=False) -> Case:
    b = _B(rng, pow2)
    x, xr, sx, _ = b.act_input((1, c, *hw), positive=bool(rng.integers(2)))
    w, wr, sw = b.weight((m, c // group, k, k), 0 if per_channel else None)
    ins = [x, w]
    real = conv2d(xr.astype(np.float64), wr, [stride] * 2, list(pads), [dil] * 2, group)
    if bias:
        bn, br = b.bias(m, sx, sw)
        ins.append(bn)
        real = real + br.reshape(1, -1, 1, 1)
    y = b.node("Conv", ins, kernel_shape=[k, k], strides=[stride] * 2, pads=list(pads), dilations=[dil] * 2, group=group)
    b.output(b.activation(y, act), real, act)
    return b.case(True)


def gemm(rng, k, n, trans_b=1, bias=True, act=None, matmul=False) -> Case:
    b = _B(rng)
    x, xr, sx, _ = b.act_input((1, k))
    shape = (n, k) if trans_b else (k, n)
    w, wr, sw = b.weight(shape, (0 if trans_b else 1))
    real = xr.astype(np.float64) @ (wr.T if trans_b else wr)
    if matmul:
        y = b.node("MatMul", [x, w])
    else:
        ins = [x, w]
        if bias:
            bn, br = b.bias(n, sx, sw)
            ins.append(bn)
            real = real + br
        y = b.node("Gemm", ins, transB=trans_b)
    b.output(b.activation(y, act), real, act)
    return b.case(True)


def binary(rng, op: str, shape, act=None, pow2=False) -> Case:
    b = _B(rng, pow2)
    x1, r1, _, _ = b.act_input(shape, spread=rng.uniform(0.5, 3))
    x2, r2, _, _ = b.act_input(shape, spread=rng.uniform(0.5, 3))
    y = b.node(op, [x1, x2])
    b.output(b.activation(y, act), r1 + r2 if op == "Add" else r1 * r2, act)
    return b.case(False)


def maxpool(rng, c, hw, k, stride, pads, dil=1, ceil_mode=0, same_params=True) -> Case:
    b = _B(rng)
    x, xr, _, _ = b.act_input((1, c, *hw))
    y = b.node("MaxPool", [x], kernel_shape=[k, k], strides=[stride] * 2, pads=list(pads), dilations=[dil] * 2,
               ceil_mode=ceil_mode)
    if same_params:  # what ORT's quantizer writes: the output shares the input's parameters
        b.same_params_output(y)
    else:
        b.output(y, windows(xr, (k, k), (stride,) * 2, pads, (dil,) * 2, -np.inf, bool(ceil_mode)).max(axis=(4, 5)))
    return b.case(False)


def avgpool(rng, c, hw, k, stride, pads, count_include_pad=0, ceil_mode=0, glob=False, pow2=False) -> Case:
    b = _B(rng, pow2)
    x, xr, _, _ = b.act_input((1, c, *hw), positive=bool(rng.integers(2)))
    if glob:
        y = b.node("GlobalAveragePool", [x])
        real = xr.mean(axis=(2, 3))
    else:
        y = b.node("AveragePool", [x], kernel_shape=[k, k], strides=[stride] * 2, pads=list(pads),
                   count_include_pad=count_include_pad, ceil_mode=ceil_mode)
        real = xr
    b.output(y, real, fill=rng.uniform(0.6, 1.0))
    return b.case(True)


def concat(rng, shapes, axis) -> Case:
    b = _B(rng)
    ins, reals = [], []
    for s in shapes:
        x, r, _, _ = b.act_input(s, spread=rng.uniform(0.5, 3))
        ins.append(x)
        reals.append(r)
    b.output(b.node("Concat", ins, axis=axis), np.concatenate(reals, axis=axis))
    return b.case(False)


def activation(rng, shape, act, same_params=False) -> Case:
    """A standalone Relu/Clip between DequantizeLinear and QuantizeLinear."""
    b = _B(rng)
    x, xr, _, _ = b.act_input(shape, spread=rng.uniform(1, 4))
    y = b.activation(x, act)
    if same_params:
        b.same_params_output(y)
    else:
        b.output(y, xr, act)
    return b.case(False)


def reshape(rng, shape, target, flatten_axis=None) -> Case:
    b = _B(rng)
    x, xr, _, _ = b.act_input(shape)
    if flatten_axis is not None:
        y = b.node("Flatten", [x], axis=flatten_axis)
    else:
        y = b.node("Reshape", [x, b.const(np.array(target, np.int64), "shape")])
    b.same_params_output(y)
    return b.case(False)


def quantize_ties(rng, shape) -> Case:
    """Float inputs within a few ulps of (k + ½)·s for a scale s whose reciprocal is inexact: the host-side
    QuantizeLinear must divide (x / s), round half to even, saturate — exactly as ORT does."""
    b = _B(rng)
    x, _ = b.float_input(shape)
    scale = F32(rng.uniform(0.01, 0.1))
    k = rng.integers(-140, 140, size=shape).astype(F32)
    v = ((k + F32(0.5)) * scale).astype(F32)
    v = np.nextafter(v, np.where(rng.integers(2, size=shape) == 1, F32(np.inf), F32(-np.inf))).astype(F32)
    v = np.where(rng.integers(3, size=shape) == 0, ((k + F32(0.5)) * scale).astype(F32), v)
    b.feeds[x] = v
    y = b.qdq(x, scale, int(rng.integers(-20, 20)))
    b.outputs = [helper.make_tensor_value_info(y, TensorProto.FLOAT, None)]
    return b.case(False)


def requantize(rng, shape) -> Case:
    """Q → DQ → Q with other parameters (what a QDQ graph does between ops that disagree)."""
    b = _B(rng)
    x, xr, _, _ = b.act_input(shape, spread=2)
    b.output(x, xr * rng.uniform(0.3, 1.5))
    return b.case(False)


def qlinear_conv(rng, c, m, hw, k, stride=1, pads=(0, 0, 0, 0), group=1, uint8=False, w_uint8=False,
                 per_channel=True) -> Case:
    """A QLinearConv; uint8: uint8 activations (ORT's u8 kernels), w_uint8: uint8 weights with zero point 128."""
    b = _B(rng)
    x, v = b.float_input((1, c, *hw))
    dt = np.uint8 if uint8 else np.int8
    off = 128 if uint8 else 0
    sx, zx = F32(np.abs(v).max() / 127), off + int(rng.integers(-10, 10))
    sxn, zxn = b.const(sx, "sx"), b.const(np.array(zx, dt), "zx")
    xq = b.node("QuantizeLinear", [x, sxn, zxn])
    wq = rng.integers(-127, 128, size=(m, c // group, k, k)).astype(np.int8)
    sw = rng.uniform(0.002, 0.02, size=m if per_channel else ()).astype(F32)
    wdt, woff = (np.uint8, 128) if w_uint8 else (np.int8, 0)
    bq = rng.integers(-2000, 2000, size=m).astype(np.int32)
    real = conv2d(((np.clip(np.rint(v / sx) + zx - off, -128, 127)) - (zx - off)) * np.float64(sx),
                  wq * np.broadcast_to(sw.astype(np.float64), (m,)).reshape(-1, 1, 1, 1), [stride] * 2, list(pads),
                  [1, 1], group)
    sy = F32(np.abs(real).max() / 100)
    zy = off + int(rng.integers(-20, 20))
    syn, zyn = b.const(sy, "sy"), b.const(np.array(zy, dt), "zy")
    wn = b.const((wq.astype(np.int16) + woff).astype(wdt), "w")
    zwn = b.const(np.full(sw.shape, woff, wdt), "zw")
    y = b.node("QLinearConv", [xq, sxn, zxn, wn, b.const(sw, "sw"), zwn, syn, zyn, b.const(bq, "b")],
               kernel_shape=[k, k], strides=[stride] * 2, pads=list(pads), group=group)
    out = b.node("DequantizeLinear", [y, syn, zyn])
    b.outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]
    return b.case(False)


def qlinear_matmul(rng, k, n, uint8=False) -> Case:
    b = _B(rng)
    x, v = b.float_input((1, k))
    dt, off = (np.uint8, 128) if uint8 else (np.int8, 0)
    sx, zx = F32(np.abs(v).max() / 127), off + int(rng.integers(-10, 10))
    sxn, zxn = b.const(sx, "sx"), b.const(np.array(zx, dt), "zx")
    xq = b.node("QuantizeLinear", [x, sxn, zxn])
    wq = rng.integers(-127, 128, size=(k, n)).astype(np.int8)
    sw = F32(rng.uniform(0.002, 0.02))
    real = (np.clip(np.rint(v / sx) + zx - off, -128, 127) - (zx - off)) * np.float64(sx) @ (wq * np.float64(sw))
    sy, zy = F32(np.abs(real).max() / 100), off + int(rng.integers(-20, 20))
    syn, zyn = b.const(sy, "sy"), b.const(np.array(zy, dt), "zy")
    y = b.node("QLinearMatMul", [xq, sxn, zxn, b.const(wq, "w"), b.const(sw, "sw"), b.const(np.int8(0), "zw"), syn, zyn])
    out = b.node("DequantizeLinear", [y, syn, zyn])
    b.outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)]
    return b.case(False)
