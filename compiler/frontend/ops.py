"""One function per supported ONNX op, named like the op, building IR nodes (tinygrad style).

Each function takes a lowering context `ctx` (the node being lowered, where its output goes and how it is
quantized, the float clamp range of any fused Relu/Clip), the op's inputs in ONNX order and its attributes
as keyword arguments with ONNX's defaults. Inputs arrive already resolved by `compiler.frontend.passes`:
an IR `Tensor` for quantized values (an int8 activation, an int8 weight or int32 bias constant, each with
`QParams`), a numpy array for float/int64 constants (Clip bounds, Reshape shapes, QLinear scales), `None`
for an absent optional input.

Requantization (see `compiler.reference` for the evidence): QConv/QGemm carry `multiplier`, the float32
per-output-channel factor `float32(float32(s_x · s_w[c]) / s_y)`; the output is
`clamp(round_half_even(float32(acc) × multiplier[c]) + zp_y, act_min, act_max)` with `acc` the int32
accumulation of `(x − zp_x) · w` plus the bias (in units of `s_x · s_w[c]`). That is exactly what ORT's
QLinearConv/QLinearMatMul compute, and the closest any integer pipeline gets to ORT's DQ → float → Q path.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import numpy as np

from genesys.compiler.ir import Graph, Node, QParams, Tensor
from genesys.compiler.reference import pool_out_size
from genesys.errors import GenesysError

F32 = np.float32
INF = math.inf


class LoweringContext:
    """Where an ONNX node's IR lands: the node (for errors), output name, output quantization, clamp range."""

    def __init__(self, graph: Graph, node: Node, out: str, out_q: QParams | None,
                 act: tuple[float, float] = (-INF, INF), names: set[str] | None = None, cache: dict | None = None):
        self.graph, self.node, self.out, self.out_q, self.act = graph, node, out, out_q, act
        self.names = names if names is not None else {n.name for n in graph.nodes}
        self.cache = cache if cache is not None else {}  # quantized constants already built (shared by a pass)
        self.emitted: list[Node] = []

    @property
    def op_type(self) -> str:
        return self.node.op.split(":", 1)[-1]

    def error(self, msg: str) -> GenesysError:
        return GenesysError(f"node '{self.node.name}' ({self.op_type}): {msg}")

    def attr_error(self, attr: str, value, why: str) -> GenesysError:
        return self.error(f"attribute {attr}={value!r} is not supported: {why}")

    # --- operands -----------------------------------------------------------------------------------

    def activation(self, t, what: str) -> Tensor:
        if not isinstance(t, Tensor) or t.dtype != "int8" or t.quant is None:
            raise self.error(f"input {what} must be a quantized int8 tensor (DequantizeLinear of a QuantizeLinear output)")
        if t.quant.per_channel:
            raise self.error(f"input {what} ('{t.name}') is quantized per channel; activations must be per tensor")
        return t

    def weight(self, t, what: str) -> Tensor:
        if not isinstance(t, Tensor) or not t.is_const or t.dtype != "int8":
            raise self.error(f"input {what} must be a constant int8 tensor (DequantizeLinear of an int8 initializer)")
        return t

    def const_array(self, v, what: str, dtype=None) -> np.ndarray | None:
        if v is None:
            return None
        if isinstance(v, Tensor):
            raise self.error(f"input {what} must be a plain constant, not a quantized tensor")
        return np.asarray(v, dtype=dtype)

    def require_out_q(self) -> QParams:
        if self.out_q is None:
            raise self.error("its output is not quantized (it needs a QuantizeLinear after it)")
        if self.out_q.per_channel:
            raise self.error("its output is quantized per channel; activations must be per tensor")
        return self.out_q

    # --- building -----------------------------------------------------------------------------------

    def _unique(self, base: str) -> str:
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def emit(self, op: str, inputs: list[str], shape, attrs: dict | None = None, out: str | None = None,
             quant: QParams | None = None, dtype: str = "int8", suffix: str = "") -> str:
        out = out or self.out
        quant = quant if quant is not None or dtype != "int8" else self.out_q
        self.graph.tensors[out] = Tensor(out, tuple(int(d) for d in shape), dtype, quant=quant)
        self.emitted.append(Node(op, self._unique(self.node.name + suffix), list(inputs), [out], dict(attrs or {})))
        return out

    def const(self, base: str, data: np.ndarray, quant: QParams | None) -> str:
        name = base
        i = 1
        while name in self.graph.tensors:
            i += 1
            name = f"{base}_{i}"
        self.graph.tensors[name] = Tensor(name, tuple(data.shape), str(data.dtype), quant=quant, data=data)
        return name

    def act_bounds(self, q: QParams) -> tuple[int, int]:
        """The fused clamp range mapped into q's int8 domain (exact: Q is monotone, so Q∘clip = clamp∘Q)."""
        lo, hi = self.act
        return (-128 if lo == -INF else quantize_scalar(lo, q)), (127 if hi == INF else quantize_scalar(hi, q))


