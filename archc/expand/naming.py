"""Naming: the scopes that give every module its path, and the context an item expands in."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from archc import ast as A
from archc.errors import Span
from archc.expand.tree import Trace, Value


@dataclass
class Scope:
    prefix: str
    indexed: bool
    used: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    next_index: int = 0
    labels: set[str] = field(default_factory=set)  # reserved: automatic names skip them
    slots: int = 0  # children that hold a module so far: `{#}` in a quoted label
    # label -> (its expanded nodes, input shape, output shape, uses): what `again LABEL` applies
    defined: dict[str, list] = field(default_factory=dict)

    def child(self, base: str, label: str | None, slot: bool = True) -> str:
        """A unique child name: the next index in a numbered scope (when the child occupies a
        module slot), else the label, else `base` plus a counter."""
        if slot:
            self.slots += 1
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
    flow: Flow | None = None  # the current tensor's shape, tracked only when `in.` is used
    residual: Skip | None = None  # the residual whose body is being expanded (its shortcut)

    def with_scope(self, scope: Scope, flow: Flow | None = None) -> Ctx:
        """The same context in another naming scope (and, given one, another data flow); a
        container's items are no longer directly in a residual's body."""
        return replace(self, scope=scope, flow=flow if flow is not None else self.flow,
                       residual=None)

    def branch(self) -> Flow | None:
        """A data flow that starts from the current tensor (a branch, shortcut or side)."""
        return None if self.flow is None else Flow(self.flow.shape, self.flow.saved)


@dataclass
class Skip:
    """A residual being expanded: where its skip path starts, and its shortcut once met."""

    start: Flow | None
    node: object | None = None  # the shortcut's SeqNode


@dataclass
class Flow:
    """The shape of the tensor flowing at this point of the expansion (None: unknown, e.g.
    after a layer the analyzer will reject) and the shapes of saved tensors; what `in.c`
    reads at a block call. The analyzer checks everything again on the finished graph."""

    shape: tuple | None
    saved: dict[str, tuple | None] = field(default_factory=dict)



def _shortcut_name(scope: Scope, label: str | None) -> str:
    """The label written (`shortcut downsample { }`), else `shortcut`, or shortcut2,
    shortcut3, ... when several unlabeled residuals share a scope."""
    if label is not None:
        return scope.child("shortcut", label)
    if "shortcut" in scope.used or "shortcut" in scope.labels:
        return scope.child("shortcut", None)
    scope.counters.setdefault("shortcut", 1)
    return scope.child("shortcut", "shortcut")



def _labels(items: list) -> set[str]:
    """Labels that land in the scope of `items`: direct ones and those of parts that add no
    module level (an unlabelled group, residual, concat or `if`, and a branch with labels)."""
    found: set[str] = set()
    for item in items:
        label = getattr(item, "label", None)
        if label is not None:
            found.add(label)
        elif isinstance(item, A.Group):
            found |= _labels(item.items)
        elif isinstance(item, A.Residual):
            found |= _labels(item.body)
            if item.shortcut_label is not None:
                found.add(item.shortcut_label)
        elif isinstance(item, A.ConcatBlock):
            for branch in item.branches:
                found |= _labels(branch.items)
        elif isinstance(item, A.If):
            found |= _labels(item.then) | _labels(item.otherwise or [])
        if isinstance(item, A.Side):
            found.add(item.name)
    return found
