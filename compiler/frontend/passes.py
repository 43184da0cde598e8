"""The front end's named passes: graph rewrites from an imported ONNX graph (`onnx:` nodes) to the IR.

Every pass is `pass(graph, ctx) -> graph`; `compiler.pipeline` runs them in order and verifies the graph
after each (`verify` below: `ir.verify` once no `onnx:` node is left, the same structural checks before).

| pass | what it does |
| --- | --- |
| fold_constants | evaluates nodes whose inputs are all constants (ONNX's reference evaluator at the model's opset), QuantizeLinear of a constant included; DequantizeLinear is never folded (the int8 weights are what we want) |
| fold_batchnorm | Conv → BatchNormalization with constant float weights becomes one Conv (float graphs) |
| remove_dead | drops nodes whose outputs reach no graph output, and unreferenced tensors |
| import_qlinear | QLinearConv → QConv, QLinearMatMul → QGemm |
| recognise_qdq | DequantizeLinear → float op [→ Relu/Clip ...] → QuantizeLinear groups become one IR op with the clamp fused into act_min/act_max; Reshape/Flatten/MaxPool run in the int8 domain (they commute with a per-tensor dequantization); graph-input QuantizeLinear and graph-output DequantizeLinear become the host-side Quantize/Dequantize |
| fuse_activations | a QClamp after a requantizing op with the same parameters narrows that op's act_min/act_max |
| normalise_reshape | chains of Reshape collapse, identity reshapes disappear |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from onnx.reference import ReferenceEvaluator

from genesys.compiler import ir
from genesys.compiler.frontend import ops
from genesys.compiler.frontend.onnx_loader import ONNX_PREFIX, node_proto
from genesys.compiler.ir import Graph, Node, QParams, Tensor
from genesys.errors import GenesysError


@dataclass
class PassContext:
    opset: int  # the model's default-domain opset (constant folding evaluates at it)


def _onnx_op(node: Node) -> str | None:
    return node.op[len(ONNX_PREFIX):] if node.op.startswith(ONNX_PREFIX) else None


def _consumers(g: Graph) -> dict[str, list[Node]]:
    out: dict[str, list[Node]] = {}
    for n in g.nodes:
        for i in n.inputs:
            if i:
                out.setdefault(i, []).append(n)
    return out


def verify(g: Graph, stage: str) -> None:
    """ir.verify for an IR graph; for a graph still holding `onnx:` nodes, the same structural checks
    (inputs defined before use, single producers) plus ir.verify of its IR nodes."""
    foreign = [n for n in g.nodes if n.op.startswith(ONNX_PREFIX)]
    if not foreign:
        ir.verify(g, stage)
        return
    where = f" (after {stage})"
    defined = {n for n, t in g.tensors.items() if t.is_const} | set(g.inputs)
    for n in g.nodes:
        for t in n.inputs:
            if t and t not in defined:
                raise ir.IRError(f"node '{n.name}' ({n.op}): input '{t}' is not produced before it{where}")
        for t in n.outputs:
            if t not in g.tensors:
                raise ir.IRError(f"node '{n.name}' ({n.op}): output '{t}' has no tensor{where}")
            if t in defined:
                raise ir.IRError(f"node '{n.name}' ({n.op}): output '{t}' is produced twice{where}")
            defined.add(t)
    native = Graph(g.name, g.tensors, [n for n in g.nodes if not n.op.startswith(ONNX_PREFIX)],
                   [*g.inputs, *(t for n in foreign for t in n.outputs)], [])
    ir.verify(native, stage)
    for name in g.outputs:
        if name not in defined:
            raise ir.IRError(f"graph output '{name}' is never produced{where}")


# ----------------------------------------------------------------------------------------------------
# Float-graph passes.

_NEVER_FOLD = ("DequantizeLinear",)


def fold_constants(g: Graph, ctx: PassContext) -> Graph:
    keep = []
    for n in g.nodes:
        op = _onnx_op(n)
        ins = [i for i in n.inputs if i]
        if op is None or op in _NEVER_FOLD or not all(g.tensors[i].is_const for i in ins):
            if op == "Shape" and g.tensors[n.inputs[0]].shape:  # static shapes are known
                _set_const(g, n.outputs[0], np.array(g.tensors[n.inputs[0]].shape, np.int64))
                continue
            keep.append(n)
            continue
        try:
            ev = ReferenceEvaluator(node_proto(n), opsets={"": ctx.opset})
            results = ev.run(None, {i: g.tensors[i].data for i in ins})
        except Exception as e:  # the reference evaluator raises many types
            raise GenesysError(f"node '{n.name}' ({op}): constant folding failed: {e}") from None
        for name, value in zip(n.outputs, results, strict=False):
            _set_const(g, name, np.asarray(value))
    g.nodes = keep
    return g


def _set_const(g: Graph, name: str, value: np.ndarray) -> None:
    dtype = str(value.dtype)
    if dtype not in ir.DTYPES:
        value = value.astype(np.float32 if value.dtype.kind == "f" else np.int64)
        dtype = str(value.dtype)
    g.tensors[name] = Tensor(name, tuple(value.shape), dtype, data=value)


def fold_batchnorm(g: Graph, ctx: PassContext) -> Graph:
    consumers = _consumers(g)
    producers = {o: n for n in g.nodes for o in n.outputs}
    drop = set()
    for bn in g.nodes:
        if _onnx_op(bn) != "BatchNormalization":
            continue
        conv = producers.get(bn.inputs[0])
        if bn.attrs.get("training_mode", 0):
            raise GenesysError(f"node '{bn.name}' (BatchNormalization): training_mode=1 is not supported")
        if conv is None or _onnx_op(conv) != "Conv" or len(consumers.get(conv.outputs[0], [])) != 1 \
                or conv.outputs[0] in g.outputs:
            continue  # left for recognise_qdq, which names it in its error
        params = [g.tensors[i] for i in bn.inputs[1:5]]
        w = g.tensors[conv.inputs[1]]
        b = g.tensors[conv.inputs[2]] if len(conv.inputs) > 2 and conv.inputs[2] else None
        if not all(t.is_const and t.dtype == "float32" for t in [*params, w] + ([b] if b else [])):
            continue  # a quantized Conv: BN cannot be folded exactly
        gamma, beta, mean, var = (t.data.astype(np.float64) for t in params)
        a = gamma / np.sqrt(var + float(bn.attrs.get("epsilon", 1e-5)))
        bias = b.data.astype(np.float64) if b else np.zeros_like(mean)
        wname = _fresh(g, f"{conv.name}.w_bn")
        bname = _fresh(g, f"{conv.name}.b_bn")
        _set_const(g, wname, (w.data.astype(np.float64) * a.reshape(-1, 1, 1, 1)).astype(np.float32))
        _set_const(g, bname, ((bias - mean) * a + beta).astype(np.float32))
        conv.inputs = [conv.inputs[0], wname, bname]
        g.tensors[bn.outputs[0]].shape = g.tensors[bn.outputs[0]].shape or g.tensors[conv.outputs[0]].shape
        conv.outputs = [bn.outputs[0]]
        drop.add(id(bn))
    g.nodes = [n for n in g.nodes if id(n) not in drop]
    return g


def _fresh(g: Graph, base: str) -> str:
    name, i = base, 1
    while name in g.tensors:
        i += 1
        name = f"{base}_{i}"
    return name


def remove_dead(g: Graph, ctx: PassContext) -> Graph:
    live = set(g.outputs)
    keep = []
    for n in reversed(g.nodes):
        if any(o in live for o in n.outputs):
            keep.append(n)
            live.update(i for i in n.inputs if i)
    g.nodes = keep[::-1]
    g.tensors = {k: t for k, t in g.tensors.items() if k in live or k in g.inputs}
    return g


# ----------------------------------------------------------------------------------------------------
# Import of quantized ops.


def import_qlinear(g: Graph, ctx: PassContext) -> Graph:
    names = {n.name for n in g.nodes if _onnx_op(n) not in ("QLinearConv", "QLinearMatMul")}
    cache: dict = {}
    out = []
    for n in g.nodes:
        if _onnx_op(n) not in ("QLinearConv", "QLinearMatMul"):
            out.append(n)
            continue
        lctx = ops.LoweringContext(g, n, n.outputs[0], None, names=names, cache=cache)
        inputs = [None if not i else (g.tensors[i].data if g.tensors[i].is_const and g.tensors[i].dtype == "float32"
                                       else g.tensors[i]) for i in n.inputs]
        # zero points (inputs 2, 5, 7 of both ops) are small integer constants: the builders read their dtype
        for k in (2, 5, 7):
            if k < len(inputs) and isinstance(inputs[k], Tensor):
                inputs[k] = inputs[k].data
        out.extend(ops.call(lctx, inputs, n.attrs))
    g.nodes = out
    return g


@dataclass
class _Pending:
    """A float op waiting for the QuantizeLinear that gives its output parameters."""

    node: Node
    act: tuple[float, float] = (-math.inf, math.inf)


class _Recogniser:
    def __init__(self, g: Graph):
        self.g = g
        self.dq: dict[str, str] = {}  # float tensor -> the quantized IR tensor it dequantizes
        self.pending: dict[str, _Pending] = {}
        self.alias: dict[str, str] = {}  # a QuantizeLinear output that equals an existing int8 tensor
        # movement ops applied to a float graph input before its QuantizeLinear: they commute with it
        self.float_chain: dict[str, tuple[str, list[Node]]] = {}
        self.consumers = _consumers(g)
        self.names = {n.name for n in g.nodes if _onnx_op(n) is None}  # ONNX nodes hand their names to their IR
        self.cache: dict = {}
        self.out: list[Node] = []

    def ctx(self, node: Node, out: str, q: QParams | None, act=(-math.inf, math.inf)) -> ops.LoweringContext:
        return ops.LoweringContext(self.g, node, out, q, act, names=self.names, cache=self.cache)

    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def operand(self, node: Node, name: str):
        """An op input: the quantized tensor behind a dequantized value, a plain constant, or None."""
        if not name:
            return None
        if name in self.dq:
            return self.g.tensors[self.dq[name]]
        t = self.g.tensors[self.resolve(name)]
        if t.is_const:
            return t.data if t.dtype in ("float32", "int64") else t
        if name in self.pending:
            src = self.pending[name].node
            raise GenesysError(f"node '{node.name}' ({_onnx_op(node)}): input '{name}' is the float output of node "
                               f"'{src.name}' ({_onnx_op(src)}), which is not quantized; the compiler needs a "
                               f"QuantizeLinear → DequantizeLinear between them")
        if t.dtype == "float32":
            raise GenesysError(f"node '{node.name}' ({_onnx_op(node)}): input '{name}' is a float tensor that is "
                               f"not quantized; quantize the model first (genesys quantize)")
        return t

    def qparams(self, node: Node, default_dtype: str) -> QParams:
        scale = self.operand(node, node.inputs[1])
        zp_name = node.inputs[2] if len(node.inputs) > 2 else ""
        zp = self.g.tensors[zp_name].data if zp_name else None
        if isinstance(scale, Tensor) or scale is None:
            raise GenesysError(f"node '{node.name}' ({_onnx_op(node)}): the scale must be a constant")
        if node.attrs.get("block_size", 0):
            raise GenesysError(f"node '{node.name}' ({_onnx_op(node)}): attribute block_size is not supported")
        out_dtype = node.attrs.get("output_dtype", 0)
        if zp is None and out_dtype not in (0, 2, 3):  # 2 = UINT8, 3 = INT8
            raise GenesysError(f"node '{node.name}' ({_onnx_op(node)}): output_dtype {out_dtype} is not supported")
        dtype = "int8" if out_dtype == 3 else default_dtype
        return ops.make_qparams(self.ctx(node, "", None), scale, zp, node.attrs.get("axis", 1), "", dtype)

    def emit(self, nodes: list[Node]) -> None:
        self.out.extend(nodes)

    # --- the walk -----------------------------------------------------------------------------------

    def run(self) -> Graph:
        for n in self.g.nodes:
            op = _onnx_op(n)
            if op is None:
                n.inputs = [self.resolve(i) for i in n.inputs]
                self.out.append(n)
            elif op == "DequantizeLinear":
                self.dequantize(n)
            elif op == "QuantizeLinear":
                self.quantize(n)
            elif op in ops.ACTIVATIONS and n.inputs[0] in self.pending and self._fusable(n.inputs[0]):
                p = self.pending[n.inputs[0]]
                lo, hi = ops.activation_range(op, [None, *(self.operand(n, i) for i in n.inputs[1:])], n.attrs)
                self.pending[n.outputs[0]] = _Pending(p.node, (max(p.act[0], lo), min(p.act[1], hi)))
            elif op == "BatchNormalization":
                ops.BatchNormalization(self.ctx(n, n.outputs[0], None))
            elif op in ops.MOVEMENT and self._float_root(n.inputs[0]) is not None:
                root, chain = self._float_root(n.inputs[0])
                self.float_chain[n.outputs[0]] = (root, [*chain, n])
            elif op in ops.MOVEMENT:  # int8 in, int8 out; the float name now denotes the int8 result
                out = n.outputs[0] if n.outputs[0] not in self.g.outputs else f"{n.outputs[0]}.quantized"
                ctx = self.ctx(n, out, None)
                self.emit(ops.call(ctx, [self.operand(n, i) for i in n.inputs], n.attrs))
                self.dq[n.outputs[0]] = out
            elif op in ops.OPS:
                self.pending[n.outputs[0]] = _Pending(n)
            else:
                raise ops.unsupported(n)
        for name in self.g.outputs:
            if name in self.pending:
                src = self.pending[name].node
                raise GenesysError(f"graph output '{name}' is the float output of node '{src.name}' "
                                   f"({_onnx_op(src)}), which is not quantized")
            if name in self.float_chain:
                raise GenesysError(f"graph output '{name}' is computed from a float input without quantization")
            if self.dq.get(name) == f"{name}.quantized":  # a float output right after an int8-domain move
                t = self.g.tensors[self.dq[name]]
                ctx = self.ctx(Node("Dequantize", f"{name}.dequantize", [], []), name, None)
                ctx.emit("Dequantize", [t.name], t.shape, dtype="float32")
                self.emit(ctx.emitted)
            elif self.resolve(name) != name:  # an int8 output that is another tensor: copy it under its name
                src = self.g.tensors[self.resolve(name)]
                ctx = self.ctx(Node("Reshape", f"{name}.copy", [], []), name, src.quant)
                ctx.emit("Reshape", [src.name], src.shape, {"shape": tuple(src.shape)})
                self.emit(ctx.emitted)
        self.g.nodes = self.out
        return self.g

    def _float_root(self, name: str) -> tuple[str, list[Node]] | None:
        if name in self.float_chain:
            return self.float_chain[name]
        if name in self.g.inputs and self.g.tensors[name].dtype == "float32":
            return name, []
        return None

    def _fusable(self, name: str) -> bool:
        return len(self.consumers.get(name, [])) == 1 and name not in self.g.outputs

    def dequantize(self, n: Node) -> None:
        src = self.g.tensors[self.resolve(n.inputs[0])]
        default = "int32" if src.dtype == "int32" else ("uint8" if src.dtype == "uint8" else "int8")
        q = self.qparams(n, default)
        ctx = self.ctx(n, n.outputs[0], None)
        if src.is_const:
            self.dq[n.outputs[0]] = ops.quantized_const(ctx, src, q).name
        else:
            self.dq[n.outputs[0]] = ops.bind_activation_quant(ctx, src, q, "x").name
        if n.outputs[0] in self.g.outputs:
            t = self.g.tensors[self.dq[n.outputs[0]]]
            ctx.emit("Dequantize", [t.name], t.shape, dtype="float32")
            self.emit(ctx.emitted)

    def quantize(self, n: Node) -> None:
        x, out = n.inputs[0], n.outputs[0]
        q = self.qparams(n, "uint8")
        ctx = self.ctx(n, out, q)
        if q.per_channel:
            raise ctx.error("per-axis quantization of an activation is not supported")
        existing = self.g.tensors.get(out)
        if existing is not None and existing.quant is not None and not ops.same_quant(existing.quant, q):
            raise ctx.error(f"'{out}' is read by a QLinear op with other parameters than this QuantizeLinear gives it")
        if x in self.pending:
            p = self.pending[x]
            fctx = self.ctx(p.node, out, q, p.act)
            self.emit(ops.call(fctx, [self.operand(p.node, i) for i in p.node.inputs], p.node.attrs))
        elif x in self.dq:
            src = self.g.tensors[self.dq[x]]
            if src.is_const:
                raise ctx.error("re-quantizing a dequantized constant is not supported")
            if ops.same_quant(src.quant, q):
                self.alias[out] = src.name
                self.g.tensors[out] = Tensor(out, src.shape, "int8", quant=q)
            else:
                ctx.emit("QConcat", [src.name], src.shape, {"axis": 1})
                self.emit(ctx.emitted)
        elif x in self.g.inputs and self.g.tensors[x].dtype == "float32":
            ctx.emit("Quantize", [x], self.g.tensors[x].shape)
            self.emit(ctx.emitted)
        elif x in self.float_chain:  # Q(move(x)) = move(Q(x)): quantize the input, move the int8 data
            root, chain = self.float_chain[x]
            src = ctx.emit("Quantize", [root], self.g.tensors[root].shape, out=f"{root}.quantized")
            self.emit(ctx.emitted)
            for i, m in enumerate(chain):
                mctx = self.ctx(m, out if i == len(chain) - 1 else f"{m.outputs[0]}.quantized", None)
                ins = [self.g.tensors[src], *(self.operand(m, j) for j in m.inputs[1:])]
                self.emit(ops.call(mctx, ins, m.attrs))
                src = mctx.out
        else:
            raise ctx.error(f"input '{x}' is neither a graph input nor the output of a supported float op")


def recognise_qdq(g: Graph, ctx: PassContext) -> Graph:
    if not any(_onnx_op(n) in ("QuantizeLinear", "DequantizeLinear") or not n.op.startswith(ONNX_PREFIX)
               for n in g.nodes):
        raise GenesysError(f"model '{g.name}' is a float model (no QuantizeLinear/DequantizeLinear or QLinear ops); "
                           f"quantize it first: genesys quantize model.onnx -o model_int8.onnx")
    return _Recogniser(g).run()


# ----------------------------------------------------------------------------------------------------
# IR passes.

_REQUANTIZING = ("QConv", "QGemm", "QAdd", "QMul", "QClamp")


def fuse_activations(g: Graph, ctx: PassContext) -> Graph:
    consumers = _consumers(g)
    producers = {o: n for n in g.nodes for o in n.outputs}
    drop = set()
    for c in g.nodes:
        if c.op != "QClamp":
            continue
        t = c.inputs[0]
        p = producers.get(t)
        if p is None or p.op not in _REQUANTIZING or id(p) in drop or len(consumers.get(t, [])) != 1 or t in g.outputs:
            continue
        if not ops.same_quant(g.tensors[t].quant, g.tensors[c.outputs[0]].quant):
            continue
        lo, hi = max(p.attrs["act_min"], c.attrs["act_min"]), min(p.attrs["act_max"], c.attrs["act_max"])
        if lo > hi:
            continue  # disjoint ranges: clamping twice is not one clamp
        p.attrs["act_min"], p.attrs["act_max"] = lo, hi
        p.outputs = list(c.outputs)
        producers[c.outputs[0]] = p
        del g.tensors[t]
        drop.add(id(c))
    g.nodes = [n for n in g.nodes if id(n) not in drop]
    return g


def normalise_reshape(g: Graph, ctx: PassContext) -> Graph:
    consumers = _consumers(g)
    producers = {o: n for n in g.nodes for o in n.outputs}
    rename: dict[str, str] = {}
    keep = []
    for n in g.nodes:
        n.inputs = [rename.get(i, i) for i in n.inputs]
        if n.op == "Reshape":
            src = producers.get(n.inputs[0])
            if src is not None and src.op == "Reshape" and len(consumers.get(n.inputs[0], [])) == 1 \
                    and n.inputs[0] not in g.outputs:
                n.inputs = list(src.inputs)  # reshape of a reshape: one reshape (the first is now dead)
            if tuple(g.tensors[n.inputs[0]].shape) == tuple(n.attrs["shape"]) and n.outputs[0] not in g.outputs:
                rename[n.outputs[0]] = n.inputs[0]
                continue
        keep.append(n)
    g.nodes = keep
    return remove_dead(g, ctx)