# ----------------------------------------------------------------------------------------------------
# Helpers.


def quantize_scalar(v: float, q: QParams) -> int:
    """ORT's QuantizeLinear of one float: saturate(round_half_even(float32(v) / scale) + zero_point)."""
    r = np.rint(F32(v) / F32(q.scale))
    return int(np.clip(r + int(q.zero_point), -128, 127)) if np.isfinite(r) else (127 if r > 0 else -128)


def same_quant(a: QParams | None, b: QParams | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.dtype == b.dtype and a.axis == b.axis and np.array_equal(a.scale, b.scale)
            and np.array_equal(a.zero_point, b.zero_point))


def _ints(ctx: LoweringContext, name: str, value, n: int, default: int, minimum: int) -> list[int]:
    v = [default] * n if value is None else [int(x) for x in value]
    if len(v) != n:
        raise ctx.attr_error(name, value, f"expected {n} values for a 2-D op")
    if any(x < minimum for x in v):
        raise ctx.attr_error(name, value, f"values must be ≥ {minimum}")
    return v


def _spatial(ctx: LoweringContext, x: Tensor, auto_pad, kernel, strides, pads, dilations) -> tuple:
    if auto_pad != "NOTSET":
        raise ctx.attr_error("auto_pad", auto_pad, "only NOTSET (explicit pads) is supported")
    if len(x.shape) != 4:
        raise ctx.error(f"only 2-D spatial ops on NCHW tensors are supported (input shape {list(x.shape)})")
    kernel = _ints(ctx, "kernel_shape", kernel, 2, 1, 1)
    strides = _ints(ctx, "strides", strides, 2, 1, 1)
    dilations = _ints(ctx, "dilations", dilations, 2, 1, 1)
    pads = _ints(ctx, "pads", pads, 4, 0, 0)
    if pads[0] >= dilations[0] * (kernel[0] - 1) + 1 + x.shape[2] or pads[1] >= dilations[1] * (kernel[1] - 1) + 1 + x.shape[3]:
        raise ctx.attr_error("pads", pads, "padding larger than the window and input")
    return kernel, strides, pads, dilations


def _out_hw(ctx, x: Tensor, kernel, strides, pads, dilations, ceil_mode=False) -> tuple[int, int]:
    h = pool_out_size(x.shape[2], kernel[0], strides[0], pads[0], pads[2], dilations[0], ceil_mode)
    w = pool_out_size(x.shape[3], kernel[1], strides[1], pads[1], pads[3], dilations[1], ceil_mode)
    if h < 1 or w < 1:
        raise ctx.error(f"the window does not fit the input {list(x.shape)} (output would be {h}×{w})")
    return h, w


