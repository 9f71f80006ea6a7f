"""Expand: AST -> a tree of concrete layers with hierarchical names.

Resolves block calls (with recursion and depth checks), `* N` repetition, argument
binding and spec-level defaults, and enforces the size limits. Errors are collected,
so independent mistakes in one file are all reported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Union

from archc import ast as A
from archc._perf import stage
from archc.errors import ArchcError, Code, Diagnostic, Span
from archc.layers import REGISTRY, Args, LayerKind
from archc.layers.aliases import (
    ARGUMENT_ALIASES,
    KIND_ALIASES,
    VALUE_ALIASES,
    alias_of,
    suggest,
)
from archc.layers.base import ValidationError, argument_problems
from archc.sizes import MAX_DEPTH, check_size, frozen_key

Value = Any  # int | float | bool | str | tuple, or a codegen `Sym`
Trace = tuple[tuple[str, Span], ...]


@dataclass(frozen=True)
class Limits:
    """Caps that turn hostile specs into errors instead of hangs."""

    max_layers: int = 250_000  # 100k-layer specs fit; the largest allowed expands in seconds
    max_call_depth: int = 64
    max_repeat: int = 100_000
    max_dim: int = 1 << 24
    # Elements of one sample's tensor, and parameters of one layer: PyTorch sizes storage in
    # int64 bytes, so 2^24-sized axes multiplied together must stay far below 2^63.
    max_elements: int = 1 << 44


# ---- the expanded tree ---------------------------------------------------------------

@dataclass
class LayerNode:
    """One layer. `args` is None when the call was invalid (already reported): the analyzer
    then skips it and everything that depends on it."""

    name: str
    kind: LayerKind | None
    args: Args | None
    span: Span
    trace: Trace
    refs: tuple[tuple[str, Span], ...] = ()  # saved tensors a merge reads


@dataclass
class SeqNode:
    """A container: `indexed` children are numbered like nn.Sequential, else named."""

    name: str
    children: list[TreeNode]
    indexed: bool
    span: Span


@dataclass
class BlockNode:
    name: str
    block: str
    args: dict[str, Value]
    body: list[TreeNode]
    span: Span


@dataclass
class ResidualNode:
    name: str
    body: list[TreeNode]
    shortcut: SeqNode | None
    add: LayerNode
    span: Span


@dataclass
class ConcatNode:
    name: str
    branches: list[SeqNode]
    cat: LayerNode
    span: Span


@dataclass
class SideNode:
    name: str
    body: list[TreeNode]
    span: Span


@dataclass
class SaveNode:
    name: str
    span: Span


TreeNode = Union[LayerNode, SeqNode, BlockNode, ResidualNode, ConcatNode, SideNode, SaveNode]


@dataclass
class ExpandedNetwork:
    name: str
    input: tuple[int, ...]
    input_span: Span
    body: list[TreeNode]
    layer_count: int
    span: Span
    diagnostics: list[Diagnostic] = field(default_factory=list)


# ---- naming scopes ----------------------------------------------------------------

@dataclass
class Scope:
    prefix: str
    indexed: bool
    used: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    next_index: int = 0
    labels: set[str] = field(default_factory=set)  # reserved: automatic names skip them

    def child(self, base: str, label: str | None, slot: bool = True) -> str:
        """A unique child name: the next index in a numbered scope (when the child occupies a
        module slot), else the label, else `base` plus a counter."""
        if self.indexed and slot:
            local = str(self.next_index)
            self.next_index += 1
        elif label is not None:
            local = label
        else:
            n = self.counters.get(base, 0)
            glue = "_" if base[-1:].isdigit() else ""  # relu6_1, not relu61 ("ReLU 61")
            while True:
                n += 1
                local = f"{base}{glue}{n}"
                if local not in self.used and local not in self.labels:
                    break
            self.counters[base] = n
        self.used.add(local)
        return f"{self.prefix}.{local}" if self.prefix else local


@dataclass
class Ctx:
    env: dict[str, Value]
    scope: Scope
    trace: Trace
    defaults: dict[str, dict[str, tuple[Value, Span]]]
    stack: tuple[str, ...] = ()


class LayerLimit(Exception):
    pass


class Expander:
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
        ctx = Ctx(env, Scope("", indexed=False), (), defaults, (block,))
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
        ctx = Ctx({}, Scope("", indexed=False), (), defaults)
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
            ctx = Ctx(ctx.env, ctx.scope, ctx.trace, self._defaults(local_defaults, ctx.defaults),
                      ctx.stack)
        return self._items([s for s in stmts if not isinstance(s, (A.Defaults, A.InputDecl))], ctx)

    def _items(self, items: list, ctx: Ctx) -> list[TreeNode]:
        ctx.scope.labels.update(_labels(items))
        nodes: list[TreeNode] = []
        for item in items:
            nodes.extend(self._item(item, ctx))
        return nodes

    def _item(self, item, ctx: Ctx) -> list[TreeNode]:
        label = getattr(item, "label", None) or (item.name if isinstance(item, A.Side) else None)
        if label is not None and not self._label_ok(label, item, ctx):
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
            return self._unlabeled(item, ctx)
        finally:
            self._depth -= 1

    def _label_ok(self, label: str, item, ctx: Ctx) -> bool:
        if ctx.scope.indexed:
            self.error(Code.DUPLICATE, f"label `{label}` inside a numbered container: its "
                       "children are named 0, 1, 2, ...", item.span,
                       "remove the label, or make the container a block", ctx.trace)
            return False
        if label in ctx.scope.used:
            self.error(Code.DUPLICATE, f"`{label}` names two things in the same scope",
                       item.span, "labels (and side names) must be unique within a network or "
                       "block body", ctx.trace)
            return False
        return True

    def _unlabeled(self, item, ctx: Ctx) -> list[TreeNode]:
        if isinstance(item, A.Call):
            kind = REGISTRY.get(item.name)
            slot = not (kind is not None and kind.takes_tensors)
            return [self._call(item, ctx, ctx.scope.child(item.name, item.label, slot))]
        if isinstance(item, A.Repeat):
            return self._repeat(item, ctx)
        if isinstance(item, A.Residual):
            return [self._residual(item, ctx)]
        if isinstance(item, A.ConcatBlock):
            return [self._concat(item, ctx)]
        if isinstance(item, A.Group):
            if item.label is None:
                return self._items(item.items, ctx)
            return [self._seq(item.items, ctx, ctx.scope.child("group", item.label), item.span,
                              indexed=True)]
        if isinstance(item, A.Side):
            name = ctx.scope.child("side", item.name)
            seq = self._seq(item.items, ctx, name, item.span, indexed=False, collapse=True)
            return [SideNode(name, seq.children, item.span)]
        if isinstance(item, A.Save):
            return [SaveNode(item.name, item.span)]
        raise TypeError(f"unexpected item {item!r}")

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

    def _repeat(self, item: A.Repeat, ctx: Ctx) -> list[TreeNode]:
        count = self.eval(item.count, ctx.env, ctx.trace, _block_of(ctx))
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            if count is not _ERROR:
                self.error(Code.BAD_ARGUMENT, f"repeat count must be a positive integer, got "
                           f"{_show(count)}", item.count.span, trace=ctx.trace)
            return [self._poisoned(item, ctx)]
        if count > self.limits.max_repeat:
            self.error(Code.VALUE_TOO_LARGE, f"repeat count {count} exceeds the cap of "
                       f"{self.limits.max_repeat}", item.count.span, trace=ctx.trace)
            return [self._poisoned(item, ctx)]
        if item.label is not None:
            seq = SeqNode(ctx.scope.child("seq", item.label), [], True, item.span)
            seq.children = self._repeated(item.call, ctx, count, Scope(seq.name, indexed=True))
            return [seq]
        return self._repeated(item.call, ctx, count, ctx.scope)

    def _poisoned(self, item, ctx: Ctx) -> LayerNode:
        """A rejected item (already reported) stands in the chain as an invalid layer: what
        follows it is not analysed, rather than analysed as if it were absent."""
        return LayerNode(ctx.scope.child("invalid", None), None, None, item.span, ctx.trace)

    def _repeated(self, call: A.Call, ctx: Ctx, count: int, scope: Scope) -> list[TreeNode]:
        """`count` expansions of `call`. A call that fails fails alike every time, so it is
        expanded (and reported) once: a failing call under `* 100000` costs one node."""
        nodes: list[TreeNode] = []
        for _ in range(count):
            node = self._call(call, ctx, scope.child(call.name, None))
            nodes.append(node)
            if isinstance(node, LayerNode) and node.args is None:
                break
        return nodes

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

    # ---- calls ----------------------------------------------------------------------

    def _call(self, call: A.Call, ctx: Ctx, name: str) -> TreeNode:
        """The expanded call; an invalid one becomes a poisoned layer that blocks its users."""
        if call.name in self.blocks:
            node = self._block_call(call, ctx, name)
            return node if node is not None else LayerNode(name, None, None, call.span, ctx.trace)
        kind = self._kind(call.name, call.name_span, ctx.trace)
        if kind is None:
            return LayerNode(name, None, None, call.span, ctx.trace)
        self.layer_count += 1
        if self.layer_count > self.limits.max_layers:  # `check_size` refuses this earlier
            self._too_large(call.span, ctx.trace)
            raise LayerLimit
        if kind.takes_tensors:
            return self._merge(call, kind, ctx, name)
        args = self._layer_args(call, kind, ctx)
        return LayerNode(name, kind, args, call.span, ctx.trace)

    def _merge(self, call: A.Call, kind: LayerKind, ctx: Ctx, name: str) -> LayerNode:
        refs = []
        for arg in call.args:
            if arg.name is not None or not isinstance(arg.value, A.NameRef):
                self.error(Code.BAD_ARGUMENT, f"`{kind.name}` takes names of saved tensors",
                           arg.span, f"save a tensor with `-> x`, then write `{kind.name}(x)`",
                           ctx.trace)
            else:
                refs.append((arg.value.name, arg.span))
        if not refs:
            self.error(Code.MISSING_ARGUMENT, f"`{kind.name}` needs at least one saved tensor",
                       call.span, f"e.g. `-> x` earlier, then `{kind.name}(x)`", ctx.trace)
        return LayerNode(name, kind, kind.Args(), call.span, ctx.trace, tuple(refs))

    def _kind(self, name: str, span: Span, trace: Trace) -> LayerKind | None:
        kind = REGISTRY.get(name)
        if kind is None or kind.internal:
            kind = None
            kinds = sorted(k for k, v in REGISTRY.items() if not v.internal)
            close = suggest(name, [*kinds, *self.blocks, *KEYWORDS], KIND_ALIASES)
            if close:
                hint = _did_you_mean(close, name, alias_of(name, KIND_ALIASES))
            else:
                hint = "layer kinds: " + ", ".join(kinds) + (
                    "; blocks: " + ", ".join(sorted(self.blocks)) if self.blocks else "")
            self.error(Code.UNKNOWN_LAYER, f"unknown layer or block `{name}`", span, hint, trace)
        return kind

    def _bind(self, call: A.Call, names: list[str], positional: tuple[str, ...], ctx: Ctx,
              owner: str) -> dict[str, tuple[Value, A.Arg]] | None:
        bound: dict[str, tuple[Value, A.Arg]] = {}
        ok = True
        for index, arg in enumerate(call.args):
            if arg.name is None:
                if index >= len(positional) or any(a.name for a in call.args[:index]):
                    self.error(Code.BAD_ARGUMENT, f"too many positional arguments for `{owner}`"
                               if index >= len(positional) else
                               "positional argument after a named one", arg.span,
                               f"`{owner}` takes {', '.join(positional) or 'no'} positionally; "
                               "name the others", ctx.trace)
                    ok = False
                    continue
                key = positional[index]
            elif arg.name not in names:
                meant = self._unknown_arg(owner, arg, names, ctx.trace)
                if meant is None or meant in bound or any(a.name == meant for a in call.args):
                    ok = False
                    continue
                key = meant  # reported; bound as meant so the layers after it are checked
            else:
                key = arg.name
            if key in bound:
                self.error(Code.DUPLICATE, f"argument `{key}` given twice", arg.span, None,
                           ctx.trace)
                ok = False
                continue
            value = self.eval(arg.value, ctx.env, ctx.trace, _block_of(ctx))
            if value is _ERROR:
                ok = False
                continue
            bound[key] = (value, arg)
        return bound if ok else None

    def _unknown_arg(self, owner: str, arg: A.Arg, names: list[str], trace: Trace
                     ) -> str | None:
        """Report an unknown argument; returns the one it surely means (a different case, or
        PyTorch's name for it), if any."""
        close = suggest(arg.name or "", names, ARGUMENT_ALIASES, n=1, cutoff=0.5)
        hint = _did_you_mean(close, arg.name or "", alias_of(arg.name or "", ARGUMENT_ALIASES)
                             ) if close else (
            f"`{owner}` takes: {', '.join(names)}" if names else f"`{owner}` takes no arguments")
        self.error(Code.UNKNOWN_ARGUMENT, f"`{owner}` has no argument `{arg.name}`", arg.span, hint,
                   trace)
        word = arg.name or ""
        alias = alias_of(word, ARGUMENT_ALIASES)
        if close and (_squash(close[0]) == _squash(word) or (alias and alias[1] == close[0])):
            return close[0]
        return None

    def _layer_args(self, call: A.Call, kind: LayerKind, ctx: Ctx) -> Args | None:
        fields = list(kind.Args.model_fields)
        bound = self._bind(call, fields, kind.positional, ctx, kind.name)
        if bound is None:
            return None
        values = {k: v for k, (v, _) in ctx.defaults.get(kind.name, {}).items()}
        values.update({k: v for k, (v, _) in bound.items()})
        return self.validate_args(kind, values, call, bound, ctx)

    def validate_args(self, kind: LayerKind, values: dict, call: A.Call, bound: dict,
                      ctx: Ctx) -> Args | None:
        if self.symbolic:
            return kind.Args.model_construct(**values)
        cache_key = (kind.name, frozen_key(values))
        if cache_key in self._valid_args:  # a repeated layer: validated once, and shared
            return self._valid_args[cache_key]
        try:
            args = kind.Args.model_validate(values, strict=True)
        except ValidationError as exc:
            for key, (problem, wanted) in argument_problems(exc).items():
                span = bound[key][1].span if key in bound else _default_span(ctx, kind, key,
                                                                              call.span)
                got = values.get(key)
                if problem == "missing":
                    self.error(Code.MISSING_ARGUMENT, f"`{kind.name}` needs `{key}`", call.span,
                               f"e.g. {kind.doc}" if kind.doc else None, ctx.trace)
                elif key in bound and _undefined_name(bound[key][1].value, ctx.env):
                    symbols = [*_SYMBOLS, *re.findall(r"`(\w+)`", wanted)]
                    self.error(Code.UNDEFINED_NAME, f"`{got}` is not defined here, nor a value "
                               f"`{kind.name}` takes for `{key}` (it takes {wanted})", span,
                               _parameter_hint(got, ctx.env, _block_of(ctx), symbols), ctx.trace)
                else:
                    self.error(Code.BAD_ARGUMENT, f"`{kind.name}` argument `{key}`="
                               f"{_show(got)} must be {wanted}", span, None, ctx.trace)
            return None
        self._valid_args[cache_key] = args
        return args

    # ---- blocks ------------------------------------------------------------------------

    def _block_call(self, call: A.Call, ctx: Ctx, name: str) -> BlockNode | None:
        block = self.blocks[call.name]
        if call.name in ctx.stack:
            cycle = " -> ".join((*ctx.stack[ctx.stack.index(call.name):], call.name))
            self._recursion(cycle, call.span, ctx.trace)
            return None
        if len(ctx.stack) >= self.limits.max_call_depth:
            self.error(Code.TOO_DEEP, f"block calls nested deeper than "
                       f"{self.limits.max_call_depth}", call.span, None, ctx.trace)
            return None
        env = self._block_env(call, block, ctx)
        if env is None:
            return None
        trace = (*ctx.trace, (f"in block `{block.name}` called", call.span))
        inner = Ctx(env, Scope(name, indexed=False), trace, ctx.defaults, (*ctx.stack, block.name))
        return BlockNode(name, block.name, env, self._stmts(block.body, inner), call.span)

    def _block_env(self, call: A.Call, block: A.BlockDef, ctx: Ctx) -> dict[str, Value] | None:
        names = [p.name for p in block.params]
        bound = self._bind(call, names, tuple(names), ctx, block.name)
        if bound is None:
            return None
        env: dict[str, Value] = {}
        for param in block.params:
            if param.name in bound:
                env[param.name] = bound[param.name][0]
            elif param.default is not None:
                env[param.name] = self.eval(param.default, env, ctx.trace, block.name)
            else:
                self.error(Code.MISSING_ARGUMENT, f"block `{block.name}` needs `{param.name}`",
                           call.span, f"signature: {block.name}({_signature(block)})", ctx.trace)
                return None
        return env

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


_ERROR = object()
MAX_DIAGNOSTICS = 1000  # per network: further errors are dropped
MAX_MESSAGE = 400  # characters of one diagnostic message


def _shortcut_name(scope: Scope) -> str:
    """`shortcut` (torchvision's `downsample` slot), or shortcut2, shortcut3, ... when several
    unlabeled residuals share a scope."""
    if "shortcut" in scope.used or "shortcut" in scope.labels:
        return scope.child("shortcut", None)
    scope.counters.setdefault("shortcut", 1)
    return scope.child("shortcut", "shortcut")


def _default_span(ctx: Ctx, kind: LayerKind, key: str, otherwise: Span) -> Span:
    """Where a spec-level default for `kind.key` was written (a bad default is reported
    there, once, rather than at every layer it applies to)."""
    return ctx.defaults.get(kind.name, {}).get(key, (None, otherwise))[1]


def _did_you_mean(close: list[str], word: str, alias: tuple[str, str] | None) -> str:
    """"did you mean `a` or `b`?", saying so when `word` is PyTorch's name for the first."""
    text = "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
    if alias is not None and alias[1] == close[0] and _squash(word) != _squash(close[0]):
        text += f" (PyTorch's `{alias[0]}` is `{alias[1]}` in archc)"
    return text


def _squash(name: str) -> str:
    return name.lower().replace("_", "")


def _block_of(ctx: Ctx) -> str | None:
    return ctx.stack[-1] if ctx.stack else None

KEYWORDS = ("residual", "shortcut", "concat", "branch", "side", "input", "defaults", "block",
            "network")


class EvalError(Exception):
    def __init__(self, message: str, span: Span, hint: str | None = None,
                 code: Code = Code.BAD_ARGUMENT) -> None:
        super().__init__(message)
        self.message, self.span, self.hint, self.code = message, span, hint, code


_SYMBOLS = {"true": True, "false": False}


def evaluate(expr, env: dict[str, Value]) -> Value:
    """Evaluate an argument expression. Names are block parameters, `true`/`false`, or
    otherwise symbols (`same`, `valid`, `nearest`, ...) validated by the layer's arguments."""
    if isinstance(expr, (A.IntLit, A.FloatLit)):
        return expr.value
    if isinstance(expr, A.NameRef):
        if expr.name in env:
            return env[expr.name]
        return _SYMBOLS.get(expr.name, expr.name)
    if isinstance(expr, A.TupleLit):
        return tuple(evaluate(item, env) for item in expr.items)
    if isinstance(expr, A.Neg):
        value = evaluate(expr.operand, env)
        _require_number(value, expr)
        return -value
    left, right = evaluate(expr.left, env), evaluate(expr.right, env)
    _require_number(left, expr.left)
    _require_number(right, expr.right)
    if expr.op in ("/", "//") and isinstance(right, (int, float)) and right == 0:
        raise EvalError("division by zero", expr.span)
    if expr.op == "+":
        return left + right
    if expr.op == "-":
        return left - right
    if expr.op == "*":
        if _too_big(left) or _too_big(right):
            raise EvalError("number too large", expr.span)
        return left * right
    if expr.op == "//":
        return left // right
    if isinstance(left, int) and isinstance(right, int) and left % right == 0:
        return left // right
    return left / right


def _undefined_name(expr, env: dict[str, Value]) -> bool:
    return isinstance(expr, A.NameRef) and expr.name not in env and expr.name not in _SYMBOLS


def _parameter_hint(name: str, env: dict[str, Value], block: str | None,
                    symbols: list[str] | tuple[str, ...] = ()) -> str:
    """A hint for a name nothing defines: a close parameter or symbol, else what is in scope.
    `block` is the block the name is used in (None: a network)."""
    close = suggest(name, list(env), n=1, cutoff=0.5)
    if close:
        return f"did you mean the block parameter `{close[0]}`?"
    close = suggest(name, list(dict.fromkeys(symbols)), VALUE_ALIASES, n=1, cutoff=0.5)
    if close:
        return f"did you mean `{close[0]}`?"
    if env:
        return "block parameters here: " + ", ".join(env)
    if block is not None:
        return (f"block `{block}` has no parameters; declare one in its parentheses, e.g. "
                f"`block {block}(c) {{ ... }}`, or write a number")
    return "a network has no parameters: write a number (or define a block with parameters)"


def _too_big(value) -> bool:
    return isinstance(value, (int, float)) and abs(value) > 1e30


def _require_number(value: Value, expr) -> None:
    if isinstance(expr, A.NameRef) and isinstance(value, str):  # a name nothing defines
        raise EvalError(f"`{expr.name}` is not defined here", expr.span,
                        code=Code.UNDEFINED_NAME)
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or hasattr(value, "sym")):
        raise EvalError(f"arithmetic needs numbers, got {_show(value)}", expr.span,
                        "only block parameters and numbers can be combined with + - * / //")


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return str(value)


