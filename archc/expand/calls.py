"""Calls: layers, merges, block calls with argument binding and defaults, and `* N`."""

from __future__ import annotations

import re

from archc import ast as A
from archc.errors import Code, Span
from archc.expand.diagnose import (
    _block_of,
    _default_span,
    _did_you_mean,
    _parameter_hint,
    _signature,
    _squash,
    _undefined_name,
)
from archc.expand.naming import Ctx, Flow, Scope
from archc.expand.tree import (
    _ERROR,
    BlockNode,
    LayerLimit,
    LayerNode,
    SeqNode,
    Trace,
    TreeNode,
    Value,
)
from archc.expr import _SYMBOLS, INPUT, show_value
from archc.layers import REGISTRY, Args, LayerKind
from archc.layers.aliases import ARGUMENT_ALIASES, KIND_ALIASES, alias_of, suggest
from archc.layers.base import ValidationError, argument_problems
from archc.sizes import frozen_key

CURRENT = "_"  # in a merge's arguments: the current tensor, where it stands in the order


def merge_inputs(current, refs: tuple, saved: dict) -> list:
    """A merge's inputs in order: the current tensor first, unless `_` places it."""
    named = [current if ref == CURRENT else saved.get(ref) for ref, _ in refs]
    return named if any(ref == CURRENT for ref, _ in refs) else [current, *named]


def _out_shape(kind: LayerKind, args: Args, inputs: list) -> tuple | None:
    try:
        kind.check(args, inputs)
        return tuple(kind.out_shape(args, inputs))
    except Exception:  # any rejection (symbolic ones too) is for the analyzer to report
        return None


KEYWORDS = ("residual", "shortcut", "concat", "branch", "side", "again", "input", "defaults",
            "block", "network")


class CallsMixin:
    """Part of `Expander` (archc.expand.core): what a call expands to."""

    def _repeat(self, item: A.Repeat, ctx: Ctx) -> list[TreeNode]:
        count = self.eval(item.count, ctx.env, ctx.trace, _block_of(ctx))
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            if count is not _ERROR:
                self.error(Code.BAD_ARGUMENT, f"repeat count must be a positive integer, got "
                           f"{show_value(count)}", item.count.span, trace=ctx.trace)
            return [self._poisoned(item, ctx)]
        if count > self.limits.max_repeat:
            self.error(Code.VALUE_TOO_LARGE, f"repeat count {count} exceeds the cap of "
                       f"{self.limits.max_repeat}", item.count.span, trace=ctx.trace)
            return [self._poisoned(item, ctx)]
        if item.label is not None and "{" in item.label:  # "block{k}-{#}": call * n
            return self._templated(item, ctx, count)
        if item.label is not None:
            seq = SeqNode(ctx.scope.child("seq", item.label), [], True, item.span)
            seq.children = self._repeated(item.call, ctx, count, Scope(seq.name, indexed=True))
            return [seq]
        return self._repeated(item.call, ctx, count, ctx.scope)

    def _templated(self, item: A.Repeat, ctx: Ctx, count: int) -> list[TreeNode]:
        """`count` calls named by a label template, in the current scope (no container)."""
        nodes: list[TreeNode] = []
        for _ in range(count):
            label = self.render_label(item.label or "", item.span, ctx)
            if label is None:
                break
            nodes.append(self._call(item.call, ctx, ctx.scope.child(item.call.name, label)))
        return nodes

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

    # ---- calls ----------------------------------------------------------------------

    def _call(self, call: A.Call, ctx: Ctx, name: str) -> TreeNode:
        """The expanded call; an invalid one becomes a poisoned layer that blocks its users."""
        if call.name in self.blocks:
            node = self._block_call(call, ctx, name)
            if node is None and ctx.flow is not None:
                ctx.flow.shape = None
            return node if node is not None else LayerNode(name, None, None, call.span, ctx.trace)
        kind = self._kind(call.name, call.name_span, ctx.trace)
        if kind is None:
            if ctx.flow is not None:
                ctx.flow.shape = None
            return LayerNode(name, None, None, call.span, ctx.trace)
        self.layer_count += 1
        if self.layer_count > self.limits.max_layers:  # `check_size` refuses this earlier
            self._too_large(call.span, ctx.trace)
            raise LayerLimit
        node = (self._merge(call, kind, ctx, name) if kind.takes_tensors else
                LayerNode(name, kind, self._layer_args(call, kind, ctx), call.span, ctx.trace))
        if ctx.flow is not None:
            self._advance(ctx, node, merge_inputs(ctx.flow.shape, node.refs, ctx.flow.saved))
        return node

    def _advance(self, ctx: Ctx, layer: LayerNode, inputs: list) -> None:
        """The shape after `layer` (tracked for `in.c`); unknown where the analyzer will
        report an error."""
        if ctx.flow is None:
            return
        shape = None
        if layer.args is not None and layer.kind is not None and None not in inputs:
            key = (layer.kind.name, layer.args, tuple(inputs))
            try:
                shape = self._shapes[key]  # a deep network repeats a few layers on few shapes
            except (KeyError, TypeError):
                shape = _out_shape(layer.kind, layer.args, inputs)
                if not self.symbolic:
                    self._shapes[key] = shape
        ctx.flow.shape = shape

    def _merge(self, call: A.Call, kind: LayerKind, ctx: Ctx, name: str) -> LayerNode:
        refs = []
        for arg in call.args:
            if arg.name is not None or not isinstance(arg.value, A.NameRef):
                self.error(Code.BAD_ARGUMENT, f"`{kind.name}` takes names of saved tensors",
                           arg.span, f"save a tensor with `-> x`, then write `{kind.name}(x)`",
                           ctx.trace)
            else:
                refs.append((arg.value.name, arg.span))
        if all(ref == CURRENT for ref, _ in refs):
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
                               f"{show_value(got)} must be {wanted}", span, None, ctx.trace)
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
        flow = None if ctx.flow is None else Flow(ctx.flow.shape)  # its own tensor names
        inner = Ctx(env, Scope(name, indexed=False), trace, ctx.defaults, (*ctx.stack, block.name),
                    flow)
        node = BlockNode(name, block.name, env, self._stmts(block.body, inner), call.span)
        if ctx.flow is not None and flow is not None:
            ctx.flow.shape = flow.shape
        return node

    def _block_env(self, call: A.Call, block: A.BlockDef, ctx: Ctx) -> dict[str, Value] | None:
        names = [p.name for p in block.params]
        bound = self._bind(call, names, tuple(names), ctx, block.name)
        if bound is None:
            return None
        env: dict[str, Value] = {}
        if ctx.flow is not None and ctx.flow.shape is not None:
            env[INPUT] = ctx.flow.shape  # `in.c`: parameter defaults may read it too
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
