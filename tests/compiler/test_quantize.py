"""`quantize_model`, its error report, and `genesys quantize`."""

from __future__ import annotations

import argparse

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from genesys.compiler import quantize as QZ
from genesys.compiler.models import get_model
from genesys.errors import GenesysError

from .zoo import quantized


def _ops(model):
    return [n.op_type for n in model.graph.node]


def test_quantized_mlp_is_int8_qdq_with_per_channel_weights():
    q = QZ.quantize_model(get_model("mlp"), samples=4, seed=0)
    assert q.ir_version <= 10
    ops = _ops(q)
    assert ops.count("Gemm") == 3 and "QuantizeLinear" in ops and "DequantizeLinear" in ops
    inits = {i.name: numpy_helper.to_array(i) for i in q.graph.initializer}
    weight_dqs = [n for n in q.graph.node if n.op_type == "DequantizeLinear" and inits.get(n.input[0]) is not None
                  and inits[n.input[0]].dtype == np.int8]
    assert len(weight_dqs) == 3
    for n in weight_dqs:
        assert inits[n.input[1]].ndim == 1 and inits[n.input[1]].size > 1  # per channel
        assert not inits[n.input[2]].any()  # symmetric weights
    acts = [n for n in q.graph.node if n.op_type == "QuantizeLinear"]
    assert all(inits[n.input[2]].dtype == np.int8 for n in acts)


def test_quantization_is_deterministic_and_seeded():
    m = get_model("mlp")
    a, b = QZ.quantize_model(m, samples=3, seed=1), QZ.quantize_model(m, samples=3, seed=1)
    c = QZ.quantize_model(m, samples=3, seed=2)
    assert a.SerializeToString() == b.SerializeToString()
    assert a.SerializeToString() != c.SerializeToString()


def test_batchnorm_is_folded_before_quantization():
    q = quantized("mobilenetv2", 32)
    assert "BatchNormalization" not in _ops(q)
    assert _ops(q).count("Conv") == 52


def test_user_calibration_inputs():
    m = get_model("mlp")
    rng = np.random.default_rng(0)
    stacked = {"input": rng.standard_normal((5, 1, 1, 28, 28)).astype(np.float32)}
    batched = {"input": stacked["input"][:, 0]}  # samples along the batch axis
    a = QZ.quantize_model(m, stacked)
    b = QZ.quantize_model(m, batched)
    assert a.SerializeToString() == b.SerializeToString()
    assert len(QZ.split_samples(m, stacked)) == 5
    with pytest.raises(GenesysError, match=r"array 'input' has shape \[3, 28\]; model input 'input' is \[1, 1, 28, 28\]"):
        QZ.quantize_model(m, {"input": np.zeros((3, 28), np.float32)})
    with pytest.raises(GenesysError, match="no array for model input"):
        QZ.quantize_model(m, {"image": np.zeros((1, 1, 28, 28), np.float32)})


def test_already_quantized_model_is_refused():
    with pytest.raises(GenesysError, match="already quantized"):
        QZ.quantize_model(quantized("mlp"))


def test_error_report_resnet18():
    """The figures quoted in the report: resnet18 at 32×32, 8 calibration samples, 8 held-out inputs."""
    m = get_model("resnet18", 32)
    report = QZ.quantization_error(m, quantized("resnet18", 32), QZ.random_inputs(m, 8, seed=1))
    (r,) = report
    print(QZ.format_report(report, 8, "held-out seeded N(0, 1) inputs"))
    assert r.top1 is not None and 0.5 <= r.top1 <= 1.0  # a random-weight net: logits are close together
    assert r.sqnr_db > 15
    assert 0 < r.mean_abs < r.max_abs


def test_error_report_metrics_are_what_they_say():
    m = get_model("mlp")
    same = QZ.quantization_error(m, m, QZ.random_inputs(m, 2, 0))
    assert same[0].max_abs == 0 and same[0].sqnr_db == float("inf") and same[0].top1 == 1.0


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="genesys")
    sub = parser.add_subparsers()
    QZ.register(sub)
    args = parser.parse_args(["quantize", *argv])
    return args.func(args)


def test_cli_quantize_file(tmp_path, capsys):
    src = tmp_path / "mlp.onnx"
    onnx.save(get_model("mlp"), src)
    assert _cli(str(src), "--samples", "3", "--seed", "4") == 0
    out = capsys.readouterr().out
    assert "SQNR" in out and "top-1 agreement" in out and "held-out" in out
    written = tmp_path / "mlp_qdq.onnx"
    assert f"wrote {written}" in out
    assert "QuantizeLinear" in _ops(onnx.load(written))


def test_cli_quantize_builtin_with_inputs(tmp_path, capsys):
    npz = tmp_path / "in.npz"
    np.savez(npz, input=np.random.default_rng(0).standard_normal((4, 1, 1, 16, 16)).astype(np.float32))
    out = tmp_path / "q.onnx"
    assert _cli("mlp", "--resolution", "16", "--input", str(npz), "-o", str(out)) == 0
    assert "over 4 inputs from" in capsys.readouterr().out
    assert out.exists()


def test_cli_errors(tmp_path):
    with pytest.raises(GenesysError, match="not found"):
        _cli(str(tmp_path / "missing.onnx"))
    with pytest.raises(GenesysError, match="cannot read inputs"):
        _cli("mlp", "--input", str(tmp_path / "missing.npz"))
    with pytest.raises(GenesysError, match="--samples must be at least 1"):
        _cli("mlp", "--samples", "0")
