"""Analyze: walk the layer graph in dataflow order computing shape, parameters and MACs.

Every rule comes from the layer registry; this module only orders the walk, attaches
spans to what the rules report, and adds up. A layer whose inputs failed is skipped,
so each independent error is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from archc._perf import stage
from archc.errors import ArchcError, Code, Diagnostic
from archc.expand import ExpandedNetwork, LayerNode, Limits
from archc.graph import Built
from archc.layers import Args, LayerError, LayerKind
from archc.layers.base import ChannelsLast, Shape, fmt_shape, prod

BYTES_PER_VALUE = 4  # activation memory is reported for float32


@dataclass(frozen=True)
class LayerStats:
    name: str
    kind: str
    output: Shape
    params: int
    macs: int
    line: int
    column: int
    side: str | None  # the side output this layer belongs to; None on the main path
    inputs: tuple[Shape, ...] = ()
    shared: str | None = None  # `again`: the module applied once more; its parameters count once


@dataclass(frozen=True)
class SideOutput:
    name: str
    output: Shape
    params: int
    macs: int


@dataclass(frozen=True)
class Bottleneck:
    name: str  # the larger convolution
    reduce: str  # the 1x1 convolution in front of it
    direct_macs: int  # the larger kernel applied to the wide input
    bottleneck_macs: int  # 1x1 + larger kernel on the narrowed input
    ratio: float


@dataclass(frozen=True)
class Totals:
    params: int
    macs: int
    activation_bytes: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass
class Analysis:
    network: str
    input: Shape
    output: Shape
    layers: list[LayerStats]
    totals: Totals
    side_outputs: list[SideOutput] = field(default_factory=list)
    bottlenecks: list[Bottleneck] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    tensor_shapes: dict[int, Shape] = field(default_factory=dict, repr=False)  # graph node -> shape


def analyze(net: ExpandedNetwork, built: Built, limits: Limits | None = None) -> Analysis:
    """Shapes, parameters and MACs of every layer; raises ArchcError listing every error."""
    with stage():
        return _analyze(net, built, limits or Limits())


def _analyze(net: ExpandedNetwork, built: Built, limits: Limits) -> Analysis:
    shapes, stats, errors, warnings, _ = _walk(net, built, limits)
    if errors:  # with the expander's warnings: a channels-last input often explains the errors
        raise ArchcError(errors + [d for d in net.diagnostics if not d.is_error])
    return _summarise(net, built, shapes, stats, warnings)


def analyze_partial(net: ExpandedNetwork, built: Built, limits: Limits | None = None
                    ) -> tuple[Analysis, list[Diagnostic], dict[int, Diagnostic]]:
    """Never raises: the analysis of every layer whose inputs are known, every error, and the
    graph node each layer error belongs to (for `archc render` of a broken spec)."""
    with stage():
        shapes, stats, errors, warnings, failed = _walk(net, built, limits or Limits())
        return _summarise(net, built, shapes, stats, warnings), errors, failed


def _walk(net: ExpandedNetwork, built: Built, limits: Limits):
    shapes: dict[int, Shape | None] = {0: tuple(net.input) or None}  # (): an invalid input
    failed: dict[int, Diagnostic] = {}
    stats: dict[int, LayerStats] = {}
    errors = [d for d in (*net.diagnostics, *built.diagnostics) if d.is_error]
    warnings = [d for d in (*net.diagnostics, *built.diagnostics) if not d.is_error]
    rules = _Rules(limits)
    reused = _Reused(built)
    for node, data in built.graph.nodes(data=True):  # insertion order is dataflow order
        if node == 0:
            continue
        layer: LayerNode = data["layer"]
        inputs = tuple(shapes[i] for i in data["inputs"])
        shapes[node] = None
        if layer.args is None:
            continue
        if None in inputs:  # after an error: only what the arguments alone show
            problem = rules.check_args(layer.kind, layer.args)
            if problem is not None:
                errors.append(_diagnostic(layer, problem.code, problem.message, problem.hint))
            continue
        result = rules.apply(layer.kind, layer.args, inputs)
        if not isinstance(result, LayerError):
            result = reused.check(layer, inputs, result)
        if isinstance(result, LayerError):
            errors.append(failed.setdefault(node, _diagnostic(layer, result.code,
                                                              result.message, result.hint)))
            continue
        out, params, macs, found = result
        shapes[node] = out
        stats[node] = LayerStats(layer.name, layer.kind.name, out, params, macs, layer.span.line,
                                 layer.span.col, data["side"], inputs, layer.shared)
        warnings += [_diagnostic(layer, *w) for w in found]
    return shapes, stats, errors, warnings, failed


class _Reused:
    """`again`: a shared layer's parameters count once (at its first use, like
    model.parameters()), and every later use must fit the weights made for the first: the
    registry's PyTorch constructor call for its input must be the first use's."""

    def __init__(self, built: Built) -> None:
        self.names = {data.layer.shared for data in built.nodes[1:] if data.layer.shared}
        self.first: dict[str, tuple[Shape, ...]] = {}  # name -> inputs at its first use

    def check(self, layer: LayerNode, inputs: tuple[Shape, ...], result: tuple):
        if not self.names or (layer.shared or layer.name) not in self.names:
            return result
        if not layer.shared:
            self.first[layer.name] = inputs
            return result
        first = self.first.get(layer.shared)
        if first is not None and first != inputs and not _same_weights(layer, first, inputs):
            now, then = (", ".join(fmt_shape(s) for s in shapes) for shapes in (inputs, first))
            return LayerError(Code.SHARED_MISMATCH, f"applied again to {now}, but its weights "
                              f"were made for {then}",
                              "apply it where the input has the shape of its first use, or write "
                              "a new layer with its own weights")
        out, _, macs, found = result
        return out, 0, macs, found


def _same_weights(layer: LayerNode, first: tuple[Shape, ...], inputs: tuple[Shape, ...]) -> bool:
    """Whether the module built for `first` is the one built for `inputs` (same constructor)."""
    try:
        a, b = layer.kind.torch(layer.args, list(first)), layer.kind.torch(layer.args,
                                                                           list(inputs))
    except Exception:  # a kind without a PyTorch form: compare the inputs themselves
        return False
    return (a.module, a.args, a.kwargs, a.expr) == (b.module, b.args, b.kwargs, b.expr)


class _Rules:
    """The registry's rules for one layer, memoised on (kind, arguments, input shapes): a deep
    network repeats the same few layers on the same shapes thousands of times."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.memo: dict[tuple, tuple | LayerError] = {}

    def apply(self, kind: LayerKind, args: Args, inputs: tuple[Shape, ...]):
        """(output, params, MACs, warnings), or the LayerError the layer raises."""
        try:  # the layout is part of the key: ChannelsLast((4, 4, 8)) == (4, 4, 8)
            key = (kind.name, args, inputs, tuple(isinstance(s, ChannelsLast) for s in inputs))
            return self.memo[key]
        except TypeError:  # an unhashable argument value: just compute
            return self._compute(kind, args, inputs)
        except KeyError:
            result = self.memo[key] = self._compute(kind, args, inputs)
            return result

    @staticmethod
    def check_args(kind: LayerKind, args: Args) -> LayerError | None:
        try:
            kind.check_args(args)
        except LayerError as exc:
            return exc
        return None

    def _compute(self, kind: LayerKind, args: Args, inputs: tuple[Shape, ...]):
        try:
            out = _layer(kind, args, list(inputs), self.limits)
        except LayerError as exc:
            return exc
        params = kind.params(args, list(inputs))
        if params > self.limits.max_elements:
            return LayerError(Code.VALUE_TOO_LARGE, f"{kind.name} has {params:,} parameters, "
                              f"above the cap of {self.limits.max_elements:,} per layer",
                              "is a size off by orders?")
        return out, params, kind.macs(args, list(inputs), out), tuple(
            kind.warnings(args, list(inputs)))


