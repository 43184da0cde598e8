"""The references a compiled program is held to, and the numpy kernels they share with the model zoo.

`ort_reference(model, inputs)` runs ONNX Runtime (CPU, `ORT_DISABLE_ALL`: the QDQ model *as written*,
DequantizeLinear → float op → QuantizeLinear, never ORT's fused integer kernels).

`interpret(graph, inputs)` executes the IR in numpy exactly as the accelerator is meant to: int32
accumulation, float32 requantization, round half to even, saturation. Its semantics per op:

| op | result |
| --- | --- |
| Quantize | `sat(rne(float32(x) / s) + zp)` (ORT's QuantizeLinear divides) |
| Dequantize | `float32(x − zp) × s` |
| QConv, QGemm | `acc = Σ (x − zp_x)·w + b` (int32; padding is real 0, i.e. `x = zp_x`); `q = clamp(rne(float32(acc) × multiplier[c]) + zp_y, act_min, act_max)`, `multiplier = float32(float32(s_x·s_w[c]) / s_y)` |
| QAdd, QMul | `a' = float32(a − zp_a) × s_a`, `b'` alike, `y = a' + b'` (or `a' × b'`) in float32, `q = clamp(rne(y / s_y) + zp_y, act_min, act_max)` |
| MaxPool | max over the window (padding never wins); same parameters in and out |
| QAveragePool, QGlobalAveragePool | `S = Σ (x − zp_x)` over the window (int32), `n` its divisor, `q = sat(rne(float32(S) × float32(float32(s_x / n) / s_y)) + zp_y)` |
| QClamp | `min(max(x, act_min), act_max)` (same parameters in and out) |
| QConcat | each input with other parameters than the output: `sat(rne(float32(float32(x − zp) × s) / s_y) + zp_y)`; then concatenation (one input: a requantization) |
| Reshape | same data, new shape |

`clamp` saturates to int8 as well (act bounds are int8 values). Every float32 operation is one IEEE
binary32 operation rounded to nearest even, in the order written.

How these were found (ORT 1.31, CPU, thousands of random layers; `tests/compiler/test_reference*.py`
keep measuring them):

- QuantizeLinear is exactly `rne(y / s_y) + zp` on ORT's own float output: 0 mismatches in 39 M outputs.
- Add and Mul are reproduced exactly by the float32 expressions above (DequantizeLinear is
  `float32(q − zp) × s`, then one float32 add/multiply, then the division): 0 mismatches in 2.7 M outputs.
  DQ → Relu/Clip → Q, DQ → Concat → Q and DQ → MaxPool → Q are exact for the same reason.
- QLinearConv and QLinearMatMul are ORT integer kernels computing exactly the QConv/QGemm formula above,
  except uint8 × int8 on x86 without VNNI, where MLAS saturates pair sums to int16 (VPMADDUBSW):
  `ort_reference` therefore gives those ops their int8 weights as uint8 (+128, same w − zp), which ORT runs
  exactly (see `_exact_u8s8`).
- A QDQ Conv/Gemm runs ORT's *float* convolution (MLAS, FMA accumulation order of its own) on the
  dequantized values. No integer formula reproduces its rounding: over 39.3 M outputs of random layers
  (1×1 to 7×7, strides 1–2, depthwise and dense, up to 128 channels) the candidates mismatched ORT in
  `float32(acc)×float32(s_x s_w)/s_y`: 91, `float32(acc)×float32(float32(s_x s_w)/s_y)`: 103,
  `float32(acc)×float32(s_x s_w/s_y)` (float64 ratio): 98, exact float64: 106 outputs — every one by 1, a
  rate of about 2.5·10⁻⁶. The differences between candidates are within noise (where the first two
  disagree, ORT sided 12:8), so the IR uses the single-multiplier form: it is exact for QLinear models
  and needs one float32 multiply on the SIMD (FXP32_TO_FP32, MUL, FP32_TO_FXP32).
- Average pools likewise run in float in ORT (MLAS: a global pool sums in four interleaved lanes, a
  windowed one sums columns then rows, then divides by float32(n)); integer sums with the multiplier above
  mismatch at about 3·10⁻⁶ on random layers (18 in 6.4 M outputs), like any other candidate. One case is
  systematic: when n is a power of two and the output shares the input's scale (ORT's quantizer gives an
  AveragePool its input's parameters), S/n hits exact k + ½ ties and ORT breaks them by its float rounding
  noise, not to even: ResNet-50 at 64×64 (a 2×2 whole-map pool) flips about 3 % of that pool's outputs.
  At 224 (7×7, n = 49) no tie is possible. Emulating MLAS's summation order instead (dequantize each
  element in float32, four lane sums, (l0 + l2) + (l1 + l3), tail, ÷ float32(n), ÷ s_y) matched ORT in
  every global pool tried (150 layers, 0 mismatches), at the price of a float32 reduction on the SIMD.

So on a QDQ model `interpret` equals ORT bit for bit except for these ±1 rounding flips of float
convolutions, matrix products and average pools (which then propagate downstream). `tests/compiler`
measures and reports them: 71 flips in 15.9 M outputs of 1500 random layers (4.5·10⁻⁶), none elsewhere.
"""