def _per_channel_scale(w: Tensor, channels: int, axis: int) -> np.ndarray:
    s = np.asarray(w.quant.scale, dtype=F32)
    if w.quant.per_channel and w.quant.axis != axis:
        raise GenesysError(f"weight '{w.name}' is quantized along axis {w.quant.axis}; it must be per output channel "
                           f"(axis {axis}) or per tensor")
    return np.broadcast_to(s, (channels,)).astype(F32)


def _bias(ctx: LoweringContext, b, acc_scale: np.ndarray, channels: int) -> str:
    """The int32 bias in units of s_x·s_w[c] (the accumulator's unit)."""
    q = QParams(acc_scale.astype(F32), np.zeros(channels, np.int32), axis=0, dtype="int32")
    if b is None:
        return ctx.const(f"{ctx.node.name}.bias", np.zeros(channels, np.int32), q)
    if isinstance(b, Tensor):
        if b.dtype != "int32" or not b.is_const or b.quant is None:
            raise ctx.error("input B must be a constant int32 bias (DequantizeLinear of an int32 initializer) or float")
        data = b.data.reshape(-1).astype(np.int64)
        if data.size != channels:
            raise ctx.error(f"bias has {data.size} values for {channels} output channels")
        scale = np.broadcast_to(np.asarray(b.quant.scale, F32), (channels,))
        zp = np.broadcast_to(np.asarray(b.quant.zero_point, np.int64), (channels,))
        if np.array_equal(scale, acc_scale) and not zp.any():
            if b.quant.per_channel and b.shape == (channels,):
                return b.name
            return ctx.const(f"{ctx.node.name}.bias", data.astype(np.int32), q)
        # another bias scale: re-express in accumulator units (rounding; ORT's quantizer never does this)
        real = (data - zp) * scale.astype(np.float64)
    else:
        real = np.asarray(b, dtype=np.float64).reshape(-1)
        if real.size != channels:
            raise ctx.error(f"bias has {real.size} values for {channels} output channels")
    ints = np.rint(real / acc_scale.astype(np.float64))
    if np.abs(ints).max(initial=0) >= 2**31:
        raise ctx.error("bias does not fit int32 in units of input scale × weight scale")
    return ctx.const(f"{ctx.node.name}.bias", ints.astype(np.int32), q)


def multiplier(acc_scale: np.ndarray, out_scale) -> np.ndarray:
    """float32(float32(s_x·s_w) / s_y): what ORT's QLinearConv/QLinearMatMul multiply the int32 accumulator by."""
    return (np.asarray(acc_scale, F32) / F32(out_scale)).astype(F32)


def _requantize_to(ctx: LoweringContext, src: Tensor, q: QParams, out: str | None = None, suffix: str = "") -> str:
    """src in q's parameters: the tensor itself if they already match, else a one-input QConcat (requantize)."""
    if same_quant(src.quant, q):
        return src.name
    return ctx.emit("QConcat", [src.name], src.shape, {"axis": 1}, out=out, quant=q, suffix=suffix)


def _clamped(ctx: LoweringContext, x: Tensor, shape) -> None:
    """Requantize x to the output parameters, then clamp to the fused range (one node if either is a no-op)."""
    q = ctx.require_out_q()
    lo, hi = ctx.act_bounds(q)
    if (lo, hi) == (-128, 127):
        if same_quant(x.quant, q):  # nothing to do: an explicit copy keeps the output name
            ctx.emit("Reshape", [x.name], shape, {"shape": tuple(shape)})
        else:
            _requantize_to(ctx, x, q, out=ctx.out)
        return
    src = _requantize_to(ctx, x, q, out=f"{ctx.out}.requant", suffix=".requant")
    ctx.emit("QClamp", [src], shape, {"act_min": lo, "act_max": hi})


def activation_range(op: str, inputs: list, attrs: dict) -> tuple[float, float]:
    """The float clamp range of a Relu or Clip node (constant bounds as inputs, or attributes before opset 11)."""
    if op == "Relu":
        return 0.0, INF
    lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else attrs.get("min")
    hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else attrs.get("max")
    return (-INF if lo is None else float(np.asarray(lo))), (INF if hi is None else float(np.asarray(hi)))


