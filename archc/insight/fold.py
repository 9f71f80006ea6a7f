"""Folded rows for `archc params --depth N`: blocks and containers as one row with subtotals.

The expanded tree gives the nesting: a block call, a container, a residual or a concat is a
group; a group whose name equals its parent's (a block whose body is one residual) is the same
level. At the requested depth a group becomes one row; identical consecutive siblings (same
block or container label and the same per-layer figures) become one row marked "x N".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archc.analyze import Analysis, LayerStats
from archc.expand import (
    BlockNode,
    ConcatNode,
    LayerNode,
    ResidualNode,
    SeqNode,
    SideNode,
    TreeNode,
)
from archc.expr import INPUT, show_value


@dataclass
class Group:
    name: str
    label: str  # what the group is: block call, "residual", "concat", "{...}", "side"
    items: list[Group | LayerStats] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """One table row: a layer (count 1, layers = (it,)) or a folded group of `count` copies."""

    name: str
    kind: str
    layers: tuple[LayerStats, ...]
    count: int = 1
    folded: bool = False

    @property
    def params(self) -> int:
        return sum(r.params for r in self.layers)

    @property
    def macs(self) -> int:
        """A side head's own MACs on its rows; a row mixing main path and heads counts the main
        path's, as the totals do."""
        main = [r.macs for r in self.layers if r.side is None]
        return sum(main) if main else sum(r.macs for r in self.layers)

    @property
    def last(self) -> LayerStats:
        main = [r for r in self.layers if r.side is None]
        return (main or list(self.layers))[-1]


def _label(node: TreeNode) -> str:
    if getattr(node, "shared", None):
        return f"again {node.shared}"
    if isinstance(node, BlockNode):
        # the call's arguments; the block's input shape (`in`) is in its environment too
        args = ", ".join(show_value(v) for k, v in node.args.items() if k != INPUT)
        return f"{node.block}({args})"
    if isinstance(node, ResidualNode):
        return "residual"
    if isinstance(node, ConcatNode):
        return "concat"
    if isinstance(node, SideNode):
        return "side"
    return "{...}"


def tree(body: list[TreeNode], analysis: Analysis) -> Group:
    """The network as nested groups whose leaves are the analysed layers."""
    by_name = {row.name: row for row in analysis.layers}
    root = Group("", "network")
    for node in body:
        _add(root, node, by_name)
    return root


def _add(parent: Group, node: TreeNode, by_name: dict[str, LayerStats]) -> None:
    if isinstance(node, LayerNode):
        if node.name in by_name:
            parent.items.append(by_name[node.name])
        return
    group = parent if node.name == parent.name else Group(node.name, _label(node))
    for child in _children(node):
        _add(group, child, by_name)
    if group is not parent and group.items:
        parent.items.append(group)


def _children(node: TreeNode) -> list[TreeNode]:
    if isinstance(node, SeqNode):
        return node.children
    if isinstance(node, (BlockNode, SideNode)):
        return node.body
    if isinstance(node, ResidualNode):
        return [*node.body, *([node.shortcut] if node.shortcut else []), node.add]
    if isinstance(node, ConcatNode):
        return [*node.branches, node.cat]
    return []


def leaves(group: Group) -> list[LayerStats]:
    found: list[LayerStats] = []
    stack: list[Group | LayerStats] = [group]
    while stack:
        item = stack.pop()
        if isinstance(item, Group):
            stack.extend(reversed(item.items))
        else:
            found.append(item)
    return found


def fold(root: Group, depth: int | None) -> list[Row]:
    """Rows down to `depth` levels of nesting (None: every layer, nothing folded)."""
    rows: list[Row] = []
    _rows(root, 1, depth, rows)
    return rows


def _rows(group: Group, level: int, depth: int | None, out: list[Row]) -> None:
    pending: list[Row] = []
    for item in group.items:
        if isinstance(item, LayerStats):
            row = Row(_layer_name(item), item.kind, (item,))
        elif depth is not None and level >= depth:
            row = Row(item.name, item.label, tuple(leaves(item)), folded=True)
        else:
            _flush(pending, out)
            pending = []
            _rows(item, level + 1, depth, out)
            continue
        if pending and _same(pending[-1], row):
            pending.append(row)
        else:
            _flush(pending, out)
            pending = [row]
    _flush(pending, out)


def _layer_name(row: LayerStats) -> str:
    name = row.name if row.shared is None else f"{row.name} (again {row.shared})"
    return name if row.side is None else f"{name} [{row.side}]"


def _signature(row: Row) -> tuple:
    return (row.kind, tuple((r.kind, r.output, r.params, r.macs) for r in row.layers))


def _same(a: Row, b: Row) -> bool:
    return a.folded and b.folded and _signature(a) == _signature(b)


def _flush(pending: list[Row], out: list[Row]) -> None:
    if len(pending) == 1:
        out.append(pending[0])
    elif pending:
        first, last = pending[0], pending[-1]
        name = f"{first.name}-{last.name.rsplit('.', 1)[-1]}"
        layers = tuple(r for row in pending for r in row.layers)
        out.append(Row(name, first.kind, layers, len(pending), folded=True))
