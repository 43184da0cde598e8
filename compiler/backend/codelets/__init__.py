"""Codelets: one module per operation. Each lowers one IR node (or a fused pair) to a loop-nest
description with its operands, which the tiler sizes and the code generator turns into groups.

- `ArrayCodelet` (conv.py, gemm.py): a convolution-shaped nest on the systolic array
  (output pixels x output-channel blocks x reduction over input-channel blocks and kernel taps),
  followed by a SIMD epilogue (requantization, optionally a fused residual add) on each output tile.
- `SimdCodelet` (add.py, mul.py, clamp.py, maxpool.py, averagepool.py, globalaveragepool.py, concat.py,
  reshape.py): a nest on the SIMD unit
  over output rows, with its loads from DRAM, bodies and stores.
"""

from __future__ import annotations

from collections.abc import Callable

from genesys.compiler.backend.codelets.base import (
    ArrayCodelet,
    BackendError,
    Epilogue,
    SimdCodelet,
    Step,
)
from genesys.compiler.ir import Graph, Node

LOWER: dict[str, Callable] = {}


def register(*ops: str):
    def deco(fn):
        for op in ops:
            LOWER[op] = fn
        return fn
    return deco


def lower(graph: Graph, node: Node, ctx):
    fn = LOWER.get(node.op)
    if fn is None:
        raise BackendError(node, f"the back end has no codelet for op {node.op}",
                           "supported: " + ", ".join(sorted(LOWER)))
    return fn(graph, node, ctx)


# Importing the modules registers their lowerings.
from genesys.compiler.backend.codelets import (  # noqa: E402,F401
    add,
    averagepool,
    clamp,
    concat,
    conv,
    gemm,
    globalaveragepool,
    maxpool,
    mul,
    reshape,
)

__all__ = ["ArrayCodelet", "SimdCodelet", "Epilogue", "Step", "BackendError", "LOWER", "lower", "register"]
