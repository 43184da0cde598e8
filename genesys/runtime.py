"""One API over targets: run a compiled bundle on the simulator or on the RTL (Verilator harness); FPGA later.

    rt = Runtime("16x16", target="sim", dma_latency=100)
    result = rt.run(bundle, {"input": x})        # float inputs are quantized on the host
    result.outputs["logits"], result.counters["cycles"], result.layers[0]["cycles"]
    Runtime("16x16", target="rtl").run(bundle, {"input": x})   # the same on genesys_top (verilated)

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
    """Runs bundles on a target: "sim" (genesys.sim) or "rtl" (genesys_top in the Verilator harness,
    genesys.rtl_harness). Options: dma_latency (cycles; the simulator's DMA latency and, for rtl, the memory's
    latency from an address handshake to its data), and for rtl: latency=(min, max) per-burst random latency,
    stall_prob (AXI backpressure), seed, max_cycles (watchdog), axi_timeout (TIMEOUT register), jobs (build)."""

    def __init__(self, arch: Arch | str, target: str = "sim", **opts):
        if target not in TARGETS:
            raise GenesysError(f"unknown target '{target}'; targets: {', '.join(TARGETS)}")
        if target == "fpga":
            raise GenesysError(f"target {target} is not available yet; use --target sim or --target rtl")
        self.arch = load_arch(arch)
        self.target = target
        self.opts = opts
        self._harness = None
        if target == "rtl":
            from genesys.tools import find_tool, missing_reason

            if not find_tool("verilator").found:
                raise GenesysError(f"target rtl needs Verilator: {missing_reason('verilator')}")

    @property
    def harness(self):
        """The compiled RTL harness of this configuration (target rtl; built on first use, then cached)."""
        if self._harness is None:
            from genesys.rtl_harness import RtlHarness

            self._harness = RtlHarness(self.arch, jobs=int(self.opts.get("jobs", 2)),
                                       progress=bool(self.opts.get("progress", True)))
        return self._harness

    def image(self, bundle, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The DRAM image of a run: the bundle's image, the program words at their address, the inputs in
        their layouts (uint8, from address 0, the size the simulator uses)."""
        from genesys.compiler.backend.layout import ActLayout, ceil_to

        if bundle.arch != self.arch.name:
            raise GenesysError(f"the bundle was compiled for '{bundle.arch}', the runtime is for '{self.arch.name}'; "
                               "compile for this configuration")
        missing = [t.name for t in bundle.inputs if t.name not in inputs]
        if missing:
            raise GenesysError(f"missing input(s) {', '.join(missing)}; the model's inputs are "
                               f"{', '.join(t.name for t in bundle.inputs)}")
        img = np.zeros(ceil_to(bundle.dram_bytes + 4096, 4096), dtype=np.uint8)
        img[:len(bundle.dram)] = np.frombuffer(bytes(bundle.dram), dtype=np.uint8)
        prog = np.asarray(bundle.words, dtype="<u4").view(np.uint8)
        img[bundle.program_address:bundle.program_address + prog.size] = prog
        for t in bundle.inputs:
            x = np.asarray(inputs[t.name])
            if list(x.shape) != list(t.shape):
                raise GenesysError(f"input '{t.name}' has shape {list(x.shape)}, the model expects {t.shape}")
            q = quantize(x, t.scale, t.zero_point) if t.float_io else x.astype(np.int8)
            lay = ActLayout.from_dict(t.tensor, t.layout)
            data = np.frombuffer(lay.image(q).tobytes(), dtype=np.uint8)
            img[lay.addr:lay.addr + data.size] = data
        return img

    def run(self, bundle, inputs: dict[str, np.ndarray]) -> RunResult:
        from genesys.compiler.backend.layout import ActLayout

        img = self.image(bundle, inputs)
        extra: dict = {"target": self.target}
        if self.target == "sim":
            from genesys.sim import Simulator

            sim = Simulator(self.arch, dram_bytes=img.size, dma_latency=int(self.opts.get("dma_latency", 100)))
            sim.load(0, img)
            t0 = time.perf_counter()
            res = sim.run(bundle.program_address)
            seconds = time.perf_counter() - t0
            counters, cycles = dict(res.counters), res.cycles
            layers = layer_cycles(bundle.layers, res.groups)
            dram = sim.read(0, img.size)
        else:
            from genesys.rtl_harness import DEFAULT_AXI_TIMEOUT, DEFAULT_MAX_CYCLES, RtlHarness

            o = self.opts
            lat = o.get("latency", int(o.get("dma_latency", 100)))
            max_cycles = int(o.get("max_cycles", DEFAULT_MAX_CYCLES))
            h = self.harness
            h.exe  # noqa: B018  (build outside the timed run)
            res = h.run(img, prog_addr=bundle.program_address, prog_words=len(bundle.words), data_base=0,
                        dram_size=img.size,
                        axi_timeout=int(o.get("axi_timeout", DEFAULT_AXI_TIMEOUT)), max_cycles=max_cycles,
                        latency=lat, stall_prob=float(o.get("stall_prob", 0.0)), seed=int(o.get("seed", 1)),
                        show_progress=bool(o.get("progress", True)) and max_cycles > 0)
            RtlHarness.check(res, bundle.words, max_cycles)
            seconds, counters, cycles = res.wall_seconds, res.counters, res.counters["cycles"]
            # the harness traces every group (engine, START index, start and end cycle); busy/stall/MACs are
            # only counted in total by the RTL, so per layer they stay 0
            from types import SimpleNamespace

            records = [SimpleNamespace(engine="SA" if e == 0 else "SIMD", first=f, start_cycle=a, end_cycle=b,
                                       busy=0, stall=0, macs=0) for e, f, a, b in res.raw.get("groups", [])]
            layers = layer_cycles(bundle.layers, records)
            extra["groups"] = [{"engine": r.engine, "first": r.first, "start_cycle": r.start_cycle,
                                "end_cycle": r.end_cycle} for r in records]
            dram = res.dram
            extra.update(rtl_cycles=res.run_cycles, rtl_seconds=res.wall_seconds,
                         cycles_per_second=res.cycles_per_second, ports=res.ports)
        outputs, quantized = {}, {}
        for t in bundle.outputs:
            lay = ActLayout.from_dict(t.tensor, t.layout)
            q = lay.read(dram[lay.addr:lay.addr + lay.nbytes]).reshape(t.shape)
            quantized[t.name] = q
            outputs[t.name] = dequantize(q, t.scale, t.zero_point) if t.float_io else q
        extra["dram"] = dram
        return RunResult(outputs, quantized, counters, layers, cycles, seconds, extra)


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
