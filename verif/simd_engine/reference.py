"""Reference side of the SIMD engine bench: cases (one SIMD group with the machine state before it) and their
expected results, computed with the simulator itself (genesys.sim.simd.SIMDGroup on a MachineState).

A case carries everything the DUT needs: the group's body words, IMM, VMEM1/VMEM2 and OBUF before the group,
the DRAM bytes the group may touch, and the expected result (DRAM, VMEM1, VMEM2 after the group, or the error
cause and the index of the instruction the simulator names). Cases come from compiled programs (the SIMD
groups of tiny ONNX models compiled for the preset, state taken from a simulator run stopped at each group)
and from random legal (and some illegal) groups (sequences.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from genesys.arch import Arch
from genesys.isa.status import ERROR_BY_NAME
from genesys.sim.decoder import Decoder, Group
from genesys.sim.errors import SimulationError
from genesys.sim.simd import SIMDGroup
from genesys.sim.state import MachineState


class NullAccount:
    """The timing/counter sink of SIMDGroup; the bench only checks function and byte counts."""

    def __init__(self):
        self.bytes = {"VMEM1": [0, 0], "VMEM2": [0, 0]}  # [loaded, stored]
        self.busy = 0

    def transfer(self, buffer, load, n_bytes, beats, reads, writes):  # noqa: ARG002
        self.bytes[buffer][0 if load else 1] += n_bytes

    def simd_body(self, busy, reads, writes):  # noqa: ARG002
        self.busy += busy


# simulator messages -> genesys.isa.status error causes (docs/npu.md, SIMD engine section)
_CAUSES = (
    (r"the transfer moves .* outside", "VMEM_RANGE"),
    (r"row -?\d+ of VMEM\d .* is outside", "VMEM_RANGE"),
    (r"row -?\d+ of OBUF .* is outside", "OBUF_RANGE"),
    (r"does not access IBUF", "UNSUPPORTED"),
    (r"PERMUTATION is not implemented", "UNSUPPORTED"),
    (r"DTYPE_CFG \w+ is rejected", "UNSUPPORTED"),
    (r"is only defined for 32F", "UNSUPPORTED"),
    (r"the simulator runs at most", "UNSUPPORTED"),
    (r"division by zero", "DIV_BY_ZERO"),
    (r"negative shift", "NEG_SHIFT"),
    (r"outside DRAM", "AXI_DECERR"),
)


def cause_of(message: str) -> int:
    for pat, name in _CAUSES:
        if re.search(pat, message):
            return ERROR_BY_NAME[name].code
    return ERROR_BY_NAME["BAD_FIELD"].code  # every other field/structure rule of a SIMD group


@dataclass
class Case:
    name: str
    words: list[int]                  # the group body
    imm: np.ndarray                   # (32,) int32 before the group
    vmem1: np.ndarray                 # (VMEM_DEPTH, L) int32
    vmem2: np.ndarray
    obuf: np.ndarray                  # (OBUF_DEPTH, M) int64 accumulators
    dram: np.ndarray                  # uint8, the group's DRAM (addresses as the program computes them)
    # expected
    error: tuple[int, int] | None = None  # (cause, body index of the instruction named)
    dram_after: np.ndarray | None = None
    vmem1_after: np.ndarray | None = None
    vmem2_after: np.ndarray | None = None
    bytes: dict = field(default_factory=dict)
    busy: int = 0
    tags: set = field(default_factory=set)  # coverage tags


def expect(arch: Arch, case: Case) -> Case:
    """Run the case's group on a MachineState and fill in the expected result."""
    st = MachineState(arch, case.dram.size)
    st.dram[:] = case.dram
    st.vmem1[:] = case.vmem1
    st.vmem2[:] = case.vmem2
    st.obuf[:] = case.obuf
    st.imm[:] = case.imm
    try:
        ops = Decoder().ops(list(case.words), 0)
    except SimulationError as e:
        raise ValueError(f"case {case.name}: a word does not decode: {e}") from None
    group = Group("SIMD", 0, ops[0] if ops else None, None, ops)
    acc = NullAccount()
    try:
        with np.errstate(all="ignore"):
            SIMDGroup(st, acc).run(group)
    except SimulationError as e:
        case.error = (cause_of(e.reason), e.index)
        return case
    case.dram_after = st.dram.copy()
    case.vmem1_after = st.vmem1.copy()
    case.vmem2_after = st.vmem2.copy()
    case.bytes = acc.bytes
    case.busy = acc.busy
    return case


