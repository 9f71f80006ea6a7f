"""Graph: the expanded tree -> a graph of layers; edges carry tensors.

Node 0 is the input. Nodes are created in dataflow order, so insertion order is a
topological order. Named tensors (`-> x`) are resolved here, per network or block
instance, so each block call has its own names.

`Built.graph` is the networkx DiGraph the analyzer walks (node attributes layer, inputs,
side, name); `Built.nodes` holds the same nodes as a list indexed by node id, for the code
generator's constant-time lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from archc._perf import stage
from archc.errors import Code, Diagnostic, Span
from archc.expand import (
    CURRENT,
    BlockNode,
    ConcatNode,
    ExpandedNetwork,
    LayerNode,
    ResidualNode,
    SaveNode,
    SeqNode,
    SideNode,
    TreeNode,
)


@dataclass(slots=True)
class GraphNode:
    """One tensor-producing node: a layer (None for the input) and the nodes it reads."""

    layer: LayerNode | None
    inputs: list[int]
    side: str | None  # the side output it belongs to; None on the main path
    name: str


@dataclass
class Built:
    nodes: list[GraphNode]  # node id = index, in dataflow (topological) order; 0 = input
    output: int  # node id of the main output
    sides: dict[str, int] = field(default_factory=dict)  # side name -> its output node
    unused_saves: list[tuple[str, Span]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # id(tree node) -> (input tensor node, output tensor node), for code generation
    io: dict[int, tuple[int, int]] = field(default_factory=dict)
    graph: nx.DiGraph = field(default_factory=nx.DiGraph, repr=False)


def to_networkx(nodes: list[GraphNode]) -> nx.DiGraph:
    """The layer graph as a networkx DiGraph; node ids are dataflow (topological) order."""
    graph = nx.DiGraph()
    graph.add_nodes_from((index, {"layer": node.layer, "inputs": node.inputs, "side": node.side,
                                  "name": node.name}) for index, node in enumerate(nodes))
    graph.add_edges_from((source, index) for index, node in enumerate(nodes)
                         for source in node.inputs)
    return graph


@dataclass
class _Names:
    saved: dict[str, int] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    in_side: dict[str, str] = field(default_factory=dict)  # saved only inside this side head

    def side_scope(self) -> _Names:
        """What a side head sees: every tensor saved before it; what it saves stays its own
        (a head runs only in training, so the main path cannot read its tensors)."""
        return _Names(dict(self.saved), dict(self.spans), set(), dict(self.in_side))


class GraphBuilder:
    def __init__(self, net: ExpandedNetwork) -> None:
        self.net = net
        self.nodes: list[GraphNode] = [GraphNode(None, [], None, "input")]
        self.sides: dict[str, int] = {}
        self.diagnostics: list[Diagnostic] = []
        self.unused: list[tuple[str, Span]] = []
        self.io: dict[int, tuple[int, int]] = {}

    def build(self) -> Built:
        names = _Names()
        out = self._nodes(self.net.body, 0, None, names)
        self._finish(names)
        return Built(self.nodes, out, self.sides, self.unused, self.diagnostics, self.io,
                     to_networkx(self.nodes))

    def _finish(self, names: _Names) -> None:
        self.unused += [(n, names.spans[n]) for n in names.saved if n not in names.used]

    def _add(self, layer: LayerNode, inputs: list[int], side: str | None) -> int:
        node = len(self.nodes)
        self.nodes.append(GraphNode(layer, inputs, side, layer.name))
        return node

    def _nodes(self, nodes: list[TreeNode], current: int, side: str | None, names: _Names) -> int:
        for node in nodes:
            current = self._node(node, current, side, names)
        return current

    def _node(self, node: TreeNode, current: int, side: str | None, names: _Names) -> int:
        out = self._dataflow(node, current, side, names)
        self.io[id(node)] = (current, out)
        return out

    def _dataflow(self, node: TreeNode, current: int, side: str | None, names: _Names) -> int:
        if isinstance(node, LayerNode):
            refs = self._refs(node, names, current)
            if refs is None:  # reported; poison the merge so its users are skipped
                node = LayerNode(node.name, node.kind, None, node.span, node.trace)
                refs = []
            placed = any(ref == CURRENT for ref, _ in node.refs)  # `concat(x, _)`
            return self._add(node, refs if placed and refs else [current, *refs], side)
        if isinstance(node, SeqNode):
            return self._nodes(node.children, current, side, names)
        if isinstance(node, BlockNode):
            inner = _Names()  # each block instance has its own tensor names
            out = self._nodes(node.body, current, side, inner)
            self._finish(inner)
            return out
        if isinstance(node, ResidualNode):
            at = len(node.body) if node.shortcut_at is None else node.shortcut_at
            body = self._nodes(node.body[:at], current, side, names)  # in the order written
            skip = self._node(node.shortcut, current, side, names) if node.shortcut else current
            body = self._nodes(node.body[at:], body, side, names)
            return self._add(node.add, [body, skip], side)
        if isinstance(node, ConcatNode):
            outs = [self._node(branch, current, side, names) for branch in node.branches]
            return self._add(node.cat, outs, side)
        if isinstance(node, SideNode):
            inner = names.side_scope()
            self.sides[node.name] = self._nodes(node.body, current, node.name, inner)
            own = [n for n, i in inner.saved.items() if names.saved.get(n) != i]
            self.unused += [(n, inner.spans[n]) for n in own if n not in inner.used]
            names.used |= inner.used - set(own)
            for n in own:
                if n not in names.saved:  # else the main path still reads its own tensor
                    names.in_side[n] = node.name.rsplit(".", 1)[-1]
            return current
        if isinstance(node, SaveNode):
            names.in_side.pop(node.name, None)
            names.saved[node.name] = current
            names.spans[node.name] = node.span
            return current
        raise TypeError(f"unexpected tree node {node!r}")

    def _refs(self, layer: LayerNode, names: _Names, current: int) -> list[int] | None:
        found: list[int] | None = []
        for ref, span in layer.refs:
            if ref == CURRENT:
                if found is not None:
                    found.append(current)
            elif ref not in names.saved:
                if ref in names.in_side:
                    message = (f"`{ref}` is saved inside side output `{names.in_side[ref]}`, "
                               "which runs only in training: this path cannot read it")
                    hint = "save the tensor before the side head, or move its layers out of it"
                else:
                    message = f"no tensor named `{ref}` saved before here"
                    hint = (f"saved so far: {', '.join(names.saved)}" if names.saved
                            else "save the tensor first with `-> " + ref + "`")
                self.diagnostics.append(Diagnostic(Code.UNDEFINED_TENSOR, message, span, hint,
                                                   tuple(reversed(layer.trace))))
                found = None
            elif found is not None:
                names.used.add(ref)
                found.append(names.saved[ref])
        return found


def build_graph(net: ExpandedNetwork) -> Built:
    with stage():
        return GraphBuilder(net).build()