from __future__ import annotations

import os

import numpy as np
import onnx

from genesys.compiler.ir import Graph, Node, QParams
from genesys.errors import GenesysError

F32 = np.float32


def pool_out_size(size: int, k: int, stride: int, pad_begin: int, pad_end: int, dilation: int = 1,
                  ceil_mode: bool = False) -> int:
    """ONNX Runtime's output size rule; with ceil_mode a window must start inside the input or the begin pad."""
    span = size + pad_begin + pad_end - dilation * (k - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def windows(x: np.ndarray, kernel, strides, pads, dilations=(1, 1), pad_value=0, ceil_mode: bool = False) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) view of the sliding windows of x (N, C, H, W); pads = [top, left, bottom, right]."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    top, left, bottom, right = pads
    n, c, h, w = x.shape
    ho = pool_out_size(h, kh, sh, top, bottom, dh, ceil_mode)
    wo = pool_out_size(w, kw, sw, left, right, dw, ceil_mode)
    # ceil_mode windows may run past the end padding: extend with pad_value (never selected / counted by callers)
    extra_h = max(0, (ho - 1) * sh + dh * (kh - 1) + 1 - (h + top + bottom))
    extra_w = max(0, (wo - 1) * sw + dw * (kw - 1) + 1 - (w + left + right))
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom + extra_h), (left, right + extra_w)), constant_values=pad_value)
    win = np.lib.stride_tricks.sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return win[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]


def conv2d(x: np.ndarray, w: np.ndarray, strides, pads, dilations, group: int) -> np.ndarray:
    """Grouped 2-D convolution of x (N, C, H, W) with w (M, C/group, kh, kw), zero padding; x's dtype."""
    win = windows(x, w.shape[2:], strides, pads, dilations)
    m, cg = w.shape[:2]
    if cg == 1 and m == group:  # depthwise: a few multiply-adds per output, no BLAS needed
        return np.einsum("nchwij,cij->nchw", win, w[:, 0].astype(x.dtype))
    mg = m // group
    outs = []
    for g in range(group):
        xs = win[:, g * cg:(g + 1) * cg]
        outs.append(np.tensordot(xs, w[g * mg:(g + 1) * mg].astype(x.dtype), axes=([1, 4, 5], [1, 2, 3])))
    out = np.concatenate(outs, axis=-1) if group > 1 else outs[0]  # (N, Ho, Wo, M)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def conv2d_int(x: np.ndarray, w: np.ndarray, strides, pads, dilations, group: int) -> np.ndarray:
    """Exact integer convolution (int64 result) of integer arrays, zero padding."""
    return np.rint(conv2d(x.astype(np.float64), w.astype(np.float64), strides, pads, dilations, group)).astype(np.int64)


# ----------------------------------------------------------------------------------------------------
# ONNX Runtime.


