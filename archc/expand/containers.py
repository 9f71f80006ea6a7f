"""Containers: groups, residuals (body, shortcut, sum), concat branches and `if`.

Module levels: a labelled container, a shortcut, a `branch` and an unlabelled `{ }` written in
a numbered container each hold their modules in a level of their own. That level is numbered
0, 1, 2, ... (an nn.Sequential) unless labels are written directly inside it: then its
children are named. An anonymous level (a branch, a `{ }` in a numbered container) with
labels inside adds no level: its modules are named in the enclosing scope, as torchvision's
Inception and SqueezeNet blocks hold their branches' modules.
"""

from __future__ import annotations

from dataclasses import replace

from archc import ast as A
from archc.errors import Code, Span
from archc.expand.naming import Ctx, Flow, Scope, Skip, _labels, _shortcut_name
from archc.expand.tree import _ERROR, ConcatNode, LayerNode, ResidualNode, SeqNode, TreeNode
from archc.layers import REGISTRY


class ContainersMixin:
    """Part of `Expander` (archc.expand.core): items that hold other items."""

    def _seq(self, items: list, ctx: Ctx, name: str, span: Span, collapse: bool = False,
             flow: Flow | None = None) -> SeqNode:
        """A container; with `collapse`, one that holds a single call is that call (so a
        one-layer branch is `branch1.conv`, not `branch1.0.conv`)."""
        single = items[0] if len(items) == 1 else None
        indexed = not _labels(items)
        inner = ctx.with_scope(Scope(name, indexed=indexed), flow)
        if collapse and isinstance(single, A.Call) and single.label is None and not (
                single.name in REGISTRY and REGISTRY[single.name].takes_tensors):
            return SeqNode(name, [self._call(single, inner, name)], indexed, span)
        return SeqNode(name, self._items(items, inner), indexed, span)

    def _transparent(self, items: list, ctx: Ctx, span: Span) -> SeqNode:
        """An anonymous container with labels inside: no module level of its own."""
        name = f"{ctx.scope.prefix}.branch" if ctx.scope.prefix else "branch"
        return SeqNode(name, self._items(items, ctx), False, span)

    def _group(self, item: A.Group, ctx: Ctx) -> list[TreeNode]:
        if item.label is not None:
            return [self._seq(item.items, ctx, ctx.scope.child("group", item.label), item.span)]
        if ctx.scope.indexed and not _labels(item.items):  # `features.1.conv.0.0`
            return [self._seq(item.items, ctx, ctx.scope.child("group", None), item.span)]
        return self._items(item.items, ctx)

    def _if(self, item: A.If, ctx: Ctx) -> list[TreeNode]:
        """The chosen arm's items, in place of the `if`."""
        chosen = self._condition(item.condition, ctx)
        if chosen is None:
            return []
        return self._items(item.then if chosen else item.otherwise or [], ctx)

    def _condition(self, expr, ctx: Ctx) -> bool | None:
        value = self.eval(expr, ctx.env, ctx.trace)
        if value is _ERROR:
            return None
        if not isinstance(value, bool):
            self.error(Code.BAD_CONDITION, f"a condition must be true or false, got {value!r}",
                       expr.span, "compare it, e.g. `s == 1 and in.c == c`", ctx.trace)
            return None
        return value

    def _residual(self, item: A.Residual, ctx: Ctx) -> list[TreeNode]:
        if item.condition is not None:
            chosen = self._condition(item.condition, ctx)
            if chosen is None:
                return []
            if not chosen:  # no skip: the body alone, as if written without `residual`
                unused = Skip(None)
                nodes = self._items(item.body, replace(ctx, residual=unused))
                return [n for n in nodes if n is not unused.node]
        if item.label is not None:
            name = ctx.scope.child("residual", item.label)
            ctx = ctx.with_scope(Scope(name, indexed=False))
        skip = Skip(ctx.branch())
        body = self._items(item.body, replace(ctx, residual=skip))
        shortcut, at = None, None
        if skip.node is not None:  # written in the body: registered where it stands
            at = next(i for i, node in enumerate(body) if node is skip.node)
            shortcut = body.pop(at)
        if item.shortcut is not None:
            if shortcut is not None:
                self.error(Code.DUPLICATE, "a residual with two shortcuts",
                           item.shortcut_span or item.span, "keep one", ctx.trace)
            else:
                shortcut = self._shortcut(item.shortcut, item.shortcut_label,
                                          item.shortcut_span or item.span, ctx, skip)
        add_kind = REGISTRY["residual_add"]
        add = LayerNode(ctx.scope.child("add", None, slot=False), add_kind, add_kind.Args(),
                        item.span, ctx.trace)
        if ctx.flow is not None and skip.start is not None:
            self._advance(ctx, add, [ctx.flow.shape, skip.start.shape])
        return [ResidualNode(ctx.scope.prefix, body, shortcut, add, item.span, at)]

    def _shortcut_item(self, item: A.Shortcut, ctx: Ctx) -> list[TreeNode]:
        """A shortcut written in a residual's body (possibly inside an `if` there)."""
        skip = ctx.residual
        if skip is None:
            self.error(Code.SYNTAX, "`shortcut` outside a residual's body", item.span,
                       "write it inside `residual { ... }`, or after its `}`", ctx.trace)
            return []
        if skip.node is not None:
            self.error(Code.DUPLICATE, "a residual with two shortcuts", item.span, "keep one",
                       ctx.trace)
            return []
        skip.node = self._shortcut(item.items, item.label, item.span, ctx, skip)
        return [skip.node]

    def _shortcut(self, items: list, label: str | None, span: Span, ctx: Ctx,
                  skip: Skip) -> SeqNode:
        return self._seq(items, ctx, _shortcut_name(ctx.scope, label), span, flow=skip.start)

    def _concat(self, item: A.ConcatBlock, ctx: Ctx) -> ConcatNode:
        if item.label is not None:
            name = ctx.scope.child("concat", item.label)
            ctx = ctx.with_scope(Scope(name, indexed=False))
        branches, outs = [], []
        for b in item.branches:
            inner = ctx.with_scope(ctx.scope, ctx.branch())
            if _labels(b.items):
                branches.append(self._transparent(b.items, inner, b.span))
            else:
                branches.append(self._seq(b.items, inner, ctx.scope.child("branch", None),
                                          b.span, collapse=True, flow=inner.flow))
            outs.append(inner.flow.shape if inner.flow else None)
        cat = LayerNode(ctx.scope.child("concat", None, slot=False), REGISTRY["concat"],
                        REGISTRY["concat"].Args(), item.span, ctx.trace)
        self._advance(ctx, cat, outs)
        return ConcatNode(ctx.scope.prefix, branches, cat, item.span)
