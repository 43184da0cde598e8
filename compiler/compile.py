"""compile_model: ONNX model (or IR graph) -> GeneSys program bundle.

The back end is one ordered list of named passes (`BACKEND_PASSES`), run by `run_backend` with the IR
verified before them:

    fusion    which nodes execute together (conv + residual add)            backend/fusion.py
    lower     one codelet per layer: the loop nest and its operands           backend/codelets/
    layout    DRAM layouts and addresses of every activation                  backend/codegen.py
    codegen   tiling (cost model) and the groups of every layer               backend/tiling.py, codegen.py
    assemble  groups -> blocks -> words                                      backend/asm.py
    bundle    program, DRAM image, I/O layouts, per-layer metadata           backend/bundle.py

Options (`CompileOptions`, from the command line or a schedule YAML file):
    tile         {layer: {oc: channels, ic: channels, oh: rows, ow: columns}}  force tile sizes
    loop_order   {layer: [oc, oh, ow, ic]}   the group-level loop order (ic must be innermost)
    fuse         fuse residual adds into convolutions (default on)
    double_buffer  split buffers into halves so loads overlap compute (default on; per layer too)
    interleave   run SIMD-bound layers interleaved with their neighbours (default on; see plan_chains)
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from genesys.arch import Arch, load_arch
from genesys.compiler.backend.asm import Program
from genesys.compiler.backend.bundle import Bundle, TensorIO
from genesys.compiler.backend.codegen import CodeGen, Context, lower_all
from genesys.compiler.backend.codelets.base import ArrayCodelet
from genesys.compiler.backend.fusion import plan_fusion
from genesys.compiler.backend.tiling import OUT_SLOTS
from genesys.compiler.ir import Graph, verify
from genesys.errors import GenesysError

TILE_KEYS = ("oc", "ic", "oh", "ow")
LOOPS = ("oc", "oh", "ow", "ic")


@dataclass
class CompileOptions:
    tile: dict[str, dict[str, int]] = field(default_factory=dict)
    loop_order: dict[str, list[str]] = field(default_factory=dict)
    fuse: bool = True
    double_buffer: bool = True
    layer_double_buffer: dict[str, bool] = field(default_factory=dict)
    dma_latency: int = 100
    pack_input: bool = True
    interleave: bool = True

    @staticmethod
    def coerce(o: CompileOptions | dict | None) -> CompileOptions:
        if o is None:
            return CompileOptions()
        if isinstance(o, CompileOptions):
            return o
        return CompileOptions(**o)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    # ---- parsing --------------------------------------------------------------------------------
    @staticmethod
    def parse_tile(spec: str) -> tuple[str, dict[str, int]]:
        """'conv1:oc=32,oh=14' -> ('conv1', {'oc': 32, 'oh': 14})."""
        layer, sep, rest = spec.rpartition(":")
        if not sep or not layer or not rest:
            raise GenesysError(f"--tile {spec!r}: write LAYER:KEY=VALUE[,KEY=VALUE...], e.g. conv1:oc=32,oh=14")
        out = {}
        for item in rest.split(","):
            k, eq, v = item.partition("=")
            k = k.strip()
            if not eq or k not in TILE_KEYS or not v.strip().isdigit() or int(v) < 1:
                raise GenesysError(f"--tile {spec!r}: '{item}' is not KEY=POSITIVE_INTEGER with KEY one of "
                                   f"{', '.join(TILE_KEYS)}")
            out[k] = int(v)
        return layer, out

    @staticmethod
    def parse_loop_order(spec: str) -> tuple[str, list[str]]:
        layer, sep, rest = spec.rpartition(":")
        order = [x.strip() for x in rest.split(",")]
        if not sep or not layer or sorted(order) != sorted(LOOPS):
            raise GenesysError(f"--loop-order {spec!r}: write LAYER:{','.join(LOOPS)} in some order, "
                               "e.g. conv1:oc,oh,ow,ic")
        return layer, order

    @staticmethod
    def from_yaml(path: str | Path) -> CompileOptions:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise GenesysError(f"{path}: malformed YAML: {e}") from None
        if not isinstance(raw, dict):
            raise GenesysError(f"{path}: expected a mapping with keys fuse, double_buffer, dma_latency, layers")
        unknown = set(raw) - {"fuse", "double_buffer", "interleave", "dma_latency", "layers"}
        if unknown:
            raise GenesysError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: fuse, double_buffer, "
                               "interleave, dma_latency, layers")
        o = CompileOptions(fuse=bool(raw.get("fuse", True)), double_buffer=bool(raw.get("double_buffer", True)),
                           interleave=bool(raw.get("interleave", True)), dma_latency=int(raw.get("dma_latency", 100)))
        for layer, spec in (raw.get("layers") or {}).items():
            if not isinstance(spec, dict):
                raise GenesysError(f"{path}: layers.{layer} must be a mapping (tile, loop_order, double_buffer)")
            bad = set(spec) - {"tile", "loop_order", "double_buffer"}
            if bad:
                raise GenesysError(f"{path}: layers.{layer}: unknown key(s) {', '.join(sorted(bad))}")
            if "tile" in spec:
                t = spec["tile"]
                if not isinstance(t, dict) or set(t) - set(TILE_KEYS) or \
                        not all(isinstance(v, int) and v > 0 for v in t.values()):
                    raise GenesysError(f"{path}: layers.{layer}.tile must map {', '.join(TILE_KEYS)} to positive "
                                       "integers")
                o.tile[str(layer)] = dict(t)
            if "loop_order" in spec:
                order = spec["loop_order"]
                order = order.split(",") if isinstance(order, str) else list(order)
                o.loop_order[str(layer)] = CompileOptions.parse_loop_order(f"{layer}:{','.join(order)}")[1]
            if "double_buffer" in spec:
                o.layer_double_buffer[str(layer)] = bool(spec["double_buffer"])
        return o


def _check_layer_names(opts: CompileOptions, names: list[str]) -> None:
    for what, d in (("--tile", opts.tile), ("--loop-order", opts.loop_order),
                    ("double_buffer", opts.layer_double_buffer)):
        for layer in d:
            if layer not in names:
                close = difflib.get_close_matches(layer, names, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else f"; layers: {', '.join(names[:12])}" + \
                    (" ..." if len(names) > 12 else "")
                raise GenesysError(f"{what}: no layer named '{layer}'{hint}")


def _forced(opts: CompileOptions, c: ArrayCodelet, arch: Arch) -> dict:
    f: dict[str, Any] = {}
    t = opts.tile.get(c.layer, {})
    n, m = arch.ARRAY_N, arch.ARRAY_M
    for key, unit, dim in (("oc", m, "oc_t"), ("ic", n, "ic_t")):
        if key in t:
            if t[key] % unit:
                raise GenesysError(f"--tile {c.layer}:{key}={t[key]}: {key} counts channels and must be a multiple "
                                   f"of {unit} (the array's {'columns' if key == 'oc' else 'rows'})")
            f[dim] = t[key] // unit
    for key, dim in (("oh", "oh_t"), ("ow", "ow_t")):
        if key in t:
            f[dim] = t[key]
    limits = {"oc_t": c.OCB, "ic_t": c.R, "oh_t": c.OH, "ow_t": c.OW}
    for dim, v in f.items():
        if v > limits[dim]:
            raise GenesysError(f"--tile {c.layer}: {dim[:2]} = {v * (m if dim == 'oc_t' else n if dim == 'ic_t' else 1)}"
                               f" exceeds the layer's {limits[dim] * (m if dim == 'oc_t' else n if dim == 'ic_t' else 1)}")
    if c.layer in opts.loop_order:
        order = opts.loop_order[c.layer]
        if order[-1] != "ic":
            raise GenesysError(f"--loop-order {c.layer}: ic must be the innermost loop (an output tile's reduction "
                               "finishes before the SIMD post-processes it)")
        f["order"] = tuple(order[:3])
    return f


# ---- the pipeline ------------------------------------------------------------------------------
def run_backend(graph: Graph, arch: Arch, opts: CompileOptions, model_name: str = "") -> Bundle:
    t0 = time.perf_counter()
    verify(graph, "front end")
    device_inputs, ios = _io(graph)
    plan = plan_fusion(graph, opts.fuse)                                    # fusion
    verify(graph, "fusion")
    ctx = Context(arch, graph, plan, device_inputs, {"pack_input": opts.pack_input})
    codelets = lower_all(graph, ctx)                                        # lower
    _check_layer_names(opts, list(codelets))
    cg = CodeGen(arch, graph, ctx, {"dma_latency": opts.dma_latency})
    cg.plan_layouts(codelets)                                               # layout
    tilings = _tile_all(cg, plan, codelets, opts, arch)                     # codegen: tiling,
    chains = plan_chains(cg, plan, codelets, tilings, opts) if opts.interleave else {}
    i = 0
    while i < len(plan.layers):                                             # then groups
        chain = chains.get(i)
        if chain is None:
            layer = plan.layers[i]
            c = codelets[layer.name]
            double = opts.layer_double_buffer.get(layer.name, opts.double_buffer)
            code = cg.array_layer(c, tilings[layer.name], double) if isinstance(c, ArrayCodelet) else \
                cg.simd_layer(c, layer.node.op, double)
            _append(cg, [code], [[(0, g) for g in code.groups]])
            i += 1
            continue
        members, member_tilings = chain
        codes = []
        for k, (layer, t) in enumerate(zip(members, member_tilings, strict=True)):
            cg.region = (k, len(members))
            codes.append(cg.array_layer(codelets[layer.name], t, True))
        cg.region = (0, 1)
        _append(cg, codes, [merge_steps(codes, OUT_SLOTS)])
        i += len(members)
    lines, words, spans = cg.program.assemble()                             # assemble
    return _bundle(graph, arch, cg, lines, words, spans, ios, opts, model_name, time.perf_counter() - t0)


def _tile_all(cg: CodeGen, plan, codelets, opts: CompileOptions, arch: Arch) -> dict:
    tilings = {}
    for layer in plan.layers:
        c = codelets[layer.name]
        if isinstance(c, ArrayCodelet):
            double = opts.layer_double_buffer.get(layer.name, opts.double_buffer)
            tilings[layer.name] = cg.tile(c, _forced(opts, c, arch), double)
        elif layer.name in opts.tile or layer.name in opts.loop_order:
            raise GenesysError(f"layer '{layer.name}' ({layer.node.op}) runs on the SIMD; --tile and --loop-order "
                               "apply to convolutions and matrix products")
    return tilings


MAX_CHAIN = 2  # layers interleaved at once (each owns 1/k of every buffer); 3 saves ~1% more cycles but
#               needs ~35% more (smaller) groups, i.e. simulation time


def plan_chains(cg: CodeGen, plan, codelets, tilings, opts: CompileOptions) -> dict:
    """Which runs of consecutive array layers to interleave, by dynamic programming over the layer list.

    Interleaved, k layers each own 1/k of every buffer and produce their output rows in order; their tiles
    are emitted as a wavefront (a tile as soon as the rows it reads exist), so one layer's SIMD work
    (requantization, residual adds) overlaps its neighbours' array work. The cost model prices a run as
    the busier engine's total, max(sum of array-side cycles, sum of SIMD-side cycles), against the sum of
    the layers' separate estimates; only runs with a SIMD-bound layer are considered."""
    layers = plan.layers
    n = len(layers)

    def eligible(k: int) -> bool:
        name = layers[k].name
        return (isinstance(codelets[name], ArrayCodelet) and name not in opts.tile and name not in opts.loop_order
                and opts.layer_double_buffer.get(name, opts.double_buffer))

    def solo(k: int) -> float:
        t = tilings.get(layers[k].name)
        return t.cost if t is not None else 0.0

    def simd_bound(k: int) -> bool:
        t = tilings[layers[k].name]
        return t.breakdown.get("simd_side", 0) > t.breakdown.get("array_side", 0)

    cache: dict = {}

    def chain(a: int, b: int):
        if (a, b) in cache:
            return cache[(a, b)]
        result = None
        if all(eligible(k) for k in range(a, b)) and any(simd_bound(k) for k in range(a, b)):
            try:
                ts = [cg.tile(codelets[layers[k].name], {}, True, share=b - a) for k in range(a, b)]
            except GenesysError:
                ts = None
            if ts is not None:
                arr = sum(t.breakdown["array_side"] for t in ts)
                simd = sum(t.breakdown["simd_side"] for t in ts)
                dma = sum(t.breakdown["simd_dma_side"] for t in ts)
                # the wavefront fills and drains: about one row tile of every member
                fill = sum(t.cost / -(-codelets[layers[k].name].OH // t.oh_t) for k, t in zip(range(a, b), ts,
                                                                                                 strict=True))
                result = (max(arr, simd, dma) + fill, ts)
        cache[(a, b)] = result
        return result

    best = [0.0] * (n + 1)
    choice: list = [None] * (n + 1)
    for j in range(1, n + 1):
        best[j], choice[j] = best[j - 1] + solo(j - 1), None
        for k in range(2, MAX_CHAIN + 1):
            a = j - k
            if a < 0:
                break
            ch = chain(a, j)
            if ch is not None and best[a] + ch[0] < best[j] * 0.999:
                best[j], choice[j] = best[a] + ch[0], (a, ch[1])
    chains = {}
    j = n
    while j > 0:
        if choice[j] is None:
            j -= 1
            continue
        a, ts = choice[j]
        chains[a] = (layers[a:j], ts)
        j = a
    return chains


