"""Float ONNX model → int8 QDQ model, with a report of the error the quantization costs.

`quantize_model` folds constants and BatchNormalization first (`compiler.pipeline.clean_float`), then calls
`onnxruntime.quantization.quantize_static` (QDQ format, int8 activations and weights, per-channel weights,
MinMax calibration) with a CalibrationDataReader over the user's inputs, or over seeded N(0, 1) inputs.

`quantization_error` runs the float and the QDQ model in ONNX Runtime (no graph optimizations) on the same
inputs and reports, per output: the largest and mean absolute error, the SQNR
`10·log10(Σ float² / Σ (float − quantized)²)` in dB, and, for classifier outputs (shape [1, K], K ≥ 2), the
top-1 agreement (fraction of inputs whose argmax is unchanged).

    genesys quantize model.onnx [-o out.onnx] [--input in.npz] [--samples 8] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from genesys.compiler.frontend.onnx_loader import load
from genesys.compiler.pipeline import clean_float
from genesys.compiler.reference import ort_reference
from genesys.errors import GenesysError


def input_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    inits = {i.name for i in model.graph.initializer}
    shapes = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = tuple(dims)
    return shapes


def random_inputs(model: onnx.ModelProto, samples: int, seed: int) -> list[dict[str, np.ndarray]]:
    """`samples` seeded N(0, 1) float32 inputs (the built-in models expect normalised images)."""
    rng = np.random.default_rng(seed)
    shapes = input_shapes(model)
    return [{k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()} for _ in range(samples)]


def split_samples(model: onnx.ModelProto, arrays: dict[str, np.ndarray], where: str = "inputs") -> list[dict[str, np.ndarray]]:
    """User arrays → samples: each array is one input of the model's shape, or several stacked along a new
    leading axis (or along the batch axis when the model's batch is 1)."""
    shapes = input_shapes(model)
    missing = sorted(set(shapes) - set(arrays))
    if missing:
        raise GenesysError(f"{where}: no array for model input(s) {', '.join(missing)} (have: {', '.join(arrays) or 'none'})")
    per_input = {}
    for name, shape in shapes.items():
        a = np.asarray(arrays[name], dtype=np.float32)
        if a.shape == shape:
            per_input[name] = [a]
        elif a.ndim == len(shape) + 1 and a.shape[1:] == shape:
            per_input[name] = [x for x in a]
        elif shape and shape[0] == 1 and a.ndim == len(shape) and a.shape[1:] == shape[1:]:
            per_input[name] = [x[None] for x in a]
        else:
            raise GenesysError(f"{where}: array '{name}' has shape {list(a.shape)}; model input '{name}' is "
                               f"{list(shape)} (give one such array, or several stacked on a leading axis)")
    counts = {len(v) for v in per_input.values()}
    if len(counts) != 1:
        raise GenesysError(f"{where}: inputs have different sample counts {sorted(counts)}")
    return [{k: v[i] for k, v in per_input.items()} for i in range(counts.pop())]


def _reader(samples: list[dict[str, np.ndarray]]):
    """An onnxruntime.quantization.CalibrationDataReader over a list of input dicts (ORT imported lazily)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(samples)

        def get_next(self):
            return next(self._it, None)

    return Reader()


def quantize_model(float_model: onnx.ModelProto | str | Path, calib: dict[str, np.ndarray] | None = None,
                   samples: int = 8, seed: int = 0) -> onnx.ModelProto:
    """An int8 QDQ ModelProto of the float model, calibrated on `calib` (arrays per input, see
    `split_samples`) or on `samples` seeded N(0, 1) inputs."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    model = clean_float(float_model)
    if any(n.op_type in ("QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul") for n in model.graph.node):
        raise GenesysError("the model is already quantized (it has QuantizeLinear/DequantizeLinear or QLinear ops)")
    data = split_samples(model, calib, "calibration inputs") if calib is not None else random_inputs(model, samples, seed)
    if not data:
        raise GenesysError("no calibration samples (give --samples ≥ 1 or a non-empty --input)")
    reader = _reader(data)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static warns about pre-processing on every call
    try:
        with tempfile.TemporaryDirectory(prefix="genesys-quant-") as tmp:
            src, dst = Path(tmp) / "float.onnx", Path(tmp) / "qdq.onnx"
            onnx.save(model, src)
            quantize_static(str(src), str(dst), reader, quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)
            qdq = onnx.load(str(dst))
    finally:
        root.setLevel(level)
    qdq.ir_version = min(qdq.ir_version, 10)  # ORT 1.31 refuses newer IR versions
    return load(qdq)


@dataclass
class OutputError:
    name: str
    max_abs: float
    mean_abs: float
    sqnr_db: float
    top1: float | None  # fraction of samples with the same argmax (classifier outputs only)


def quantization_error(float_model: onnx.ModelProto, qdq_model: onnx.ModelProto,
                       inputs: list[dict[str, np.ndarray]]) -> list[OutputError]:
    """Error of the QDQ model against the float model (both in ONNX Runtime) over the given inputs."""
    outs_f = [ort_reference(float_model, x) for x in inputs]
    outs_q = [ort_reference(qdq_model, x) for x in inputs]
    report = []
    for name in outs_f[0]:
        f = np.stack([o[name] for o in outs_f]).astype(np.float64)
        q = np.stack([o[name] for o in outs_q]).astype(np.float64)
        err = np.abs(f - q)
        noise = float(np.sum((f - q) ** 2))
        sqnr = math.inf if noise == 0 else 10 * math.log10(float(np.sum(f**2)) / noise)
        shape = f.shape[1:]
        top1 = None
        if len(shape) == 2 and shape[0] == 1 and shape[1] >= 2:
            top1 = float(np.mean(f.reshape(len(f), -1).argmax(1) == q.reshape(len(q), -1).argmax(1)))
        report.append(OutputError(name, float(err.max()), float(err.mean()), sqnr, top1))
    return report


def format_report(report: list[OutputError], n: int, source: str) -> str:
    lines = [f"quantization error against the float model, over {n} {source}:"]
    for r in report:
        top1 = f", top-1 agreement {r.top1:.0%}" if r.top1 is not None else ""
        lines.append(f"  {r.name}: max |error| {r.max_abs:.4g}, mean |error| {r.mean_abs:.4g}, "
                     f"SQNR {r.sqnr_db:.1f} dB{top1}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# CLI.


def _load_source(spec: str, resolution: int | None, seed: int) -> tuple[onnx.ModelProto, str]:
    from genesys.compiler.models import MODELS, get_model

    path = Path(spec)
    if not path.exists() and spec in MODELS:
        return get_model(spec, resolution, seed), spec if resolution is None else f"{spec}_{resolution}"
    if resolution is not None:
        raise GenesysError("--resolution applies to built-in models only")
    return load(path), path.stem


def cmd_quantize(args: argparse.Namespace) -> int:
    model, stem = _load_source(args.model, args.resolution, args.seed)
    calib = None
    if args.input:
        try:
            with np.load(args.input) as npz:
                calib = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as e:
            raise GenesysError(f"cannot read inputs '{args.input}': {e}") from None
    if args.samples < 1:
        raise GenesysError(f"--samples must be at least 1 (got {args.samples})")
    qdq = quantize_model(model, calib, args.samples, args.seed)
    out = Path(args.output) if args.output else Path(args.model).with_name(f"{stem}_qdq.onnx")
    try:
        onnx.save(qdq, out)
    except OSError as e:
        raise GenesysError(f"cannot write '{out}': {e.strerror or e}") from None
    if calib is not None:
        inputs, source = split_samples(model, calib, args.input), f"inputs from {args.input} (also the calibration set)"
    else:
        inputs, source = random_inputs(model, args.samples, args.seed + 1), "held-out seeded N(0, 1) inputs"
    print(format_report(quantization_error(model, qdq, inputs), len(inputs), source))
    print(f"wrote {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("quantize", help="quantize a float ONNX model to int8 QDQ (ONNX Runtime, per-channel weights)",
                       description="Quantize a float ONNX model (or a built-in model by name) to an int8 QDQ model "
                                   "and report its error against the float model.")
    p.add_argument("model", help="float .onnx file, or a built-in model name (resnet50, resnet18, mobilenetv2, mlp)")
    p.add_argument("-o", "--output", help="output .onnx (default: <model>_qdq.onnx beside the input)")
    p.add_argument("--input", help=".npz of calibration inputs keyed by input name (one sample, or stacked on axis 0)")
    p.add_argument("--samples", type=int, default=8, help="seeded random calibration samples without --input (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random samples and built-in weights (default 0)")
    p.add_argument("--resolution", type=int, help="image size of a built-in model (default: the model's own)")
    p.set_defaults(func=cmd_quantize)