def ort_reference(model: onnx.ModelProto | str | os.PathLike, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """ONNX Runtime's outputs for the model as written (CPU, no graph optimizations, one thread)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    model = _exact_u8s8(model)
    if model.ir_version > 10:  # onnx ≥ 1.23 writes IR 14 by default, which ORT 1.31 refuses; the graph is the same
        model = onnx.ModelProto.FromString(model.SerializeToString())
        model.ir_version = 10
    data = model.SerializeToString()
    session = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(inputs)), strict=True))


# QLinear ops whose int8 weight ORT must not see as int8 next to a uint8 activation: (x zero point, weight, its
# zero point) input positions.
_QLINEAR_U8 = {"QLinearConv": (2, 3, 5), "QLinearMatMul": (2, 3, 5)}


def _exact_u8s8(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with every uint8-activation × int8-weight QLinearConv/QLinearMatMul given the same weight as
    uint8 (w + 128, zero point + 128: the same integers w − zp, so the same ONNX result).

    ONNX Runtime's uint8 × int8 integer kernels on x86 without VNNI (MLAS, AVX2/AVX-512BW) multiply with
    VPMADDUBSW, which adds each pair of adjacent u8·s8 products into an int16 *with saturation*; the pair sums
    of real layers exceed 32767 (255·127·2 = 64770), so ORT's accumulator is not Σ x·w and its outputs are off
    by up to hundreds of quantization steps (ONNX Runtime documents this as a known limitation of U8S8 on those
    CPUs). Its uint8 × uint8 kernels widen to int16 before multiplying and are exact on every CPU, as are its
    int8 × int8 and depthwise kernels. The accelerator and `interpret` compute the exact int32 accumulation the
    ONNX operator defines, so the reference is made CPU independent by giving ORT the exact kernel.
    """
    def targets(m: onnx.ModelProto):
        inits = {t.name: t for t in m.graph.initializer}
        for n in m.graph.node:
            pos = _QLINEAR_U8.get(n.op_type) if n.domain in ("", "ai.onnx") else None
            if pos is None or len(n.input) <= pos[2]:
                continue
            xz, w, wz = (inits.get(n.input[i]) for i in pos)
            if (xz is not None and w is not None and wz is not None and xz.data_type == onnx.TensorProto.UINT8
                    and w.data_type == onnx.TensorProto.INT8 and wz.data_type == onnx.TensorProto.INT8):
                yield n, pos[1:], inits

    if next(targets(model), None) is None:
        return model
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())  # never modify the caller's model
    g = model.graph
    names = {t.name for t in g.initializer} | {o for n in g.node for o in n.output} | {i.name for i in g.input}
    made: dict[str, str] = {}  # int8 initializer -> its uint8 twin (shared weights are converted once)
    for n, positions, inits in list(targets(model)):
        for i in positions:
            src = n.input[i]
            if src not in made:
                new = f"{src}.as_uint8"
                while new in names:
                    new += "_"
                names.add(new)
                data = numpy_helper.to_array(inits[src]).astype(np.int16) + 128
                g.initializer.append(numpy_helper.from_array(data.astype(np.uint8), new))
                made[src] = new
            n.input[i] = made[src]
    return model


# ----------------------------------------------------------------------------------------------------
# The IR interpreter.


def _scalar(a) -> F32:
    return F32(np.asarray(a, F32).reshape(-1)[0])


def _zp(q: QParams) -> int:
    return int(np.asarray(q.zero_point).reshape(-1)[0])


def _sat(v: np.ndarray, lo: int = -128, hi: int = 127) -> np.ndarray:
    """v (float, already rounded) + nothing: saturate to [lo, hi] then to int8. min(max(.)) like ONNX Clip."""
    return np.minimum(np.maximum(np.clip(v, -128, 127), lo), hi).astype(np.int8)


def requantize_acc(acc: np.ndarray, mult: np.ndarray, zp: int, lo: int = -128, hi: int = 127) -> np.ndarray:
    """clamp(rne(float32(acc) × mult) + zp): the accelerator's requantization (mult broadcast against acc)."""
    v = acc.astype(np.int32).astype(F32) * mult.astype(F32)
    return _sat(np.rint(v).astype(np.float64) + zp, lo, hi)