def _layer(kind: LayerKind, args: Args, inputs: list[Shape], limits: Limits) -> Shape:
    """The checked output shape of one layer."""
    if not kind.channels_last and any(isinstance(s, ChannelsLast) for s in inputs):
        shape = next(s for s in inputs if isinstance(s, ChannelsLast))
        back = ", ".join(map(str, (0, len(shape), *range(1, len(shape)))))
        raise LayerError(Code.RANK_MISMATCH, f"{kind.name} expects channels first but got "
                         f"{fmt_shape(shape)}", f"`permute({back})` puts the channels first")
    kind.check_args(args)
    kind.check(args, inputs)
    out = kind.out_shape(args, inputs)
    out = out if isinstance(out, tuple) else tuple(out)
    if any(d < 1 for d in out):
        raise LayerError(Code.KERNEL_TOO_LARGE, f"{kind.name} produces an empty tensor "
                         f"{fmt_shape(out)}", "the input is too small for this layer")
    if any(d > limits.max_dim for d in out):
        raise LayerError(Code.VALUE_TOO_LARGE, f"{kind.name} output {fmt_shape(out)} exceeds the "
                         f"per-dimension cap of {limits.max_dim:,}", "is a size off by orders?")
    if prod(out) > limits.max_elements:
        raise LayerError(Code.VALUE_TOO_LARGE, f"{kind.name} output {fmt_shape(out)} has "
                         f"{prod(out):,} elements, above the cap of {limits.max_elements:,} "
                         "per sample", "is a size off by orders?")
    return out


