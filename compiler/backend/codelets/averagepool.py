"""QAveragePool on the SIMD: a window reduction of dequantized values, divided by the window size and
quantized (see pool.py)."""

from __future__ import annotations

from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.base import SimdCodelet
from genesys.compiler.backend.codelets.pool import average


@register("QAveragePool")
def lower_averagepool(graph, node, ctx) -> SimdCodelet:
    return average(graph, node, False)
