"""QGlobalAveragePool on the SIMD: the average over the whole image (a window the size of the input)."""

from __future__ import annotations

from genesys.compiler.backend.codelets import register
from genesys.compiler.backend.codelets.base import SimdCodelet
from genesys.compiler.backend.codelets.pool import average


@register("QGlobalAveragePool")
def lower_globalaveragepool(graph, node, ctx) -> SimdCodelet:
    return average(graph, node, True)
