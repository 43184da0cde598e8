"""Whole networks: interpret(frontend(qdq_model)) against ONNX Runtime, tensor by tensor.

Every int8 tensor with an ONNX twin is compared, each node on ORT's own values of its inputs. The only
differences allowed are ±1 flips `ort_compare` proves to be ORT's float32 rounding at a k + ½ tie (about
2.5–4.5 per million outputs of a float-path op; about 3 % of a power-of-two average pool that shares its
input's scale, where exact ties are common: ResNet-50 at 64×64). Each flip then propagates in the
free-running run, which the summary reports (`pytest -s` prints it) instead of hiding.
"""

from __future__ import annotations

import pytest

from genesys.compiler.models import get_model
from genesys.compiler.pipeline import frontend
from genesys.compiler.quantize import random_inputs

from .ort_compare import compare
from .zoo import quantized


def _check(name: str, resolution: int | None, n_inputs: int) -> None:
    qdq = quantized(name, resolution)
    graph = frontend(qdq)
    for i, feeds in enumerate(random_inputs(get_model(name, resolution), n_inputs, seed=100)):
        cmp = compare(qdq, graph, feeds)
        print(f"{name}@{resolution} input {i}: {cmp.summary()}")
        assert cmp.tensors >= 4
        assert not cmp.unexplained, "\n".join(cmp.unexplained)
        if cmp.n_flips == 0:  # nothing rounded differently, so nothing may differ downstream either
            assert all(m == 0 for m, _, _ in cmp.outputs.values()), cmp.summary()


def test_mlp():
    _check("mlp", None, 3)


def test_resnet18_32x32():
    _check("resnet18", 32, 1)


def test_mobilenetv2_32x32():
    _check("mobilenetv2", 32, 2)


@pytest.mark.slow
def test_resnet50_64x64():
    _check("resnet50", 64, 2)


@pytest.mark.slow
def test_resnet18_mobilenetv2_more_inputs():
    _check("resnet18", 64, 4)
    _check("mobilenetv2", 64, 4)
