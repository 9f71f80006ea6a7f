"""`again NAME`: a module labelled earlier in the same scope, applied once more.

The expanded tree holds a copy of the labelled item's nodes, each naming in `shared` the module
it applies again and named after it (`conv1#2`, `layer1#2.0.conv1` for its second use): the
analyzer counts its MACs again but not its parameters, and checks that
the new input fits the weights (E208); the code generator registers nothing for it and calls
the module of that name again. A label is visible to `again` in its own scope (the network or
block body, or the labelled container, that holds it) from where it is written on.
"""

from __future__ import annotations

from dataclasses import replace

from archc import ast as A
from archc.errors import Code
from archc.expand.naming import Ctx
from archc.expand.tree import (
    BlockNode,
    ConcatNode,
    LayerLimit,
    LayerNode,
    ResidualNode,
    SaveNode,
    SeqNode,
    SideNode,
    TreeNode,
)


class ReuseMixin:
    """Part of `Expander` (archc.expand.core): `again NAME`."""

    def _define(self, label: str, item, nodes: list[TreeNode], start, ctx: Ctx) -> None:
        """Remember what a labelled item expanded to, for a later `again`."""
        if isinstance(item, (A.Side, A.Shortcut)) or not nodes:
            return
        end = ctx.flow.shape if ctx.flow is not None else None
        ctx.scope.defined[label] = [nodes, start, end, 1]

    def _again(self, item: A.Again, ctx: Ctx) -> list[TreeNode]:
        found = ctx.scope.defined.get(item.name)
        if found is None:
            self._no_such_label(item, ctx)
            if ctx.flow is not None:
                ctx.flow.shape = None
            return [self._poisoned(item, ctx)]
        nodes, start, end, uses = found
        found[3] = uses = uses + 1
        path = f"{ctx.scope.prefix}.{item.name}" if ctx.scope.prefix else item.name
        ctx.scope.used.add(f"{item.name}#{uses}")
        copies = [shared_copy(node, item.span, path, f"{path}#{uses}") for node in nodes]
        self.layer_count += sum(1 for node in copies for _ in _layers(node))
        if self.layer_count > self.limits.max_layers:
            self._too_large(item.span, ctx.trace)
            raise LayerLimit
        if ctx.flow is not None:  # same input, same output; else the analyzer reports E208
            ctx.flow.shape = end if ctx.flow.shape == start else None
        return copies

    def _no_such_label(self, item: A.Again, ctx: Ctx) -> None:
        if item.name in ctx.scope.labels:
            self.error(Code.UNDEFINED_MODULE, f"`again {item.name}` comes before the module "
                       f"labelled `{item.name}`", item.span,
                       f"`again` applies a module defined above it: move it after "
                       f"`{item.name}: ...`", ctx.trace)
            return
        known = ", ".join(f"`{name}`" for name in ctx.scope.defined)
        where = "this block's body" if ctx.stack and not ctx.scope.prefix else "this scope"
        self.error(Code.UNDEFINED_MODULE, f"no module labelled `{item.name}` before here in "
                   f"{where}", item.span,
                   (f"labelled so far here: {known}; " if known else "")
                   + "`again` sees labels of the same network, block body or container, "
                   "written before it (not those inside a block call or another container)",
                   ctx.trace)


def shared_copy(node: TreeNode, span, old: str, new: str) -> TreeNode:
    """`node` applied once more: new tree nodes (their own graph nodes) located at the `again`,
    each module naming in `shared` the one it applies, their names' prefix `old` now `new`."""
    name = new + node.name[len(old):] if node.name == old or node.name.startswith(
        old + ".") else node.name

    def again(child: TreeNode) -> TreeNode:
        return shared_copy(child, span, old, new)

    if isinstance(node, LayerNode):
        return replace(node, name=name, shared=node.shared or node.name, span=span)
    if isinstance(node, SeqNode):
        return replace(node, name=name, children=[again(c) for c in node.children],
                       shared=node.shared or node.name, span=span)
    if isinstance(node, BlockNode):
        return replace(node, name=name, body=[again(c) for c in node.body],
                       shared=node.shared or node.name, span=span)
    if isinstance(node, ResidualNode):
        return replace(node, name=name, body=[again(c) for c in node.body],
                       shortcut=None if node.shortcut is None else again(node.shortcut),
                       add=again(node.add), span=span)
    if isinstance(node, ConcatNode):
        return replace(node, name=name, branches=[again(b) for b in node.branches],
                       cat=again(node.cat), span=span)
    if isinstance(node, SideNode):
        return replace(node, name=name, body=[again(c) for c in node.body])
    if isinstance(node, SaveNode):
        return replace(node)
    raise TypeError(f"unexpected tree node {node!r}")


def _layers(node: TreeNode):
    """The layers under `node` (what the layer limit counts)."""
    if isinstance(node, LayerNode):
        yield node
    elif isinstance(node, SeqNode):
        for child in node.children:
            yield from _layers(child)
    elif isinstance(node, (BlockNode, SideNode)):
        for child in node.body:
            yield from _layers(child)
    elif isinstance(node, ResidualNode):
        for child in [*node.body, *([node.shortcut] if node.shortcut else [])]:
            yield from _layers(child)
    elif isinstance(node, ConcatNode):
        for child in node.branches:
            yield from _layers(child)