def _diagnostic(layer: LayerNode, code: Code, message: str, hint: str | None) -> Diagnostic:
    return Diagnostic(code, f"{layer.name}: {message}", layer.span, hint,
                      tuple(reversed(layer.trace)))


def _summarise(net, built: Built, shapes, stats, warnings) -> Analysis:
    layers = list(stats.values())
    main = [row for row in layers if row.side is None]
    sides = []
    for name, node in built.sides.items():
        rows = [row for row in layers if row.side == name]
        sides.append(SideOutput(name, shapes[node], sum(r.params for r in rows),
                                sum(r.macs for r in rows)))
    totals = Totals(params=sum(row.params for row in layers), macs=sum(row.macs for row in main),
                    activation_bytes=BYTES_PER_VALUE * sum(prod(row.output) for row in main))
    return Analysis(net.name, tuple(net.input), shapes[built.output], layers, totals, sides,
                    find_bottlenecks(built, stats), warnings, shapes)


def find_bottlenecks(built: Built, stats: dict[int, LayerStats]) -> list[Bottleneck]:
    """Every 1x1 convolution that narrows channels in front of a larger kernel."""
    graph = built.graph
    found = []
    for node, row in stats.items():
        layer: LayerNode = graph.nodes[node]["layer"]
        kernel = layer.kind.kernel(layer.args)
        wide = row.inputs[0][0]
        if kernel is None or any(k != 1 for k in kernel) or row.output[0] >= wide:
            continue
        target = _next_conv(graph, node, stats)
        if target is None:
            continue
        big = graph.nodes[target]["layer"]
        big_row = stats[target]
        big_kernel = big.kind.kernel(big.args)
        if all(k == 1 for k in big_kernel):
            continue
        wide_input = (wide, *big_row.inputs[0][1:])
        direct = big.kind.macs(big.args, [wide_input], big_row.output)
        through = row.macs + big_row.macs
        found.append(Bottleneck(big_row.name, row.name, direct, through, direct / through))
    return found


def _next_conv(graph: nx.DiGraph, node: int, stats: dict) -> int | None:
    """Follow a single-consumer chain of cost-free, shape-preserving layers to a convolution."""
    while True:
        successors = list(graph.successors(node))
        if len(successors) != 1 or successors[0] not in stats:
            return None
        node = successors[0]
        layer: LayerNode = graph.nodes[node]["layer"]
        row = stats[node]
        if layer.kind.kernel(layer.args) is not None:
            return node
        if len(row.inputs) != 1 or row.macs or tuple(row.output) != tuple(row.inputs[0]):
            return None
