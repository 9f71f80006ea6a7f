"""The expander: networks, defaults and the dispatch over items; calls and containers are
expanded by the mixins in calls.py and containers.py."""

from __future__ import annotations

import math
import re
from dataclasses import replace

from archc import ast as A
from archc.errors import ArchcError, Code, Diagnostic, Span
from archc.expand.calls import CallsMixin
from archc.expand.containers import ContainersMixin
from archc.expand.diagnose import _block_of, _parameter_hint
from archc.expand.naming import Ctx, Flow, Scope, _labels
from archc.expand.reuse import ReuseMixin
from archc.expand.tree import (
    _ERROR,
    ExpandedNetwork,
    LayerLimit,
    Limits,
    SaveNode,
    SideNode,
    Trace,
    TreeNode,
    Value,
)
from archc.expr import INPUT, EvalError, evaluate
from archc.layers import REGISTRY, Args
from archc.sizes import MAX_DEPTH, check_size

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_DIAGNOSTICS = 1000  # per network: further errors are dropped
MAX_MESSAGE = 400  # characters of one diagnostic message


class Expander(CallsMixin, ContainersMixin, ReuseMixin):
    def __init__(self, spec: A.SpecFile, limits: Limits | None = None,
                 symbolic: bool = False) -> None:
        self.spec = spec
        self.symbolic = symbolic  # codegen: values may be `Sym`s, arguments are not validated
        self.limits = limits or Limits()
        self.blocks: dict[str, A.BlockDef] = {}
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[tuple] = set()
        self._valid_args: dict[tuple, Args] = {}  # (kind, frozen_key(values)) -> validated
        self.layer_count = 0
        self._depth = 0  # items being expanded inside one another, block bodies included
        # shapes are followed only when a block reads `in.` (outside blocks it is E113 anyway)
        self.track = uses_input(spec.blocks)
        self._shapes: dict[tuple, tuple | None] = {}  # (kind, args, inputs) -> output shape
        for block in spec.blocks:
            if block.name in self.blocks or block.name in REGISTRY:
                what = "a layer kind" if block.name in REGISTRY else "a block"
                self.error(Code.DUPLICATE, f"`{block.name}` is already {what}", block.span,
                           "rename the block")
            else:
                self.blocks[block.name] = block

    # ---- diagnostics ------------------------------------------------------------

    def error(self, code: Code, message: str, span: Span, hint: str | None = None,
              trace: Trace = ()) -> None:
        if len(self.diagnostics) >= MAX_DIAGNOSTICS:
            return  # one mistake repeated a million times is still one screenful
        if len(message) > MAX_MESSAGE:  # a name can be megabytes long in a hostile file
            message = message[:MAX_MESSAGE - 3] + "..."
        key = (code, span, message)
        if key not in self._seen:
            self._seen.add(key)
            self.diagnostics.append(Diagnostic(code, message, span, hint, tuple(reversed(trace))))

    # ---- networks --------------------------------------------------------------

    def network_defaults(self, net: A.Network) -> dict:
        file_level = self._defaults(self.spec.defaults, {})
        return self._defaults([s for s in net.body if isinstance(s, A.Defaults)], file_level)

    def block_body(self, block: str, env: dict[str, Value], defaults: dict) -> list[TreeNode]:
        """One block's body expanded on its own (codegen: `env` holds symbolic parameters)."""
        flow = Flow(env.get(INPUT)) if self.track else None
        ctx = Ctx(env, Scope("", indexed=False), (), defaults, (block,), flow)
        return self._stmts(self.blocks[block].body, ctx)

    def network(self, net: A.Network, input_override: tuple[int, ...] | None = None
                ) -> ExpandedNetwork:
        defaults = self._defaults(self.spec.defaults, {})
        inputs = [s for s in net.body if isinstance(s, A.InputDecl)]
        if len(inputs) != 1:
            span = inputs[1].span if inputs else net.span
            self.error(Code.INPUT, f"network `{net.name}` needs exactly one `input` "
                       f"(found {len(inputs)})", span,
                       "start the network with e.g. `input 3x224x224`")
            dims, input_span = (1,), net.span
        else:
            dims, input_span = self._input_dims(inputs[0], input_override), inputs[0].span
        overflow = check_size(net, self.blocks, self.limits.max_layers, self.limits.max_repeat,
                              self.limits.max_call_depth)
        if overflow is not None:  # an expansion bomb: refused before anything is expanded
            for span, cycle in overflow.recursions:
                self._recursion(cycle, span, ())
            self._too_large(overflow.span, overflow.trace, overflow.what)
            raise ArchcError(self.diagnostics)
        flow = Flow(dims or None) if self.track else None
        ctx = Ctx({}, Scope("", indexed=False), (), defaults, (), flow)
        try:
            body = self._stmts(net.body, ctx)
        except LayerLimit:
            raise ArchcError(self.diagnostics) from None
        return ExpandedNetwork(net.name, dims, input_span, body, self.layer_count, net.span,
                               self.diagnostics)

    def _too_large(self, span: Span, trace: Trace, what: str = "layers") -> None:
        self.error(Code.TOO_LARGE, f"the network expands to more than "
                   f"{self.limits.max_layers:,} {what}", span,
                   "an expansion bomb? check nested repeats, or raise the limit", trace)

    def _recursion(self, cycle: str, span: Span, trace: Trace) -> None:
        block = cycle.rsplit(" -> ", 1)[-1]
        self.error(Code.RECURSION, f"block `{block}` calls itself ({cycle})", span,
                   "blocks cannot recurse; use `* N` to repeat", trace)

    def _input_dims(self, decl: A.InputDecl, override: tuple[int, ...] | None) -> tuple[int, ...]:
        """The input's shape; () when it is invalid (reported; nothing is analysed after it)."""
        dims = tuple(override or decl.dims)
        shown = "x".join(map(str, dims))
        if not 1 <= len(dims) <= 3 or any(d < 1 for d in dims):
            hint = (f"shapes are per sample, without the batch: write `input "
                    f"{'x'.join(map(str, dims[1:]))}`" if len(dims) == 4 and all(dims[1:])
                    else "write e.g. `input 3x224x224` (image), `1x100` or `1960`")
            self.error(Code.BAD_DIMS, f"input {shown} must have 1 to 3 positive dimensions "
                       "(F, CxL or CxHxW)", decl.span, hint)
            return ()
        if any(d > self.limits.max_dim for d in dims):
            self.error(Code.VALUE_TOO_LARGE, f"input dimension above the cap of "
                       f"{self.limits.max_dim}", decl.span)
            return ()
        if math.prod(dims) > self.limits.max_elements:
            self.error(Code.VALUE_TOO_LARGE, f"input {shown} has {math.prod(dims):,} elements, "
                       f"above the cap of {self.limits.max_elements:,} per sample", decl.span)
            return ()
        if len(dims) == 3 and dims[2] in (1, 3, 4) and min(dims[:2]) >= 16:
            self.error(Code.CHANNELS_LAST, f"input {shown} reads as {dims[0]} channels of "
                       f"{dims[1]}x{dims[2]}; is it height x width x channels?", decl.span,
                       f"archc reads CxHxW (PyTorch's order): write `input "
                       f"{dims[2]}x{dims[0]}x{dims[1]}`")
        return dims

    def _defaults(self, decls: list[A.Defaults], inherited: dict) -> dict:
        merged = {kind: dict(values) for kind, values in inherited.items()}
        for decl in decls:
            for call in decl.calls:
                kind = self._kind(call.name, call.name_span, ())
                if kind is None:
                    continue
                for arg in call.args:
                    if arg.name is None:
                        self.error(Code.BAD_ARGUMENT, "defaults must name their arguments",
                                   arg.span, f"write e.g. `{call.name}(bias=false)`")
                    elif arg.name not in kind.Args.model_fields:
                        self._unknown_arg(kind.name, arg, list(kind.Args.model_fields), ())
                    else:
                        merged.setdefault(kind.name, {})[arg.name] = (self.eval(arg.value, {}),
                                                                      arg.span)
        return merged

    # ---- statements and items ----------------------------------------------------------

    def _stmts(self, stmts: list, ctx: Ctx) -> list[TreeNode]:
        local_defaults = [s for s in stmts if isinstance(s, A.Defaults)]
        if local_defaults:
            ctx = replace(ctx, defaults=self._defaults(local_defaults, ctx.defaults))
        return self._items([s for s in stmts if not isinstance(s, (A.Defaults, A.InputDecl))], ctx)

    def _items(self, items: list, ctx: Ctx) -> list[TreeNode]:
        ctx.scope.labels.update(_labels(items))
        nodes: list[TreeNode] = []
        for item in items:
            nodes.extend(self._item(item, ctx))
        return nodes

    def _item(self, item, ctx: Ctx) -> list[TreeNode]:
        label = getattr(item, "label", None) or (item.name if isinstance(item, A.Side) else None)
        if label is not None and "{" in label and not isinstance(item, A.Repeat):
            label = self.render_label(label, item.span, ctx)
            if label is None:
                return []
            item = item.model_copy(update={"label": label})
        if label is not None and "{" not in label and not self._label_ok(label, item, ctx):
            if isinstance(item, A.Side):  # a side output never changes the main path
                return []
            # the label is reported; the layer itself still counts, as if unlabelled, so the
            # shapes after it are checked and no knock-on error follows
            item = item.model_copy(update={"label": None})
        if self._depth >= MAX_DEPTH:
            self.error(Code.TOO_DEEP, f"the expanded network nests deeper than {MAX_DEPTH} "
                       "levels (containers and block calls)", item.span,
                       "flatten the structure: fewer nested blocks and containers", ctx.trace)
            return [self._poisoned(item, ctx)]
        self._depth += 1
        try:
            start = ctx.flow.shape if ctx.flow is not None else None
            nodes = self._unlabeled(item, ctx)
            if label is not None and getattr(item, "label", None) == label and "{" not in label:
                self._define(label, item, nodes, start, ctx)
            return nodes
        finally:
            self._depth -= 1

    def render_label(self, template: str, span: Span, ctx: Ctx) -> str | None:
        """A quoted label's text with `{param}` (a block parameter's value) and `{#}` (the
        module's position in its container) filled in: `"block{k}-{#}"` -> `block1-0`."""
        failed = []

        def fill(match: re.Match) -> str:
            key = match.group(1).strip()
            if key == "#":
                return str(ctx.scope.slots)
            value = ctx.env.get(key)
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                return str(value)
            failed.append(key)
            return ""

        text = _PLACEHOLDER.sub(fill, template)
        if failed:
            self.error(Code.UNDEFINED_NAME, f"`{{{failed[0]}}}` in a label is neither `{{#}}` nor "
                       "an integer block parameter", span,
                       _parameter_hint(failed[0], ctx.env, _block_of(ctx)), ctx.trace)
            return None
        if not text or "." in text or "{" in text or "}" in text:
            self.error(Code.BAD_NAME, f"label \"{template}\" gives `{text}`, which cannot name "
                       "a module", span, "braces hold `#` or a parameter; no `.`", ctx.trace)
            return None
        if text in ctx.scope.used:
            self.error(Code.DUPLICATE, f"`{text}` names two things in the same scope", span,
                       "put `{#}` or a parameter in the label", ctx.trace)
            return None
        return text

    def _label_ok(self, label: str, item, ctx: Ctx) -> bool:
        if label in ctx.scope.used:
            self.error(Code.DUPLICATE, f"`{label}` names two things in the same scope",
                       item.span, "labels (and side names) must be unique within a network or "
                       "block body", ctx.trace)
            return False
        return True

    def _unlabeled(self, item, ctx: Ctx) -> list[TreeNode]:
        if isinstance(item, A.Call):
            kind = REGISTRY.get(item.name)
            slot = kind is None or kind.module_slot
            return [self._call(item, ctx, ctx.scope.child(item.name, item.label, slot))]
        if isinstance(item, A.Repeat):
            return self._repeat(item, ctx)
        if isinstance(item, A.Residual):
            return self._residual(item, ctx)
        if isinstance(item, A.ConcatBlock):
            return [self._concat(item, ctx)]
        if isinstance(item, A.Group):
            return self._group(item, ctx)
        if isinstance(item, A.If):
            return self._if(item, ctx)
        if isinstance(item, A.Shortcut):
            return self._shortcut_item(item, ctx)
        if isinstance(item, A.Again):
            return self._again(item, ctx)
        if isinstance(item, A.Side):
            name = ctx.scope.child("side", item.name)
            inner = ctx.with_scope(Scope(name, indexed=False), ctx.branch())
            return [SideNode(name, self._items(item.items, inner), item.span)]
        if isinstance(item, A.Save):
            if item.name == "_":
                self.error(Code.BAD_NAME, "`_` cannot name a saved tensor", item.span,
                           "`_` stands for the current tensor in `concat(x, _)`", ctx.trace)
                return []
            if ctx.flow is not None:
                ctx.flow.saved[item.name] = ctx.flow.shape
            return [SaveNode(item.name, item.span)]
        raise TypeError(f"unexpected item {item!r}")

    # ---- expressions ---------------------------------------------------------------

    def eval(self, expr, env: dict[str, Value], trace: Trace = (),
             block: str | None = None) -> Value:
        """`expr`'s value; `block`: the block whose body holds it (None: a network's)."""
        try:
            return evaluate(expr, env)
        except EvalError as exc:
            hint = exc.hint
            if exc.code is Code.UNDEFINED_NAME:
                hint = _parameter_hint(exc.message.split("`")[1], env, block)
            self.error(exc.code, exc.message, exc.span, hint, trace)
            return _ERROR



def uses_input(node) -> bool:
    """Whether any expression under `node` (an AST node or list) reads `in.c` and friends."""
    if isinstance(node, A.InputDim):
        return True
    if isinstance(node, list):
        return any(uses_input(n) for n in node)
    if isinstance(node, (A.Node, A.SpecFile)):
        return any(uses_input(getattr(node, f)) for f in type(node).model_fields
                   if f not in ("span", "name_span", "shortcut_span"))
    return False