def dequantize(x: np.ndarray, q: QParams) -> np.ndarray:
    return (x.astype(np.int32) - _zp(q)).astype(F32) * _scalar(q.scale)


def quantize(y: np.ndarray, q: QParams, lo: int = -128, hi: int = 127) -> np.ndarray:
    """ORT's QuantizeLinear of float32 values: rne(y / s) + zp, saturated (then clamped to [lo, hi])."""
    v = np.rint(y.astype(F32) / _scalar(q.scale)).astype(np.float64) + _zp(q)
    return _sat(np.nan_to_num(v, nan=0.0, posinf=127, neginf=-128), lo, hi)


def pool_multiplier(s_x, n, s_y) -> np.ndarray:
    """float32(float32(s_x / n) / s_y): the average pools' requantization factor for a window of n values."""
    return ((_scalar(s_x) / np.asarray(n, F32)) / _scalar(s_y)).astype(F32)


def pool_counts(shape, attrs: dict) -> np.ndarray:
    """(Ho, Wo) divisors of an average pool, as ORT computes them: the window clipped to the input (or, with
    count_include_pad, to the padded input; a ceil_mode window past the end padding still counts less)."""
    h, w = shape[2:]
    top, left, bottom, right = attrs["pads"]
    ones = np.ones((1, 1, h, w))
    if attrs.get("count_include_pad", 0):
        ones = np.pad(ones, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=1)
        pads = [0, 0, 0, 0]
    else:
        pads = attrs["pads"]
    win = windows(ones, attrs["kernel_shape"], attrs["strides"], pads, ceil_mode=bool(attrs.get("ceil_mode", 0)))
    counts = win.sum(axis=(4, 5))[0, 0]
    if attrs.get("count_include_pad", 0):  # windows() of the pre-padded array; re-derive the real output grid
        ho = pool_out_size(h, attrs["kernel_shape"][0], attrs["strides"][0], top, bottom, 1, bool(attrs.get("ceil_mode", 0)))
        wo = pool_out_size(w, attrs["kernel_shape"][1], attrs["strides"][1], left, right, 1, bool(attrs.get("ceil_mode", 0)))
        counts = counts[:ho, :wo]
    return counts.astype(np.int64)


def _conv(g: Graph, n: Node, env) -> np.ndarray:
    x, w, b = (g.tensors[i] for i in n.inputs)
    xi = env[x.name].astype(np.int64) - _zp(x.quant)
    a = n.attrs
    acc = conv2d_int(xi, g.tensors[w.name].data, a["strides"], a["pads"], a["dilations"], a["group"])
    acc = acc + b.data.astype(np.int64).reshape(1, -1, 1, 1)
    mult = np.asarray(a["multiplier"], F32).reshape(1, -1, 1, 1)
    return requantize_acc(acc, mult, _zp(g.tensors[n.outputs[0]].quant), a["act_min"], a["act_max"])


def _gemm(g: Graph, n: Node, env) -> np.ndarray:
    x, w, b = (g.tensors[i] for i in n.inputs)
    xi = (env[x.name].astype(np.int64) - _zp(x.quant)).astype(np.float64)
    acc = np.rint(xi @ w.data.astype(np.float64)).astype(np.int64) + b.data.astype(np.int64).reshape(1, -1)
    mult = np.asarray(n.attrs["multiplier"], F32).reshape(1, -1)
    return requantize_acc(acc, mult, _zp(g.tensors[n.outputs[0]].quant), n.attrs["act_min"], n.attrs["act_max"])


def _binary(g: Graph, n: Node, env) -> np.ndarray:
    a, b = (g.tensors[i] for i in n.inputs)
    fa, fb = dequantize(env[a.name], a.quant), dequantize(env[b.name], b.quant)
    y = fa + fb if n.op == "QAdd" else fa * fb
    return quantize(y, g.tensors[n.outputs[0]].quant, n.attrs["act_min"], n.attrs["act_max"])


