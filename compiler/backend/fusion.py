"""Fusion: which IR nodes execute together as one layer.

- Conv + bias + ReLU/Clip are one QConv by construction (the front end folds the activation into the
  node's act_min/act_max), so nothing is left to do for them here.
- Conv + residual Add (+ ReLU): a QAdd one of whose operands is a QConv output that nothing else reads
  (and is not a graph output) becomes the conv's SIMD epilogue, provided the other operand is computed
  before that conv. When both operands qualify (a ResNet block with a projection shortcut) the later conv
  takes the add, so the earlier one's output is ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from genesys.compiler.ir import Graph, Node


@dataclass
class Layer:
    """One unit of code generation: a node and the nodes fused into it."""

    node: Node
    fused: list[Node] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def output(self) -> str:
        return (self.fused[-1] if self.fused else self.node).outputs[0]


@dataclass
class FusionPlan:
    layers: list[Layer]
    fused_add: dict[str, Node]  # conv node name -> the QAdd fused into it


def plan_fusion(g: Graph, enabled: bool = True) -> FusionPlan:
    order = {n.name: i for i, n in enumerate(g.nodes)}
    producers = {t: n for n in g.nodes for t in n.outputs}
    fused_add: dict[str, Node] = {}
    taken: set[str] = set()
    if enabled:
        for add in g.nodes:
            if add.op != "QAdd" or len(set(add.inputs)) != 2:
                continue
            best = None
            for k, t in enumerate(add.inputs):
                conv = producers.get(t)
                if conv is None or conv.op != "QConv" or conv.name in fused_add:
                    continue
                if t in g.outputs or len(g.consumers(t)) != 1:
                    continue
                other = add.inputs[1 - k]
                p = producers.get(other)
                if p is not None and order[p.name] >= order[conv.name]:
                    continue
                if tuple(g.tensors[other].shape) != tuple(g.tensors[t].shape):
                    continue
                if best is None or order[conv.name] > order[best.name]:
                    best = conv
            if best is not None:
                fused_add[best.name] = add
                taken.add(add.name)
    layers = []
    for n in g.nodes:
        if n.name in taken or n.op in ("Quantize", "Dequantize"):
            continue
        layers.append(Layer(n, [fused_add[n.name]] if n.name in fused_add else []))
    return FusionPlan(layers, fused_add)
