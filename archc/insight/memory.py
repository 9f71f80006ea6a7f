"""Training and inference memory: parameters, gradients, optimizer state, and the activations
autograd keeps for the backward pass, layer by layer.

What each layer keeps comes from its kind (`LayerKind.saved`: its input, its output, or new
tensors such as max-pool indices, dropout masks, normalisation statistics). A tensor kept by
several layers (a ReLU's output that the next convolution also keeps) is counted once, and a
view (flatten) is the memory of the tensor it views; an in-place activation writes into its
input, so the count is the same whichever way codegen emits it. Figures are bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archc.api import Model
from archc.insight.rules import RuleMemo

DTYPE_BYTES = {"fp32": 4, "float32": 4, "bf16": 2, "bfloat16": 2, "fp16": 2, "float16": 2,
               "fp64": 8, "float64": 8}
# optimizer state per parameter, in parameter-sized tensors (torch.optim defaults)
OPTIMIZER_STATES = {"none": 0, "sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2,
                    "adamw": 2}


@dataclass(frozen=True)
class LayerMemory:
    name: str
    kind: str
    saved_bytes: int  # tensors this layer is the first to keep for backward
    output_bytes: int


@dataclass
class Memory:
    batch: int
    dtype: str
    optimizer: str
    params_bytes: int
    grads_bytes: int
    optimizer_bytes: int
    saved_bytes: int  # activations autograd keeps for backward, all layers (heads included)
    inference_peak_bytes: int  # parameters + the most activation memory live at once (no grad)
    layers: list[LayerMemory] = field(default_factory=list)

    @property
    def training_bytes(self) -> int:
        """Parameters + gradients + optimizer state + saved activations: what stays allocated
        from the end of the forward pass into the backward pass."""
        return self.params_bytes + self.grads_bytes + self.optimizer_bytes + self.saved_bytes


def estimate(model: Model, batch: int = 1, dtype: str = "fp32",
             optimizer: str = "adamw") -> Memory:
    size = DTYPE_BYTES[dtype]
    params = model.analysis.totals.params * size
    steps = _nodes(model)
    layers, saved = _saved(model, steps, batch, size)
    return Memory(batch, dtype, optimizer, params, params, OPTIMIZER_STATES[optimizer] * params,
                  saved, params + _inference_peak(model, steps, batch, size), layers)


Step = tuple  # (graph node, layer node, its analysis row, input graph nodes)


def _nodes(model: Model) -> list[Step]:
    """Every analysed layer's step, in dataflow order (listed once, walked twice)."""
    rows = {row.name: row for row in model.analysis.layers}
    return [(node, data["layer"], rows[data["layer"].name], data["inputs"])
            for node, data in model.built.graph.nodes(data=True)
            if node and data["layer"].name in rows]


def _saved(model: Model, steps: list[Step], batch: int,
           size: int) -> tuple[list[LayerMemory], int]:
    memory: dict[int, int] = {0: 0}  # graph node -> the node whose memory its output is
    owned = {0: _numel(model.analysis.input)}  # such a node -> its numel per sample
    grad = {0: False}  # does the tensor require grad? The input does not.
    order = {0: tuple(range(len(model.analysis.input) + 1))}  # axes in memory order
    kept: set = set()
    layers, total = [], 0
    saved = RuleMemo("saved")
    for node, layer, row, inputs in steps:
        kind = layer.kind
        memory[node] = memory.get(inputs[0], inputs[0]) if kind.view else node
        order[node] = _memory_order(kind, layer.args, order.get(inputs[0]), row.output)
        out_numel = _numel(row.output)
        owned.setdefault(memory[node], out_numel)
        grad[node] = row.params > 0 or any(map(grad.get, inputs))  # unknown: no grad
        here = 0
        # autograd records a layer only if it has parameters or an input needing a gradient
        items = saved(layer, row.inputs, row.output) if grad[node] else []
        for index, item in enumerate(items):
            numel = item.numel
            if item.of is None:
                key = (node, index)
            else:  # a tensor of the graph: keeping a view (a chunk) keeps all it views
                key = memory[node] if item.of == "out" else \
                    memory.get(inputs[item.of], inputs[item.of])
                numel = owned.get(key, numel)
                if item.contiguous and _strided(order.get(inputs[0])):
                    key, numel = (node, index), item.numel
            if key in kept:
                continue
            kept.add(key)
            here += numel * (batch if item.per_sample else 1) * (item.nbytes or size)
        total += here
        layers.append(LayerMemory(row.name, row.kind, here, out_numel * batch * size))
    return layers, total


def _memory_order(kind, args, before: tuple | None, out) -> tuple:
    """The batched axes of a layer's output in memory order, outermost first: a permute view
    keeps the input's memory, elementwise kinds (and a scale parameter) follow their input's
    layout, every other kind writes a new contiguous tensor."""
    moved = kind.moved_axes(args)
    if moved is not None and before is not None:
        return tuple(moved.index(axis) for axis in before)
    if (kind.elementwise or kind.parameter) and before is not None:
        return before
    return tuple(range(len(out) + 1))