# ----------------------------------------------------------------------------------------------------
# Quantization parameters from ONNX constants (QuantizeLinear/DequantizeLinear/QLinear* inputs).
# uint8 is moved to int8 exactly: q - 128 with zero point zp - 128 dequantizes to the same reals.


def make_qparams(ctx: LoweringContext, scale: np.ndarray, zp: np.ndarray | None, axis: int | None, what: str,
                 default_dtype: str = "int8") -> QParams:
    """QParams in the int8 domain (uint8 shifted by −128). `axis` applies only to a 1-D scale."""
    scale = np.asarray(scale, F32)
    if scale.ndim > 1 or not np.all(np.isfinite(scale)) or not np.all(scale > 0):
        raise ctx.error(f"{what} scale must be a positive finite scalar or 1-D array (got {scale.ravel()[:4]}...)")
    dtype = default_dtype if zp is None else str(np.asarray(zp).dtype)
    if dtype not in ("int8", "uint8", "int32"):
        raise ctx.error(f"{what} zero point has type {dtype}; supported: int8, uint8 (shifted to int8), int32 (bias)")
    zp = np.zeros(scale.shape, np.int32) if zp is None else np.asarray(zp).astype(np.int32)
    if zp.shape != scale.shape:
        raise ctx.error(f"{what} zero point shape {zp.shape} differs from its scale's {scale.shape}")
    if dtype == "uint8":
        zp, dtype = zp - 128, "int8"
    return QParams(scale, zp, axis=(axis if scale.ndim == 1 else None), dtype=dtype)


def bind_activation_quant(ctx: LoweringContext, t, q: QParams, what: str) -> Tensor:
    """An int8 activation read with parameters q: gives it q if it had none, else they must agree."""
    if not isinstance(t, Tensor) or t.is_const or t.dtype not in ("int8", "uint8"):
        raise ctx.error(f"input {what} must be an int8/uint8 activation")
    if q.per_channel:
        raise ctx.error(f"input {what} is quantized per channel; activations must be per tensor")
    if t.quant is None:
        if t.name in ctx.graph.inputs:
            raise ctx.error(f"graph input '{t.name}' is {t.dtype}; graph inputs must be float32 (quantized by a QuantizeLinear)")
        t.quant, t.dtype = q, "int8"
    elif not same_quant(t.quant, q):
        raise ctx.error(f"reads '{t.name}' (scale {np.ravel(t.quant.scale)[0]}, zero point "
                        f"{np.ravel(t.quant.zero_point)[0]}) with different parameters (scale {np.ravel(q.scale)[0]}, "
                        f"zero point {np.ravel(q.zero_point)[0]})")
    return t


