"""Labels only where archc's automatic names differ from the module's names.

The importer labels every module that holds state with its attribute name. Many of those
labels say what archc would name the item anyway (`conv1: conv(...)` as the first conv of its
scope, `denselayer2: denselayer` as the second call of block `denselayer`). This pass drops
them, and keeps a label only where dropping it changes a module's name: archc's own expander
names the items with and without the labels, and any name that moved gets its labels back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archc import ast as A
from archc.errors import ArchcError
from archc.expand import BlockNode, Expander, LayerNode, SeqNode, find_network
from archc.parse import parse_text

MAX_ROUNDS = 6  # restoring labels converges in one or two rounds on real networks
_LABEL = re.compile(r'\s*(?:[A-Za-z_][A-Za-z0-9_]*|"[^"\n]*")\s*:\s*')


@dataclass(frozen=True)
class Candidate:
    line: int
    col: int
    label: str


def drop_redundant_labels(text: str) -> str:
    """`text` with every label that equals archc's automatic name removed."""
    spec = _parse(text)
    before = _names(spec) if spec is not None else None
    if before is None:
        return text
    candidates = _candidates(spec)
    owners: dict[tuple[int, int], set[str]] = {}
    for name, where in before:
        owners.setdefault(where, set()).add(_parent(name))
    dropped = set(candidates)
    for _ in range(MAX_ROUNDS):
        if not dropped:
            return text
        attempt = _remove(text, dropped)
        spec = _parse(attempt)
        after = _names(spec) if spec is not None else None
        if after is not None and [n for n, _ in after] == [n for n, _ in before]:
            return _repeats(attempt, spec, [n for n, _ in before])
        if after is None or len(after) != len(before):
            return text
        moved = {_parent(b) for (b, _), (a, _) in zip(before, after) if a != b}
        dropped = {c for c in dropped if not owners.get((c.line, c.col), set()) & moved}
    return text


def _parse(text: str) -> A.SpecFile | None:
    try:
        return parse_text(text)
    except ArchcError:
        return None


def _names(spec: A.SpecFile) -> list[tuple[str, tuple[int, int]]] | None:
    """Every module's name, where its item is written, in expansion order; None on errors."""
    from archc.codegen.pytorch import _walk

    try:
        expander = Expander(spec)
        net = expander.network(find_network(spec, None))
    except ArchcError:
        return None
    if any(d.is_error for d in net.diagnostics):
        return None
    return [(node.name, (node.span.line, node.span.col)) for node in _walk(net.body)
            if isinstance(node, (LayerNode, BlockNode, SeqNode))]


def _parent(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def _candidates(spec: A.SpecFile) -> set[Candidate]:
    """Labels of calls that spell the automatic name of their kind or block (`conv1`,
    `relu6_2`), not named by an `again`; in a container whose labels would all go, the first
    stays (without labels it would be numbered)."""
    again = {item.name for item in _items(spec) if isinstance(item, A.Again)}
    found: set[Candidate] = set()
    for item in _items(spec):
        if isinstance(item, A.Call) and item.label and item.label not in again and _automatic(
                item.label, item.name):
            found.add(Candidate(item.span.line, item.span.col, item.label))
    for lists in _containers(spec):
        labelled = [i for i in _flat(lists) if getattr(i, "label", None)]
        mine = [c for c in found if any((i.span.line, i.span.col) == (c.line, c.col)
                                        for i in labelled)]
        if labelled and len(mine) == len(labelled):
            first = labelled[0]
            found.discard(Candidate(first.span.line, first.span.col, first.label))
    return found


def _automatic(label: str, base: str) -> bool:
    glue = "_" if base[-1:].isdigit() else ""
    return re.fullmatch(re.escape(base + glue) + r"[1-9][0-9]*", label) is not None


def _items(spec: A.SpecFile):
    """Every item of the file, nested ones included."""
    stack = [*(s for n in spec.networks for s in n.body), *(s for b in spec.blocks for s in b.body)]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(_children(item))


def _children(item) -> list:
    if isinstance(item, (A.Group, A.Side, A.Shortcut)):
        return list(item.items)
    if isinstance(item, A.Residual):
        return [*item.body, *(item.shortcut or [])]
    if isinstance(item, A.ConcatBlock):
        return [i for b in item.branches for i in b.items]
    if isinstance(item, A.If):
        return [*item.then, *(item.otherwise or [])]
    if isinstance(item, A.Repeat):
        return [item.call]
    return []


def _containers(spec: A.SpecFile):
    """The item lists that may be module levels of their own (groups, branches, shortcuts)."""
    for item in _items(spec):
        if isinstance(item, (A.Group, A.Shortcut)):
            yield item.items
        elif isinstance(item, A.ConcatBlock):
            yield from (b.items for b in item.branches)
        elif isinstance(item, A.Residual) and item.shortcut:
            yield item.shortcut


def _flat(items: list) -> list:
    """`items` and what lands in their scope (unlabelled groups, residual bodies, ...)."""
    out = []
    for item in items:
        out.append(item)
        if getattr(item, "label", None) is None and not isinstance(item, (A.Shortcut, A.Side)):
            out += _flat([c for c in _children(item) if not isinstance(item, A.Repeat)])
    return out


_CALL_LINE = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_]*)(\(.*\))?")


def _repeats(text: str, spec: A.SpecFile, names: list[str]) -> str:
    """Equal consecutive calls, unlabelled now, as `call * N` (each keeps its automatic
    name), where that leaves every module's name as it was."""
    from archc.layers import REGISTRY

    blocks = {b.name for b in spec.blocks}
    out: list[list] = []  # [line, count]
    for line in text.split("\n"):
        match = _CALL_LINE.fullmatch(line)
        kind = REGISTRY.get(match.group(2)) if match else None
        call = match and (match.group(2) in blocks or (kind is not None and kind.module_slot))
        if call and out and out[-1][0] == line:
            out[-1][1] += 1
            continue
        out.append([line, 1])
    shorter = "\n".join(line if n == 1 else f"{line} * {n}" for line, n in out)
    if shorter == text:
        return text
    parsed = _parse(shorter)
    after = _names(parsed) if parsed is not None else None
    return shorter if after is not None and [n for n, _ in after] == names else text


def _remove(text: str, dropped: set[Candidate]) -> str:
    lines = text.split("\n")
    for c in sorted(dropped, key=lambda c: (c.line, c.col), reverse=True):
        line = lines[c.line - 1]
        match = _LABEL.match(line, c.col - 1)
        if match is not None:
            lines[c.line - 1] = line[:c.col - 1] + line[match.end():]
    return "\n".join(lines)