def merge_steps(codes, lag: int = 2) -> list[tuple[int, object]]:
    """(member, group) in the order a list scheduler over the two in-order engines picks.

    Each output tile is two items: its array groups (A) and its SIMD epilogue (S). An item may be emitted
    once what it reads has been emitted: S(t) after A(t); A(t) after the S items that complete the input rows
    it reads and after S(t - lag), the last reader of its OBUF slot (`lag` output slots); an S item after the
    rows of the residual it loads. Among the items allowed, the one that could start first on
    its engine (durations from the cost model, the timing rules of docs/isa.md, Semantics §5) goes next,
    then the one ready first, then the most downstream: each engine runs ahead where the other's work allows
    and the wavefront keeps moving."""
    k_n = len(codes)
    made: dict[str, list[tuple[int, float]]] = {code.codelet.y: [(0, 0.0)] for code in codes}
    a_ptr, s_ptr = [0] * k_n, [0] * k_n
    a_end: list[list[float]] = [[] for _ in codes]
    s_end: list[list[float]] = [[] for _ in codes]
    free = {"A": 0.0, "S": 0.0}
    out = []

    def rows_time(needs) -> float | None:
        t = 0.0
        for tensor, rows in needs.items():
            hist = made.get(tensor)
            if hist is None:
                continue  # made before the run
            hit = next((tm for r, tm in hist if r >= rows), None)
            if hit is None:
                return None
            t = max(t, hit)
        return t

    while True:
        best = None
        for k, code in enumerate(codes):
            ta = a_ptr[k]
            if ta < len(code.steps):
                step = code.steps[ta]
                ready = rows_time(step["needs"])
                if ready is not None and (ta < lag or s_ptr[k] > ta - lag):
                    ready = max(ready, s_end[k][ta - lag] if ta >= lag else 0.0)
                    key = (max(free["A"], ready), ready, -k)
                    if best is None or key < best[0]:
                        best = (key, k, "A")
            ts = s_ptr[k]
            if ts < a_ptr[k]:
                step = code.steps[ts]
                ready = rows_time(step["simd_needs"])
                if ready is not None:
                    ready = max(ready, a_end[k][ts])
                    key = (max(free["S"], ready), ready, -k)
                    if best is None or key < best[0]:
                        best = (key, k, "S")
        if best is None:
            break
        (start, _, _), k, kind = best
        step = codes[k].steps[a_ptr[k] if kind == "A" else s_ptr[k]]
        if kind == "A":
            end = start + step["a_cost"]
            a_end[k].append(end)
            a_ptr[k] += 1
            out.extend((k, g) for g in step["sa"])
        else:
            end = start + step["s_cost"]
            s_end[k].append(end)
            s_ptr[k] += 1
            out.append((k, step["simd"]))
            if step["produces"] is not None:
                made[codes[k].codelet.y].append((step["produces"], end))
        free[kind] = end
    if any(s < len(code.steps) for s, code in zip(s_ptr, codes, strict=True)):
        names = ", ".join(code.name for code in codes)
        raise GenesysError(f"internal error: interleaving {names} deadlocked (a tile's rows never appear)")
    return out


