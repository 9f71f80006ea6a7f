"""Scene: the analysed network as a tree of boxes (layers, blocks, repeats, side outputs)
and the tensors flowing between them.

Everything comes from the pipeline's results (the expanded tree, the graph, the analysis):
no layer kind is special-cased. A node with two or more inputs is a merge, whatever its kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass

from archc.analyze import Analysis
from archc.errors import Diagnostic, Span
from archc.expand import (
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
from archc.expr import show_value
from archc.graph import Built

ROOT = "root"
TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass
class Item:
    """One box: a layer (`node` is its graph node), or a group of boxes."""

    id: str
    name: str  # full hierarchical name
    role: str  # input, output, layer, merge, block, repeat, seq, side
    kind: str = ""  # the layer kind or the block called
    children: list[Item] = field(default_factory=list)
    parent: Item | None = field(default=None, repr=False)
    node: int | None = None
    params: int = 0
    macs: int = 0
    layers: int = 0
    repeat: int = 0  # "x N": identical consecutive block calls
    side: str | None = None
    inputs: tuple = ()
    output: tuple | None = None
    line: int = 0
    kernel: tuple | None = None
    error: str | None = None
    bottleneck: str | None = None
    bottleneck_for: str = ""  # the larger convolution it narrows the input of
    bottlenecks: int = 0  # in the group's subtree
    block_args: str = ""

    @property
    def is_group(self) -> bool:
        return bool(self.children)

    @property
    def title(self) -> str:
        """The name relative to the enclosing group."""
        parent = self.parent.name if self.parent is not None and self.parent.id != ROOT else ""
        if parent and self.name.startswith(parent + "."):
            return self.name[len(parent) + 1:]
        return self.name

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Scene:
    root: Item
    direction: str
    network: str
    items: dict[str, Item]
    # leaf-level tensors: (producer item id, consumer item id, shape text)
    edges: list[tuple[str, str, str]]
    errors: list[str]  # every error message, `file:line:col: error[CODE]: message`
    ok: bool


def shape_text(shape: tuple | None) -> str:
    """Netscope's "64ch · 56x56" (with a multiplication sign); a flat vector is its size."""
    if not shape:
        return "?"
    if len(shape) == 1:
        return f"{shape[0]:,}"
    return f"{shape[0]}ch · " + TIMES.join(str(d) for d in shape[1:])


def diag_text(diag: Diagnostic) -> str:
    where = f"{diag.span}: " if diag.span else ""
    return f"{where}{diag.severity}[{diag.code.value}]: {diag.message}"


def error_scene(network: str, diagnostics: list[Diagnostic], direction: str = "TB") -> Scene:
    """Nothing could be expanded (a syntax error): a picture of the messages alone."""
    root = Item(ROOT, network, "seq")
    errors = [diag_text(d) for d in diagnostics if d.is_error]
    return Scene(root, direction, network, {ROOT: root}, [], errors, False)


