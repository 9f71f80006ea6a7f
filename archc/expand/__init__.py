"""Expand: AST -> a tree of concrete layers with hierarchical names.

Resolves block calls (with recursion and depth checks), `* N` repetition, argument
binding and spec-level defaults, and enforces the size limits. Errors are collected,
so independent mistakes in one file are all reported.
The stage is split by construct: tree.py (the expanded tree), naming.py (scopes and paths),
core.py (networks, defaults, item dispatch), calls.py (layers, blocks, `* N`), containers.py
(groups, residuals, concat), diagnose.py (wording of errors); expressions are archc.expr.
"""

from __future__ import annotations

from archc import ast as A
from archc._perf import stage
from archc.errors import ArchcError, Code, Diagnostic, Span
from archc.expand.calls import CURRENT, KEYWORDS, merge_inputs
from archc.expand.core import Expander
from archc.expand.naming import Ctx, Scope
from archc.expand.tree import (
    BlockNode,
    ConcatNode,
    ExpandedNetwork,
    LayerLimit,
    LayerNode,
    Limits,
    ResidualNode,
    SaveNode,
    SeqNode,
    SideNode,
    Trace,
    TreeNode,
    Value,
)
from archc.expr import _SYMBOLS, EvalError, evaluate

__all__ = [
    "CURRENT",
    "KEYWORDS",
    "_SYMBOLS",
    "BlockNode",
    "ConcatNode",
    "Ctx",
    "EvalError",
    "ExpandedNetwork",
    "Expander",
    "LayerLimit",
    "LayerNode",
    "Limits",
    "ResidualNode",
    "SaveNode",
    "Scope",
    "SeqNode",
    "SideNode",
    "Trace",
    "TreeNode",
    "Value",
    "evaluate",
    "expand",
    "find_network",
    "merge_inputs",
]


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