def _append(cg: CodeGen, codes, orders) -> None:
    """Add the groups of `codes` to the program in `orders` ([(member, group)]); record each layer's groups."""
    for order in orders:
        for k, g in order:
            codes[k].group_ids.append(len(cg.program.groups))
            cg.program.add(g)
    run = len({c.run for c in cg.layers})
    for code in codes:
        code.run = run
        code.first_group = code.group_ids[0] if code.group_ids else len(cg.program.groups)
        code.last_group = code.group_ids[-1] if code.group_ids else len(cg.program.groups) - 1
        cg.layers.append(code)


def _io(graph: Graph):
    """Device tensors written by the host (after a host-side Quantize) and the graph's I/O records."""
    producers = {t: n for n in graph.nodes for t in n.outputs}
    device_inputs, ins, outs = set(), [], []
    for name in graph.inputs:
        cons = graph.consumers(name)
        q = [n for n in cons if n.op == "Quantize"]
        if q:
            for n in q:
                device_inputs.add(n.outputs[0])
            ins.append((name, q[0].outputs[0], True))
        else:
            device_inputs.add(name)
            ins.append((name, name, False))
    for name in graph.outputs:
        p = producers.get(name)
        if p is not None and p.op == "Dequantize":
            outs.append((name, p.inputs[0], True))
        else:
            outs.append((name, name, False))
    return device_inputs, (ins, outs)


