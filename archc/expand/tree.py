"""The expanded tree: concrete layers with hierarchical names, and the caps on its size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from archc.errors import Diagnostic, Span
from archc.layers import Args, LayerKind

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
    # `again`: this is the module at path `shared` applied once more (same weights); `name`
    # then tells the uses apart (`conv1#2`)
    shared: str | None = None


@dataclass
class SeqNode:
    """A container: `indexed` children are numbered like nn.Sequential, else named."""

    name: str
    children: list[TreeNode]
    indexed: bool
    span: Span
    shared: str | None = None  # `again`: a container applied once more (see LayerNode)


@dataclass
class BlockNode:
    name: str
    block: str
    args: dict[str, Value]
    body: list[TreeNode]
    span: Span
    shared: str | None = None  # `again`: a block instance applied once more (see LayerNode)


@dataclass
class ResidualNode:
    name: str
    body: list[TreeNode]
    shortcut: SeqNode | None
    add: LayerNode
    span: Span
    shortcut_at: int | None = None  # written before body[shortcut_at]: registered there


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



class LayerLimit(Exception):
    """Raised past Limits.max_layers: expansion stops at once."""


_ERROR = object()  # an expression that failed to evaluate (already reported)