def quantized_const(ctx: LoweringContext, t, q: QParams) -> Tensor:
    """The IR constant for initializer t dequantized with q: int8 weights get their zero point folded into the
    data (zp 0, as QConv/QGemm require), uint8 is shifted, int32 biases keep their values."""
    if not isinstance(t, Tensor) or not t.is_const:
        raise ctx.error(f"expected a constant quantized tensor, got {getattr(t, 'name', t)!r}")
    if t.quant is not None:
        if not same_quant(t.quant, q):
            raise ctx.error(f"constant '{t.name}' is dequantized with two different sets of parameters")
        return t
    src_dtype = str(t.data.dtype)
    if src_dtype not in ("int8", "uint8", "int32"):
        raise ctx.error(f"constant '{t.name}' of type {src_dtype} cannot be dequantized (int8, uint8 or int32 expected)")
    data = t.data.astype(np.int64) - (128 if src_dtype == "uint8" else 0)
    axis = q.axis if q.per_channel else None
    if axis is not None:
        axis = axis + data.ndim if axis < 0 else axis
        if not 0 <= axis < data.ndim or data.shape[axis] != q.scale.size:
            raise ctx.error(f"constant '{t.name}' {list(data.shape)} has {q.scale.size} scales along axis {q.axis}")
    zp = q.zero_point.astype(np.int64)
    if axis is not None:
        zp = zp.reshape([-1 if i == axis else 1 for i in range(data.ndim)])
    data = data - zp
    kind = "int32" if src_dtype == "int32" else "int8"
    lo, hi = (-(2**31), 2**31 - 1) if kind == "int32" else (-128, 127)
    if data.size and (data.min() < lo or data.max() > hi):
        raise ctx.error(f"constant '{t.name}' minus its zero point does not fit {kind} (weights need zero point 0)")
    quant = QParams(q.scale, np.zeros_like(q.zero_point), axis=axis, dtype=kind)
    key = (t.name, q.scale.tobytes(), q.zero_point.tobytes(), q.axis, src_dtype)
    if key not in ctx.cache:
        ctx.cache[key] = ctx.const(t.name + ".q", data.astype(kind), quant)
    return ctx.graph.tensors[ctx.cache[key]]


# ----------------------------------------------------------------------------------------------------
# The ops.