def _maxpool(g: Graph, n: Node, env) -> np.ndarray:
    a = n.attrs
    x = env[n.inputs[0]].astype(np.int16)
    win = windows(x, a["kernel_shape"], a["strides"], a["pads"], a["dilations"], pad_value=-32768,
                  ceil_mode=bool(a["ceil_mode"]))
    return win.max(axis=(4, 5)).astype(np.int8)


def _avgpool(g: Graph, n: Node, env) -> np.ndarray:
    x = g.tensors[n.inputs[0]]
    xi = env[x.name].astype(np.int64) - _zp(x.quant)
    out_q = g.tensors[n.outputs[0]].quant
    if n.op == "QGlobalAveragePool":
        s = xi.sum(axis=(2, 3), keepdims=True)
        counts = np.array([[x.shape[2] * x.shape[3]]])
    else:
        a = n.attrs
        s = windows(xi, a["kernel_shape"], a["strides"], a["pads"], ceil_mode=bool(a["ceil_mode"])).sum(axis=(4, 5))
        counts = pool_counts(x.shape, a)
    return requantize_acc(s, pool_multiplier(x.quant.scale, counts, out_q.scale)[None, None], _zp(out_q))


def _concat(g: Graph, n: Node, env) -> np.ndarray:
    out_q = g.tensors[n.outputs[0]].quant
    parts = []
    for name in n.inputs:
        q = g.tensors[name].quant
        same = np.array_equal(q.scale, out_q.scale) and np.array_equal(q.zero_point, out_q.zero_point)
        parts.append(env[name] if same else quantize(dequantize(env[name], q), out_q))
    return np.concatenate(parts, axis=n.attrs["axis"])


def run_node(g: Graph, n: Node, env: dict[str, np.ndarray]) -> np.ndarray:
    """One IR node on the values in env (name → array): its output array."""
    t = g.tensors
    if n.op == "Quantize":
        return quantize(env[n.inputs[0]], t[n.outputs[0]].quant)
    if n.op == "Dequantize":
        return dequantize(env[n.inputs[0]], t[n.inputs[0]].quant)
    if n.op == "QConv":
        return _conv(g, n, env)
    if n.op == "QGemm":
        return _gemm(g, n, env)
    if n.op in ("QAdd", "QMul"):
        return _binary(g, n, env)
    if n.op == "MaxPool":
        return _maxpool(g, n, env)
    if n.op in ("QAveragePool", "QGlobalAveragePool"):
        return _avgpool(g, n, env)
    if n.op == "QClamp":
        return np.minimum(np.maximum(env[n.inputs[0]], n.attrs["act_min"]), n.attrs["act_max"]).astype(np.int8)
    if n.op == "QConcat":
        return _concat(g, n, env)
    if n.op == "Reshape":
        return env[n.inputs[0]].reshape(n.attrs["shape"])
    raise GenesysError(f"node '{n.name}': the interpreter has no IR op '{n.op}'")


def interpret(graph: Graph, inputs: dict[str, np.ndarray], trace: bool = False) -> dict[str, np.ndarray]:
    """Run the IR graph on numpy inputs; returns the graph outputs (every tensor with trace=True)."""
    env: dict[str, np.ndarray] = {k: t.data for k, t in graph.tensors.items() if t.is_const}
    for name in graph.inputs:
        if name not in inputs:
            raise GenesysError(f"input '{name}' of graph '{graph.name}' was not given (have: {', '.join(inputs) or 'none'})")
        value = np.asarray(inputs[name])
        want = graph.tensors[name]
        if tuple(value.shape) != tuple(want.shape):
            raise GenesysError(f"input '{name}' has shape {list(value.shape)}, graph '{graph.name}' expects {list(want.shape)}")
        env[name] = value.astype(want.dtype)
    for n in graph.nodes:
        out = run_node(graph, n, env)
        want = graph.tensors[n.outputs[0]].shape
        if tuple(out.shape) != tuple(want):
            raise GenesysError(f"node '{n.name}' ({n.op}) produced shape {list(out.shape)}, its tensor says {list(want)}")
        env[n.outputs[0]] = out
    return env if trace else {name: env[name] for name in graph.outputs}