def _qp(graph: Graph, t: str) -> tuple[float, int]:
    q = graph.tensors[t].quant
    if q is None:
        raise GenesysError(f"tensor '{t}' has no quantization parameters")
    return float(np.asarray(q.scale).reshape(-1)[0]), int(np.asarray(q.zero_point).reshape(-1)[0])


def _bundle(graph, arch, cg: CodeGen, lines, words, spans, ios, opts, model_name, seconds) -> Bundle:
    ins, outs = ios
    data = cg.dram.image()
    program_address = len(data)

    def tio(name, tensor, float_io):
        s, z = _qp(graph, tensor)
        return TensorIO(name, tensor, cg.layouts[tensor].describe(), s, z, float_io,
                        [int(d) for d in graph.tensors[name].shape])

    layers = []
    for code in cg.layers:
        if code.groups:
            first, last = spans[code.first_group][0], spans[code.last_group][1]
        else:
            first = spans[code.first_group - 1][1] + 1 if code.first_group else 0
            last = first - 1
        c = code.codelet
        meta = {"name": code.name, "op": code.op, "nodes": code.nodes, "fused": code.nodes[1:],
                "engine": code.engine, "instructions": [first, last], "groups": [code.first_group, code.last_group],
                "group_ranges": _ranges(code.group_ids),
                "instruction_ranges": [[spans[a][0], spans[b][1]] for a, b in _ranges(code.group_ids)],
                "run": code.run, "n_groups": len(code.groups),
                "sa_groups": sum(1 for g in code.groups if g.engine != "SIMD"),
                "macs": int(code.macs), "tiling": code.tiling,
                "loop_order": code.tiling.get("loop_order", []),
                "inputs": [c.x] if isinstance(c, ArrayCodelet) else list(c.inputs),
                "output": c.y}
        if isinstance(c, ArrayCodelet):
            meta["geometry"] = {**c.attrs, "in_hw": [c.IH, c.IW], "packed_input": c.packed}
            if c.epilogue.residual:
                meta["inputs"].append(c.epilogue.residual)
        layers.append(meta)
    return Bundle(arch.name, program_address, words, lines, data,
                  [tio(*i) for i in ins], [tio(*o) for o in outs], layers, model_name, seconds,
                  {k: v for k, v in opts.to_dict().items()})


def _ranges(ids: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in ids:
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def compile_model(model_or_graph, arch: Arch | str, options: CompileOptions | dict | None = None) -> Bundle:
    """Compile an ONNX model (ModelProto or path; float or QDQ) or an IR graph for `arch`."""
    t0 = time.perf_counter()
    arch = load_arch(arch)
    opts = CompileOptions.coerce(options)
    name = ""
    if isinstance(model_or_graph, Graph):
        graph = model_or_graph
        name = graph.name
    else:
        from genesys.compiler.pipeline import frontend
        if isinstance(model_or_graph, str | Path):
            name = Path(model_or_graph).stem
        graph = frontend(model_or_graph)
        name = name or graph.name
    bundle = run_backend(graph, arch, opts, name)
    bundle.compile_seconds = time.perf_counter() - t0
    return bundle


BACKEND_PASSES = ("fusion", "lower", "layout", "codegen", "assemble", "bundle")

__all__ = ["compile_model", "run_backend", "CompileOptions", "BACKEND_PASSES", "Program"]