def Conv(ctx, X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    x, w = ctx.activation(X, "X"), ctx.weight(W, "W")
    q = ctx.require_out_q()
    if len(w.shape) != 4:
        raise ctx.error(f"weight shape {list(w.shape)}: only 2-D convolution is supported")
    if kernel_shape is not None and list(kernel_shape) != list(w.shape[2:]):
        raise ctx.attr_error("kernel_shape", kernel_shape, f"the weight's kernel is {list(w.shape[2:])}")
    kernel, strides, pads, dilations = _spatial(ctx, x, auto_pad, w.shape[2:], strides, pads, dilations)
    m, c = w.shape[0], x.shape[1]
    if group < 1 or c % group or m % group or w.shape[1] != c // group:
        raise ctx.attr_error("group", group, f"input has {c} channels, weight shape {list(w.shape)}")
    acc_scale = (F32(x.quant.scale) * _per_channel_scale(w, m, 0)).astype(F32)
    b = _bias(ctx, B, acc_scale, m)
    h, wo = _out_hw(ctx, x, kernel, strides, pads, dilations)
    lo, hi = ctx.act_bounds(q)
    ctx.emit("QConv", [x.name, w.name, b], (1, m, h, wo),
             {"kernel_shape": kernel, "strides": strides, "pads": pads, "dilations": dilations, "group": int(group),
              "act_min": lo, "act_max": hi, "multiplier": multiplier(acc_scale, q.scale)})


def _gemm(ctx, x: Tensor, w_kn: np.ndarray, w: Tensor, w_axis: int, B) -> None:
    """QGemm of x [1, K] by the [K, N] weight w_kn (w: the weight as imported, per-channel along w_axis)."""
    q = ctx.require_out_q()
    if len(x.shape) != 2 or x.shape[0] != 1:
        raise ctx.error(f"input A has shape {list(x.shape)}; only [1, K] (batch 1, flattened) is supported")
    k, n = w_kn.shape
    if x.shape[1] != k:
        raise ctx.error(f"input A has {x.shape[1]} features but the weight expects {k}")
    acc_scale = (F32(x.quant.scale) * _per_channel_scale(w, n, w_axis)).astype(F32)
    b = _bias(ctx, B, acc_scale, n)
    wq = QParams(np.broadcast_to(np.asarray(w.quant.scale, F32), (n,)).copy(), np.zeros(n, np.int32), axis=1)
    wname = w.name if (w_axis == 1 and w.quant.per_channel) else ctx.const(f"{ctx.node.name}.weight", w_kn, wq)
    lo, hi = ctx.act_bounds(q)
    ctx.emit("QGemm", [x.name, wname, b], (1, n), {"act_min": lo, "act_max": hi, "multiplier": multiplier(acc_scale, q.scale)})


def Gemm(ctx, A, B, C=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):
    x, w = ctx.activation(A, "A"), ctx.weight(B, "B")
    for name, v, ok in (("alpha", alpha, 1.0), ("beta", beta, 1.0), ("transA", transA, 0)):
        if v != ok and not (name == "beta" and C is None):
            raise ctx.attr_error(name, v, f"only {name}={ok} is supported")
    if len(w.shape) != 2:
        raise ctx.error(f"weight B has shape {list(w.shape)}; expected 2-D")
    _gemm(ctx, x, (w.data.T if transB else w.data), w, 0 if transB else 1, C)


def MatMul(ctx, A, B):
    x, w = ctx.activation(A, "A"), ctx.weight(B, "B")
    if len(w.shape) != 2:
        raise ctx.error(f"weight B has shape {list(w.shape)}; expected 2-D [K, N]")
    _gemm(ctx, x, w.data, w, 1, None)


def _elementwise(ctx, op: str, A, B):
    a, b = ctx.activation(A, "A"), ctx.activation(B, "B")
    if a.shape != b.shape:
        raise ctx.error(f"operand shapes {list(a.shape)} and {list(b.shape)} differ; broadcasting is not supported")
    lo, hi = ctx.act_bounds(ctx.require_out_q())
    ctx.emit(op, [a.name, b.name], a.shape, {"act_min": lo, "act_max": hi})


def Add(ctx, A, B):
    _elementwise(ctx, "QAdd", A, B)


def Mul(ctx, A, B):
    _elementwise(ctx, "QMul", A, B)


def Relu(ctx, X):
    x = ctx.activation(X, "X")
    ctx.act = (max(ctx.act[0], 0.0), ctx.act[1])
    _clamped(ctx, x, x.shape)


def Clip(ctx, input, min=None, max=None):  # noqa: A002 - ONNX's names (inputs from opset 11, attributes before)
    x = ctx.activation(input, "input")
    lo, hi = activation_range("Clip", [None, min, max], {})
    ctx.act = (float(np.maximum(ctx.act[0], lo)), float(np.minimum(ctx.act[1], hi)))  # min/max are shadowed
    _clamped(ctx, x, x.shape)


def MaxPool(ctx, X, *, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None,
            storage_order=0, strides=None):
    x = ctx.activation(X, "X")
    if kernel_shape is None:
        raise ctx.error("attribute kernel_shape is required")
    if storage_order != 0:
        raise ctx.attr_error("storage_order", storage_order, "only row-major (0) is supported")
    if len(ctx.node.outputs) > 1:
        raise ctx.error("the Indices output is not supported")
    kernel, strides, pads, dilations = _spatial(ctx, x, auto_pad, kernel_shape, strides, pads, dilations)
    h, w = _out_hw(ctx, x, kernel, strides, pads, dilations, bool(ceil_mode))
    shape = (1, x.shape[1], h, w)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads, "dilations": dilations, "ceil_mode": int(ceil_mode)}
    q = ctx.out_q if ctx.out_q is not None else x.quant
    if same_quant(q, x.quant):
        ctx.emit("MaxPool", [x.name], shape, attrs, quant=x.quant)
    else:  # max commutes with the (monotone) dequantization: pool, then requantize
        pooled = ctx.emit("MaxPool", [x.name], shape, attrs, out=f"{ctx.out}.pool", quant=x.quant, suffix=".pool")
        _requantize_to(ctx, ctx.graph.tensors[pooled], q, out=ctx.out)