class SceneBuilder:
    def __init__(self, net: ExpandedNetwork, built: Built, analysis: Analysis,
                 diagnostics: list[Diagnostic], failed: dict[int, Diagnostic]) -> None:
        self.net, self.built, self.analysis = net, built, analysis
        self.stats = {node: row for node, row in _stats_by_node(built, analysis).items()}
        self.errors = [d for d in diagnostics if d.is_error]
        self.failed = dict(failed)
        self.items: dict[str, Item] = {}
        self.leaf_of: dict[int, Item] = {}
        self.side_groups: dict[str, Item] = {}
        self.reduce = {b.reduce: b for b in analysis.bottlenecks}

    def build(self, direction: str) -> Scene:
        root = self._item(ROOT, self.net.name, "seq")
        entry = self._item("n0", "input", "input", parent=root)
        entry.node, entry.output = 0, tuple(self.net.input)
        self.leaf_of[0] = entry
        self._sequence(self.net.body, root, None)
        out = self._item("out", "output", "output", parent=root)
        out.output = self.analysis.output
        edges = self._edges(out)
        for item in reversed(list(root.walk())):  # children first: subtotals bubble up
            _prune(item)
        for item in list(root.walk())[::-1]:
            if item.is_group:
                _subtotal(item)
        visible = {item.id for item in root.walk()}
        edges = [e for e in edges if e[0] in visible and e[1] in visible]
        self.items = {item.id: item for item in root.walk()}
        return Scene(root, direction, self.net.name, self.items, edges,
                     [diag_text(d) for d in self.errors], not self.errors)

    # ---- the tree -------------------------------------------------------------------

    def _item(self, ident: str, name: str, role: str, parent: Item | None = None) -> Item:
        item = Item(ident, name, role, parent=parent)
        self.items[ident] = item
        if parent is not None:
            parent.children.append(item)
        return item

    def _sequence(self, nodes: list[TreeNode], parent: Item, side: str | None) -> None:
        """A body: groups of identical consecutive block calls become one `x N` box."""
        for run in _runs(nodes):
            if len(run) > 1 and len(run) == len(nodes) and parent.role == "seq" \
                    and parent.id != ROOT and not parent.repeat:
                parent.repeat = len(run)  # a group holding only the repeats is the `x N` box
                parent.kind, parent.block_args = run[0].block, _args_text(run[0].args)
                target = parent
            elif len(run) > 1:
                first: BlockNode = run[0]  # type: ignore[assignment]
                target = self._item(f"r{len(self.items)}", f"{first.name}..{_local(run[-1].name)}",
                                    "repeat", parent)
                target.kind, target.repeat, target.side = first.block, len(run), side
                target.block_args = _args_text(first.args)
            else:
                target = parent
            for node in run:
                self._tree(node, target, side)

    def _tree(self, node: TreeNode, parent: Item, side: str | None) -> None:
        if isinstance(node, LayerNode):
            self._layer(node, parent, side)
        elif isinstance(node, BlockNode):
            group = self._item(f"g{len(self.items)}", node.name, "block", parent)
            group.kind, group.side, group.line = node.block, side, node.span.line
            group.block_args = _args_text(node.args)
            self._sequence(node.body, group, side)
        elif isinstance(node, SeqNode):
            group = self._item(f"g{len(self.items)}", node.name, "seq", parent)
            group.side, group.line = side, node.span.line
            self._sequence(node.children, group, side)
        elif isinstance(node, SideNode):
            group = self._item(f"g{len(self.items)}", node.name, "side", parent)
            group.side, group.line = node.name, node.span.line
            self.side_groups[node.name] = group
            self._sequence(node.body, group, node.name)
        elif isinstance(node, ResidualNode):
            self._sequence(node.body, parent, side)
            if node.shortcut is not None:  # structure, not a box: its layers sit beside the body
                self._sequence(node.shortcut.children, parent, side)
            self._layer(node.add, parent, side, self.built.io[id(node)][1])
        elif isinstance(node, ConcatNode):
            for branch in node.branches:
                self._sequence(branch.children, parent, side)
            self._layer(node.cat, parent, side, self.built.io[id(node)][1])
        elif isinstance(node, SaveNode):
            pass
        elif is_dataclass(node):  # a tree node added since: its parts, in order
            for part in fields(node):
                value = getattr(node, part.name)
                for child in value if isinstance(value, list) else [value]:
                    if is_dataclass(child) and not isinstance(child, Span):
                        self._tree(child, parent, side)

    def _layer(self, layer: LayerNode, parent: Item, side: str | None,
               node: int | None = None) -> None:
        if node is None:  # a merge written by the language is the output of its residual/concat
            if id(layer) not in self.built.io:
                return
            node = self.built.io[id(layer)][1]
        row = self.stats.get(node)
        failure = self.failed.get(node) or self._expand_error(layer)
        if row is None and failure is None:
            return  # after an error: not analysed, not drawn
        inputs = self.built.graph.nodes[node]["inputs"]
        item = self._item(f"n{node}", layer.name, "merge" if len(inputs) > 1 else "layer", parent)
        item.node, item.side, item.line = node, side, layer.span.line
        item.kind = layer.kind.name if layer.kind is not None else "?"
        if layer.kind is not None and layer.args is not None:
            item.kernel = layer.kind.kernel(layer.args)
        if row is not None:
            item.params, item.macs, item.layers = row.params, row.macs, 1
            item.inputs, item.output = tuple(row.inputs), tuple(row.output)
        else:
            item.inputs = tuple(self.analysis.tensor_shapes.get(i) for i in inputs)
        if failure is not None:
            item.error = diag_text(failure)
        found = self.reduce.get(layer.name)
        if found is not None:
            item.bottleneck = f"1{TIMES}1 bottleneck: {found.ratio:.1f}{TIMES} fewer MACs"
            item.bottleneck_for = found.name
            item.bottlenecks = 1
        self.leaf_of[node] = item

    def _expand_error(self, layer: LayerNode) -> Diagnostic | None:
        if layer.args is not None:
            return None
        inside = [d for d in self.errors if _within(d.span, layer.span)]
        return inside[0] if inside else (self.errors[0] if self.errors else None)

    # ---- tensors --------------------------------------------------------------------

    def _edges(self, out: Item) -> list[tuple[str, str, str]]:
        shapes = self.analysis.tensor_shapes
        edges = []
        for source, target in self.built.graph.edges:
            if source in self.leaf_of and target in self.leaf_of:
                edges.append((self.leaf_of[source].id, self.leaf_of[target].id,
                              shape_text(shapes.get(source))))
        if self.built.output in self.leaf_of and shapes.get(self.built.output):
            edges.append((self.leaf_of[self.built.output].id, out.id,
                          shape_text(shapes[self.built.output])))
        else:
            out.parent.children.remove(out)  # type: ignore[union-attr]
        for name, node in self.built.sides.items():
            group = self.side_groups.get(name)
            if group is None or node not in self.leaf_of or not shapes.get(node):
                continue
            end = self._item(f"s{len(self.items)}", f"{name}.output", "output", group)
            end.side, end.output = name, shapes[node]
            edges.append((self.leaf_of[node].id, end.id, shape_text(shapes[node])))
        return edges