def _signature(block: A.BlockDef) -> str:
    return ", ".join(p.name if p.default is None else f"{p.name}=..." for p in block.params)


def _labels(items: list) -> set[str]:
    """Labels that land in the scope of `items`: direct ones and those of inlined parts."""
    found: set[str] = set()
    for item in items:
        label = getattr(item, "label", None)
        if label is not None:
            found.add(label)
        elif isinstance(item, A.Group):
            found |= _labels(item.items)
        elif isinstance(item, A.Residual):
            found |= _labels(item.body)
        if isinstance(item, A.Side):
            found.add(item.name)
    return found


def find_network(spec: A.SpecFile, name: str | None) -> A.Network:
    if not spec.networks:
        raise ArchcError([Diagnostic(Code.NO_NETWORK, "the file defines no network",
                                     Span(spec.file, 1, 1, 1, 2),
                                     "add `network Name { input 3x224x224 ... }`")])
    if name is None:  # the documented default: the last network, as a file reads top-down
        return spec.networks[-1]
    for net in spec.networks:
        if net.name == name:
            return net
    folded = [net for net in spec.networks if net.name.lower() == name.lower()]
    if len(folded) == 1:  # --network resnet50 finds ResNet50
        return folded[0]
    names = ", ".join(f"`{n.name}`" for n in spec.networks)
    first = spec.networks[0].span
    raise ArchcError([Diagnostic(Code.NO_NETWORK, f"no network named `{name}`; this file defines "
                                 f"{names}", Span(first.file, first.line, first.col, first.line,
                                                  first.col + len("network")),
                                 "pass one of these names to --network")])


def expand(spec: A.SpecFile, network: str | None = None, limits: Limits | None = None,
           input_override: tuple[int, ...] | None = None) -> ExpandedNetwork:
    with stage():
        return Expander(spec, limits).network(find_network(spec, network), input_override)