def AveragePool(ctx, X, *, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None, kernel_shape=None,
                pads=None, strides=None):
    x = ctx.activation(X, "X")
    q = ctx.require_out_q()
    if kernel_shape is None:
        raise ctx.error("attribute kernel_shape is required")
    kernel, strides, pads, dilations = _spatial(ctx, x, auto_pad, kernel_shape, strides, pads, dilations)
    if dilations != [1, 1]:
        raise ctx.attr_error("dilations", dilations, "dilated average pooling is not supported")
    h, w = _out_hw(ctx, x, kernel, strides, pads, dilations, bool(ceil_mode))
    if ctx.act != (-INF, INF):
        raise ctx.error("a Relu/Clip fused after an average pool is not supported")
    ctx.emit("QAveragePool", [x.name], (1, x.shape[1], h, w),
             {"kernel_shape": kernel, "strides": strides, "pads": pads, "count_include_pad": int(count_include_pad),
              "ceil_mode": int(ceil_mode)}, quant=q)


def GlobalAveragePool(ctx, X):
    x = ctx.activation(X, "X")
    q = ctx.require_out_q()
    if len(x.shape) != 4:
        raise ctx.error(f"input shape {list(x.shape)}: only NCHW is supported")
    if ctx.act != (-INF, INF):
        raise ctx.error("a Relu/Clip fused after a global average pool is not supported")
    ctx.emit("QGlobalAveragePool", [x.name], (1, x.shape[1], 1, 1), quant=q)


def Concat(ctx, *inputs, axis):
    xs = [ctx.activation(t, f"#{i}") for i, t in enumerate(inputs)]
    rank = len(xs[0].shape)
    ax = axis + rank if axis < 0 else axis
    if not 0 <= ax < rank:
        raise ctx.attr_error("axis", axis, f"out of range for rank {rank}")
    for t in xs[1:]:
        if len(t.shape) != rank or any(a != b for i, (a, b) in enumerate(zip(t.shape, xs[0].shape, strict=True)) if i != ax):
            raise ctx.error(f"input shapes {[list(t.shape) for t in xs]} do not concatenate along axis {axis}")
    shape = list(xs[0].shape)
    shape[ax] = sum(t.shape[ax] for t in xs)
    q = ctx.out_q if ctx.out_q is not None else xs[0].quant
    if ctx.out_q is None and not all(same_quant(t.quant, q) for t in xs):
        raise ctx.error("inputs have different quantization and the output is not quantized")
    if ctx.act != (-INF, INF):
        raise ctx.error("a Relu/Clip fused after a Concat is not supported")
    ctx.emit("QConcat", [t.name for t in xs], shape, {"axis": ax}, quant=q)


def _reshape(ctx, x: Tensor, shape: list[int]) -> None:
    q = ctx.out_q if ctx.out_q is not None else x.quant
    if same_quant(q, x.quant):
        ctx.emit("Reshape", [x.name], shape, {"shape": tuple(shape)}, quant=x.quant)
    else:
        moved = ctx.emit("Reshape", [x.name], shape, {"shape": tuple(shape)}, out=f"{ctx.out}.reshape",
                         quant=x.quant, suffix=".reshape")
        _requantize_to(ctx, ctx.graph.tensors[moved], q, out=ctx.out)


def Flatten(ctx, input, *, axis=1):  # noqa: A002
    x = ctx.activation(input, "input")
    rank = len(x.shape)
    ax = axis + rank if axis < 0 else axis
    if not 0 <= ax <= rank:
        raise ctx.attr_error("axis", axis, f"out of range for rank {rank}")
    _reshape(ctx, x, [int(np.prod(x.shape[:ax], dtype=np.int64)), int(np.prod(x.shape[ax:], dtype=np.int64))])


def Reshape(ctx, data, shape, *, allowzero=0):
    x = ctx.activation(data, "data")
    target = ctx.const_array(shape, "shape", np.int64)
    if target is None:
        raise ctx.error("input shape must be a constant")
    out = [int(v) for v in target.reshape(-1)]
    if allowzero and 0 in out:
        raise ctx.attr_error("allowzero", allowzero, "zero-sized dimensions are not supported")
    out = [x.shape[i] if v == 0 else v for i, v in enumerate(out)]
    if out.count(-1) > 1:
        raise ctx.error(f"shape {list(target)} has more than one -1")
    if -1 in out:
        known = int(np.prod([v for v in out if v != -1], dtype=np.int64))
        out[out.index(-1)] = x.size // known if known else 0
    if int(np.prod(out, dtype=np.int64)) != x.size:
        raise ctx.error(f"cannot reshape {list(x.shape)} to {list(target)}")
    _reshape(ctx, x, out)