def _stats_by_node(built: Built, analysis: Analysis) -> dict:
    """Graph node -> its LayerStats row: the analyzer keeps a row exactly for the nodes whose
    shape it found, in dataflow order."""
    shapes = analysis.tensor_shapes
    nodes = [n for n in built.graph.nodes if n != 0 and shapes.get(n) is not None]
    return dict(zip(nodes, analysis.layers))


def _runs(nodes: list[TreeNode]) -> list[list[TreeNode]]:
    """Consecutive calls of one block with equal arguments, grouped; anything else alone."""
    runs: list[list[TreeNode]] = []
    for node in nodes:
        last = runs[-1][-1] if runs else None
        if isinstance(node, BlockNode) and isinstance(last, BlockNode) \
                and last.block == node.block and last.args == node.args:
            runs[-1].append(node)
        else:
            runs.append([node])
    return runs


def _prune(item: Item) -> None:
    """Groups left empty (everything in them came after an error) are not drawn."""
    item.children = [c for c in item.children if c.node is not None or c.children
                     or c.role == "output"]


def _subtotal(group: Item) -> None:
    group.params = sum(c.params for c in group.children)
    group.macs = sum(c.macs for c in group.children if c.side is None or group.side)
    group.layers = sum(c.layers for c in group.children)
    group.bottlenecks = sum(c.bottlenecks for c in group.children)
    if any(c.error for c in group.children):
        group.error = next(c.error for c in group.children if c.error)
    outputs = [c.output for c in group.children if c.output is not None and c.role != "output"]
    group.output = outputs[-1] if outputs else None


def _within(inner: Span | None, outer: Span) -> bool:
    if inner is None or inner.file != outer.file:
        return False
    return (outer.line, outer.col) <= (inner.line, inner.col) and \
        (inner.end_line, inner.end_col) <= (outer.end_line, outer.end_col)


def _local(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _args_text(args: dict) -> str:
    return ", ".join(f"{k}={show_value(v)}" for k, v in args.items())


def kind_is_name(item: Item) -> bool:
    """An automatic name (`relu`, `relu2`, `3`) says nothing the kind does not."""
    return bool(re.fullmatch(re.escape(item.kind) + r"\d*|\d+", item.title))


def build_scene(net: ExpandedNetwork, built: Built, analysis: Analysis,
                diagnostics: list[Diagnostic] = (), failed: dict[int, Diagnostic] | None = None,
                direction: str = "TB") -> Scene:
    return SceneBuilder(net, built, analysis, list(diagnostics), failed or {}).build(direction)
