"""Quantized built-in models for the tests, built once per process."""

from __future__ import annotations

import functools

import onnx

from genesys.compiler.models import get_model
from genesys.compiler.quantize import quantize_model


@functools.cache
def _quantized(name: str, resolution: int | None) -> bytes:
    return quantize_model(get_model(name, resolution), None, samples=8, seed=0).SerializeToString()


def quantized(name: str, resolution: int | None = None) -> onnx.ModelProto:
    """The built-in model quantized with 8 seeded random calibration samples (a fresh copy)."""
    model = onnx.ModelProto()
    model.ParseFromString(_quantized(name, resolution))
    return model
