"""One API over targets: run a compiled bundle on the simulator (or, later, RTL simulation / an FPGA).

    rt = Runtime("16x16", target="sim", dma_latency=100)
    result = rt.run(bundle, {"input": x})        # float inputs are quantized on the host
    result.outputs["logits"], result.counters["cycles"], result.layers[0]["cycles"]

The host side does what the graph's Quantize/Dequantize nodes say: it quantizes float inputs
(saturate(round_half_even(x / s) + zp), in binary32 as ONNX Runtime's QuantizeLinear), writes them into
their DRAM layout (NHWC with borders and padded channels, from bundle.json), runs the program, reads the
outputs back in their ONNX shapes and dequantizes the float ones ((q - zp) * s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from genesys.arch import Arch, load_arch
from genesys.errors import GenesysError

TARGETS = ("sim", "rtl", "fpga")


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """ONNX QuantizeLinear to int8: x / scale in binary32, rounded half to even, + zero point, saturated."""
    v = np.rint(np.asarray(x, dtype=np.float32) / np.float32(scale))
    return np.clip(v + zero_point, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return ((q.astype(np.int32) - zero_point).astype(np.float32) * np.float32(scale)).astype(np.float32)


@dataclass
class RunResult:
    outputs: dict[str, np.ndarray]  # ONNX output name -> array (float when the model's output is float)
    quantized: dict[str, np.ndarray]  # ONNX output name -> the int8 values the accelerator produced
    counters: dict[str, int]
    layers: list[dict]  # per layer: name, op, cycles (attributed), start/end cycle, busy, stall, macs
    cycles: int
    simulate_seconds: float
    extra: dict = field(default_factory=dict)


class Runtime:
    def __init__(self, arch: Arch | str, target: str = "sim", **opts):
        if target not in TARGETS:
            raise GenesysError(f"unknown target '{target}'; targets: {', '.join(TARGETS)}")
        if target != "sim":
            raise GenesysError(f"target {target} is not available yet; use --target sim")
        self.arch = load_arch(arch)
        self.target = target
        self.opts = opts

    def run(self, bundle, inputs: dict[str, np.ndarray]) -> RunResult:
        from genesys.compiler.backend.layout import ActLayout, ceil_to
        from genesys.sim import Simulator

        if bundle.arch != self.arch.name:
            raise GenesysError(f"the bundle was compiled for '{bundle.arch}', the runtime is for '{self.arch.name}'; "
                               "compile for this configuration")
        sim = Simulator(self.arch, dram_bytes=ceil_to(bundle.dram_bytes + 4096, 4096),
                        dma_latency=int(self.opts.get("dma_latency", 100)))
        sim.load(0, bytes(bundle.dram))
        sim.load(bundle.program_address, np.asarray(bundle.words, dtype="<u4"))
        missing = [t.name for t in bundle.inputs if t.name not in inputs]
        if missing:
            raise GenesysError(f"missing input(s) {', '.join(missing)}; the model's inputs are "
                               f"{', '.join(t.name for t in bundle.inputs)}")
        for t in bundle.inputs:
            x = np.asarray(inputs[t.name])
            if list(x.shape) != list(t.shape):
                raise GenesysError(f"input '{t.name}' has shape {list(x.shape)}, the model expects {t.shape}")
            q = quantize(x, t.scale, t.zero_point) if t.float_io else x.astype(np.int8)
            lay = ActLayout.from_dict(t.tensor, t.layout)
            sim.load(lay.addr, lay.image(q).tobytes())
        t0 = time.perf_counter()
        res = sim.run(bundle.program_address)
        seconds = time.perf_counter() - t0
        outputs, quantized = {}, {}
        for t in bundle.outputs:
            lay = ActLayout.from_dict(t.tensor, t.layout)
            q = lay.read(sim.read(lay.addr, lay.nbytes)).reshape(t.shape)
            quantized[t.name] = q
            outputs[t.name] = dequantize(q, t.scale, t.zero_point) if t.float_io else q
        return RunResult(outputs, quantized, dict(res.counters), layer_cycles(bundle.layers, res.groups),
                         res.cycles, seconds)


def layer_cycles(layers: list[dict], records) -> list[dict]:
    """Per layer: its groups' span, busy/stall cycles and MACs; `cycles` attributes the timeline to layers by
    completion (a layer owns the cycles from the previous layer's end to its own), so they sum to the total."""
    out = []
    done = 0
    for layer in layers:
        ranges = layer.get("group_ranges") or ([layer["groups"]] if layer["groups"][1] >= layer["groups"][0] else [])
        recs = [r for a, b in ranges for r in records[a:b + 1]]
        start = min((r.start_cycle for r in recs), default=done)
        end = max((r.end_cycle for r in recs), default=done)
        end = max(end, done)
        out.append({"name": layer["name"], "op": layer["op"], "start": int(start), "end": int(end),
                    "cycles": int(end - done), "span": int(end - start),
                    "array_busy": int(sum(r.busy for r in recs if r.engine == "SA")),
                    "simd_busy": int(sum(r.busy for r in recs if r.engine == "SIMD")),
                    "stall": int(sum(r.stall for r in recs)), "macs": int(sum(r.macs for r in recs)),
                    "real_macs": int(layer.get("macs", 0))})
        done = end
    return out