def _qlinear_quant(ctx, scale, zp, what: str, axis=None) -> QParams:
    return make_qparams(ctx, ctx.const_array(scale, f"{what} scale", np.float32), ctx.const_array(zp, f"{what} zero point"),
                        axis, what)


def QLinearConv(ctx, x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B=None, *,
                auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    xt = bind_activation_quant(ctx, x, _qlinear_quant(ctx, x_scale, x_zero_point, "x"), "x")
    wt = quantized_const(ctx, w, _qlinear_quant(ctx, w_scale, w_zero_point, "w", axis=0))
    ctx.out_q = _qlinear_quant(ctx, y_scale, y_zero_point, "y")
    bias = None
    if B is not None:
        bias = quantized_const(ctx, B, QParams((F32(xt.quant.scale) * np.asarray(wt.quant.scale, F32)).astype(F32),
                                               np.zeros_like(np.asarray(wt.quant.scale), np.int32),
                                               axis=0 if wt.quant.per_channel else None, dtype="int32"))
    Conv(ctx, xt, wt, bias, auto_pad=auto_pad, dilations=dilations, group=group, kernel_shape=kernel_shape,
         pads=pads, strides=strides)


def QLinearMatMul(ctx, a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point):
    at = bind_activation_quant(ctx, a, _qlinear_quant(ctx, a_scale, a_zero_point, "a"), "a")
    bt = quantized_const(ctx, b, _qlinear_quant(ctx, b_scale, b_zero_point, "b", axis=1))
    ctx.out_q = _qlinear_quant(ctx, y_scale, y_zero_point, "y")
    MatMul(ctx, at, bt)


def BatchNormalization(ctx, *args, **kwargs):
    raise ctx.error("BatchNormalization is only supported folded into a preceding float Conv "
                    "(quantize the float model with `genesys quantize`, which folds it first)")


# ----------------------------------------------------------------------------------------------------
# Dispatch.

OPS: dict[str, Callable] = {f.__name__: f for f in (
    Conv, Gemm, MatMul, Relu, Clip, Add, Mul, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Concat,
    BatchNormalization, QLinearConv, QLinearMatMul)}
SUPPORTED = sorted([*OPS, "QuantizeLinear", "DequantizeLinear"])
MOVEMENT = ("Reshape", "Flatten", "MaxPool")  # commute with a per-tensor dequantization: lowered in the int8 domain
ACTIVATIONS = ("Relu", "Clip")


def unsupported(node: Node) -> GenesysError:
    op = node.op.split(":", 1)[-1]
    return GenesysError(f"node '{node.name}': unsupported op type '{op}'; supported ONNX ops: {', '.join(SUPPORTED)}")


def call(ctx: LoweringContext, inputs: list, attrs: dict) -> list[Node]:
    """Lower ctx.node with its resolved inputs; returns the IR nodes built."""
    fn = OPS.get(ctx.op_type)
    if fn is None:
        raise unsupported(ctx.node)
    while inputs and inputs[-1] is None:
        inputs = inputs[:-1]
    try:
        inspect.signature(fn).bind(ctx, *inputs, **attrs)
    except TypeError as e:
        unknown = sorted(set(attrs) - set(inspect.signature(fn).parameters))
        why = f"unsupported attribute(s) {', '.join(unknown)}" if unknown else f"unsupported inputs ({e})"
        raise ctx.error(why) from None
    fn(ctx, *inputs, **attrs)
    return ctx.emitted