def _strided(order: tuple | None) -> bool:
    return order is not None and list(order) != sorted(order)


def _numel(shape) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


def _inference_peak(model: Model, steps: list[Step], batch: int, size: int) -> int:
    """Walk the main path keeping every tensor until its last reader has run: the largest sum
    of live tensors (the input included). A view (flatten, permute, chunk) or an in-place
    activation on an input that dies with it shares that input's memory, which lives until
    the last reader of any tensor sharing it."""
    steps = [s for s in steps if s[2].side is None]
    readers: dict[int, int] = {}
    for node, _, _, inputs in steps:
        for source in inputs:
            readers[source] = node
    owner = {0: 0}
    for node, layer, _, inputs in steps:
        shares = layer.kind.view or (layer.kind.inplace_arg and readers.get(inputs[0]) == node)
        owner[node] = owner.get(inputs[0], inputs[0]) if shares else node
    last_use: dict[int, int] = {}
    for node, _, _, inputs in steps:
        for source in inputs:
            last_use[owner.get(source, source)] = node
    result = owner.get(model.built.output, model.built.output)
    live = {0: _numel(model.analysis.input) * batch * size}
    total = peak = live[0]
    for node, _, row, inputs in steps:
        if owner[node] == node:
            live[node] = _numel(row.output) * batch * size
            total += live[node]
        peak = max(peak, total)
        for memory in {owner.get(s, s) for s in inputs} | {owner[node]}:
            if memory != result and memory in live and last_use.get(memory, node) <= node:
                total -= live.pop(memory)
    return peak


OPTIMIZER_NAMES = {"none": "no optimizer", "sgd": "SGD", "momentum": "SGD with momentum",
                   "rmsprop": "RMSprop", "adagrad": "Adagrad", "adam": "Adam", "adamw": "AdamW"}


def summary_lines(m: Memory, params: int) -> list[tuple[str, str]]:
    from archc.report import human_bytes

    states = OPTIMIZER_STATES[m.optimizer]
    return [
        ("Parameters", f"{human_bytes(m.params_bytes)}  ({params:,} x {DTYPE_BYTES[m.dtype]} B)"),
        ("Gradients", f"{human_bytes(m.grads_bytes)}  (one per parameter)"),
        (f"Optimizer state ({OPTIMIZER_NAMES[m.optimizer]})",
         f"{human_bytes(m.optimizer_bytes)}  ({states} value(s) per parameter)"),
        ("Saved for backward", f"{human_bytes(m.saved_bytes)}  (activations autograd keeps, "
                               f"batch {m.batch})"),
        ("Training total", f"{human_bytes(m.training_bytes)}  (the four above)"),
        ("Inference peak", f"{human_bytes(m.inference_peak_bytes)}  (parameters + the most "
                           "activations live at once, no grad)"),
    ]


def to_dict(m: Memory, model: Model) -> dict:
    return {"schema_version": 1, "network": model.analysis.network, "batch": m.batch,
            "dtype": m.dtype, "optimizer": m.optimizer, "params_bytes": m.params_bytes,
            "grads_bytes": m.grads_bytes, "optimizer_bytes": m.optimizer_bytes,
            "saved_bytes": m.saved_bytes, "training_bytes": m.training_bytes,
            "inference_peak_bytes": m.inference_peak_bytes,
            "layers": [{"name": x.name, "kind": x.kind, "saved_bytes": x.saved_bytes,
                        "output_bytes": x.output_bytes} for x in m.layers]}


def memory_table(model: Model, m: Memory, depth: int | None = None, width: int | None = None,
                 ascii_only: bool = False) -> str:
    from archc.insight.fold import fold, tree
    from archc.insight.table import Col, render
    from archc.layers.base import fmt_shape
    from archc.report import human_bytes

    saved = {x.name: x.saved_bytes for x in m.layers}
    times = " x " if ascii_only else " \u00d7 "
    rows = []
    for row in fold(tree(model.expanded.body, model.analysis), depth):
        kind = row.kind + (f"{times}{row.count}" if row.count > 1 else "")
        kept = sum(saved.get(r.name, 0) for r in row.layers)
        share = f"{100 * kept / m.saved_bytes:.2f}" if m.saved_bytes else "0.00"
        rows.append([row.name, kind, fmt_shape(row.last.output), human_bytes(kept), share])
    a = model.analysis
    lines = [f"{a.network}  input {fmt_shape(a.input)}, batch {m.batch}, {m.dtype}, "
             f"{OPTIMIZER_NAMES[m.optimizer]}", ""]
    lines += render([Col("Layer", wrap=1), Col("Kind", wrap=2), Col("Output"),
                     Col("Saved", numeric=True), Col("% saved", numeric=True)],
                    rows, width, ascii_only)
    pairs = summary_lines(m, a.totals.params)
    label = max(len(k) for k, _ in pairs)
    return "\n".join([*lines, "", *(f"{k.ljust(label)}  {v}" for k, v in pairs)]) + "\n"
