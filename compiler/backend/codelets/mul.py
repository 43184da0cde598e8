"""QMul on the SIMD: both operands dequantized to binary32, multiplied, quantized to the output."""

from __future__ import annotations

from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.add import lower_binary
from genesys.compiler.backend.codelets.base import SimdCodelet


@register("QMul")
def lower_mul(graph, node, ctx) -> SimdCodelet:
    return lower_binary(graph, node, "MUL")
