"""Containers: groups, residuals (body, shortcut, sum) and concat branches."""

from __future__ import annotations

from archc import ast as A
from archc.errors import Span
from archc.expand.naming import Ctx, Scope, _shortcut_name
from archc.expand.tree import ConcatNode, LayerNode, ResidualNode, SeqNode
from archc.layers import REGISTRY


class ContainersMixin:
    """Part of `Expander` (archc.expand.core): items that hold other items."""

    def _seq(self, items: list, ctx: Ctx, name: str, span: Span, indexed: bool,
             collapse: bool = False) -> SeqNode:
        """A container; with `collapse`, one that holds a single call is that call (so a
        one-layer branch is `branch1.conv`, not `branch1.0.conv`)."""
        single = items[0] if len(items) == 1 else None
        if collapse and isinstance(single, A.Call) and single.label is None and not (
                single.name in REGISTRY and REGISTRY[single.name].takes_tensors):
            return SeqNode(name, [self._call(single, ctx, name)], indexed, span)
        inner = Ctx(ctx.env, Scope(name, indexed=indexed), ctx.trace, ctx.defaults, ctx.stack)
        return SeqNode(name, self._items(items, inner), indexed, span)


    def _residual(self, item: A.Residual, ctx: Ctx) -> ResidualNode:
        if item.label is not None:
            name = ctx.scope.child("residual", item.label)
            ctx = Ctx(ctx.env, Scope(name, indexed=False), ctx.trace, ctx.defaults, ctx.stack)
        body = self._items(item.body, ctx)
        shortcut = None
        if item.shortcut is not None:
            shortcut = self._seq(item.shortcut, ctx, _shortcut_name(ctx.scope), item.span,
                                 indexed=True)
        add_kind = REGISTRY["residual_add"]
        add = LayerNode(ctx.scope.child("add", None, slot=False), add_kind, add_kind.Args(),
                        item.span, ctx.trace)
        return ResidualNode(ctx.scope.prefix, body, shortcut, add, item.span)

    def _concat(self, item: A.ConcatBlock, ctx: Ctx) -> ConcatNode:
        if item.label is not None:
            name = ctx.scope.child("concat", item.label)
            ctx = Ctx(ctx.env, Scope(name, indexed=False), ctx.trace, ctx.defaults, ctx.stack)
        branches = [self._seq(b.items, ctx, ctx.scope.child("branch", None), b.span, indexed=True,
                              collapse=True) for b in item.branches]
        cat = LayerNode(ctx.scope.child("concat", None, slot=False), REGISTRY["concat"],
                        REGISTRY["concat"].Args(), item.span, ctx.trace)
        return ConcatNode(ctx.scope.prefix, branches, cat, item.span)

