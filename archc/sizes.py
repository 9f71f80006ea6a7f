"""How big a network's expansion is, computed without expanding it.

`* N` multiplies and a block's size is computed once per distinct argument list, so an expansion
bomb (blocks repeated inside repeated blocks) is measured in microseconds and refused (E301)
before any memory is spent on it. Two things are counted, each against the layer limit: layers
(every call of a layer kind; residual sums and concat joins are not counted, as in the
expander) and block instances (a block of no layers still costs a node). A call the expander
will reject (unknown name, bad arguments, recursion) counts zero; recursions met on the way are
kept, so that a bomb built from a recursive block is reported as the recursion it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from archc import ast as A
from archc.errors import Span
from archc.expr import EvalError, evaluate
from archc.layers import REGISTRY

Trace = tuple[tuple[str, Span], ...]

# Containers and block calls nested in the expanded network (the file's own brackets are capped
# at archc.parse.MAX_NESTING; block calls can stack such nesting further).
MAX_DEPTH = 400


class Size(NamedTuple):
    layers: int
    blocks: int

    def plus(self, other: Size) -> Size:
        return Size(self.layers + other.layers, self.blocks + other.blocks)

    def times(self, count: int) -> Size:
        return Size(self.layers * count, self.blocks * count)


NOTHING = Size(0, 0)


@dataclass(frozen=True)
class Overflow:
    """What exceeds the limit ("layers" or "block calls"), the call that adds the (limit+1)-th
    one, the block calls leading to it, and the recursions found while counting."""

    what: str
    span: Span
    trace: Trace
    recursions: list[tuple[Span, str]] = field(default_factory=list)  # (call, cycle)


class SizeCounter:
    def __init__(self, blocks: dict[str, A.BlockDef], max_repeat: int, max_depth: int) -> None:
        self.blocks = blocks
        self.max_repeat = max_repeat
        self.max_depth = max_depth
        self.memo: dict[tuple, Size] = {}
        self.depth = 0
        self.recursions: dict[Span, str] = {}
        # label -> the largest item it names so far: what `again LABEL` may add (an upper bound)
        self.labelled: dict[str, Size] = {}

    # ---- counting ----------------------------------------------------------------------

    def items(self, items: list, env: dict[str, Any], stack: tuple[str, ...]) -> Size:
        total = NOTHING
        for item in items:
            total = total.plus(self.item(item, env, stack))
        return total

    def item(self, item: Any, env: dict[str, Any], stack: tuple[str, ...]) -> Size:
        if self.depth >= MAX_DEPTH:  # the expander reports it (E303) and expands nothing deeper
            return NOTHING
        self.depth += 1
        try:
            if isinstance(item, A.Again):
                return self.labelled.get(item.name, NOTHING)
            if isinstance(item, A.Call):
                size = self.call(item, env, stack)
            elif isinstance(item, A.Repeat):
                size = self.call(item.call, env, stack).times(self.repeats(item, env))
            else:
                size = self.items(_children(item), env, stack)
            label = getattr(item, "label", None)
            if label is not None:
                self.labelled[label] = max(size, self.labelled.get(label, NOTHING))
            return size
        finally:
            self.depth -= 1

    def call(self, call: A.Call, env: dict[str, Any], stack: tuple[str, ...]) -> Size:
        block = self.blocks.get(call.name)
        if block is None:
            kind = REGISTRY.get(call.name)
            return Size(1, 0) if kind is not None and not kind.internal else NOTHING
        inner = self.bind(call, block, env, stack)
        if inner is None:
            return NOTHING
        key = (block.name, frozen_key(inner))
        if key not in self.memo:
            self.memo[key] = NOTHING  # a cycle reached through other blocks counts zero
            self.memo[key] = Size(0, 1).plus(self.items(block.body, inner, (*stack, block.name)))
        return self.memo[key]

    def repeats(self, item: A.Repeat, env: dict[str, Any]) -> int:
        count = _value(item.count, env)
        ok = isinstance(count, int) and not isinstance(count, bool)
        return count if ok and 1 <= count <= self.max_repeat else 0

    def bind(self, call: A.Call, block: A.BlockDef, env: dict[str, Any],
             stack: tuple[str, ...]) -> dict[str, Any] | None:
        """The block's parameters for this call, or None where the expander reports an error
        (recursion, depth, binding): such a call expands to nothing."""
        if block.name in stack:
            cycle = " -> ".join((*stack[stack.index(block.name):], block.name))
            self.recursions.setdefault(call.span, cycle)
            return None
        if len(stack) >= self.max_depth:
            return None
        names = [p.name for p in block.params]
        bound: dict[str, Any] = {}
        for index, arg in enumerate(call.args):
            key = arg.name if arg.name is not None else (
                names[index] if index < len(names) else None)
            if key is None or key not in names or key in bound:
                return None
            bound[key] = _value(arg.value, env)
        inner: dict[str, Any] = {}
        for param in block.params:
            if param.name in bound:
                inner[param.name] = bound[param.name]
            elif param.default is not None:
                inner[param.name] = _value(param.default, inner)
            else:
                return None
        return None if any(v is _ERROR for v in inner.values()) else inner

    # ---- locating the overflow -----------------------------------------------------------

    def locate(self, items: list, env: dict[str, Any], stack: tuple[str, ...], trace: Trace,
               left: int, measure: int) -> tuple[Span, Trace] | None:
        """The call adding number `left + 1` of `items`' layers (`measure` 0) or block
        instances (1), descending into blocks."""
        for item in items:
            size = self.item(item, env, stack)[measure]
            if size <= left:
                left -= size
                continue
            if isinstance(item, A.Repeat):
                each = self.call(item.call, env, stack)[measure]
                return self._locate_call(item.call, env, stack, trace, left % each, measure)
            if isinstance(item, A.Call):
                return self._locate_call(item, env, stack, trace, left, measure)
            if isinstance(item, A.Again):
                return item.span, trace
            return self.locate(_children(item), env, stack, trace, left, measure)
        return None

    def _locate_call(self, call: A.Call, env: dict[str, Any], stack: tuple[str, ...],
                     trace: Trace, left: int, measure: int) -> tuple[Span, Trace] | None:
        block = self.blocks.get(call.name)
        if block is None or (measure == 1 and left == 0):
            return call.span, trace
        inner = self.bind(call, block, env, stack) or {}
        inner_trace = (*trace, (f"in block `{block.name}` called", call.span))
        return self.locate(block.body, inner, (*stack, block.name), inner_trace,
                           left - measure, measure)


def check_size(net: A.Network, blocks: dict[str, A.BlockDef], max_layers: int, max_repeat: int,
               max_depth: int) -> Overflow | None:
    """None when `net` expands to at most `max_layers` layers and as many block instances,
    else where it overflows."""
    counter = SizeCounter(blocks, max_repeat, max_depth)
    total = counter.items(net.body, {}, ())
    for measure, what in enumerate(("layers", "block calls")):
        if total[measure] > max_layers:
            found = counter.locate(net.body, {}, (), (), max_layers, measure)
            span, trace = found if found is not None else (net.span, ())
            return Overflow(what, span, trace, list(counter.recursions.items()))
    return None


def _children(item: Any) -> list:
    """The items nested in a container item, in expansion order."""
    if isinstance(item, A.Residual):
        return [*item.body, *(item.shortcut or [])]
    if isinstance(item, A.ConcatBlock):
        return [inner for branch in item.branches for inner in branch.items]
    if isinstance(item, (A.Group, A.Side, A.Branch, A.Shortcut)):
        return item.items
    if isinstance(item, A.If):  # both arms: an upper bound on what the chosen one expands to
        return [*item.then, *(item.otherwise or [])]
    return []


_ERROR = object()


def _value(expr: Any, env: dict[str, Any]) -> Any:
    try:
        return evaluate(expr, env)
    except EvalError:
        return _ERROR


def frozen_key(value: Any) -> Any:
    """A hashable key that tells apart values Python calls equal (1, 1.0 and True)."""
    if isinstance(value, dict):
        return tuple(sorted((k, frozen_key(v)) for k, v in value.items()))
    if isinstance(value, tuple):
        return (tuple, tuple(frozen_key(v) for v in value))
    return (type(value), value)