# ---- cases from compiled programs ------------------------------------------------------------------
def tiny_model(seed: int = 0):
    """A small float CNN (conv+relu, depthwise conv, max pool, residual add, global average pool, gemm)
    quantized by ONNX Runtime: its SIMD groups requantize, add, pool and reduce."""
    from onnx import TensorProto, helper, numpy_helper

    from genesys.compiler.quantize import quantize_model

    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def conv(x, name, cin, cout, k, group=1, relu=True):
        w = rng.normal(0, (2.0 / (cin // group * k * k)) ** 0.5, (cout, cin // group, k, k))
        nodes.append(helper.make_node("Conv", [x, const(f"{name}.w", w), const(f"{name}.b", rng.normal(0, 0.1, cout))],
                                      [f"{name}.y"], name=name, kernel_shape=[k, k], pads=[k // 2] * 4, group=group))
        if not relu:
            return f"{name}.y"
        nodes.append(helper.make_node("Relu", [f"{name}.y"], [f"{name}.r"], name=f"{name}_relu"))
        return f"{name}.r"

    a = conv("x", "c1", 3, 8, 3)
    b = conv(a, "c2", 8, 8, 3, group=8)
    nodes.append(helper.make_node("MaxPool", [b], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
    c = conv("p", "c3", 8, 8, 1, relu=False)
    nodes.append(helper.make_node("Add", ["p", c], ["s"], name="add"))
    nodes.append(helper.make_node("GlobalAveragePool", ["s"], ["g"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["g"], ["f"], name="flat"))
    nodes.append(helper.make_node("Gemm", ["f", const("fc.w", rng.normal(0, 0.3, (5, 8))), const("fc.b", rng.normal(0, 0.1, 5))],
                                  ["logits"], name="fc", transB=1))
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return quantize_model(model, None, samples=4, seed=seed)


def compiled_cases(arch: Arch, max_cases: int, seed: int = 0) -> list[Case]:
    """The SIMD groups of the tiny model compiled for `arch`, each with the state the simulator had when the
    program reached it (inputs random)."""
    from genesys.compiler.compile import compile_model
    from genesys.compiler.pipeline import frontend
    from genesys.compiler.quantize import random_inputs
    from genesys.runtime import Runtime
    from genesys.sim.simulator import Simulator

    model = tiny_model(seed)
    bundle = compile_model(frontend(model), arch)
    feeds = random_inputs(model, 1, seed)[0]
    img = Runtime(arch).image(bundle, feeds)
    cases: list[Case] = []
    seen: set[tuple] = set()

    class Capture(Simulator):
        def _run_group(self, group, ordinal, timing, counters):
            if group.engine == "SIMD" and len(cases) < max_cases:
                key = tuple(op.word for op in group.body)
                if key not in seen:
                    seen.add(key)
                    s = self.state
                    cases.append(Case(f"compiled_{ordinal}", [op.word for op in group.body], s.imm.copy(),
                                      s.vmem1.copy(), s.vmem2.copy(), s.obuf.astype(np.int64).copy(),
                                      s.dram.copy(), tags={"compiled"}))
            return super()._run_group(group, ordinal, timing, counters)

    sim = Capture(arch, dram_bytes=img.size)
    sim.load(0, img)
    sim.run(bundle.program_address)
    return [expect(arch, c) for c in cases]
